using DbProvisioner.Contracts;
using DbProvisioner.Runtime;

namespace DbProvisioner.Grains;

/// <summary>The one way a grain reaches a host's runtime: the host's registered location, through the runtime factory.</summary>
internal static class HostRuntimes
{
    /// <param name="image">The MySQL image of the host's instances and helpers (<c>Provisioning:Image</c>).</param>
    public static IHostRuntime For(this IHostRuntimeFactory runtimes, HostLocation location, string image) =>
        runtimes.For(new HostConnection(location.HostId, new Uri(location.EngineEndpoint), location.MySqlAddress, image));
}
