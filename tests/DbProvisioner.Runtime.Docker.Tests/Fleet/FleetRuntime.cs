using DbProvisioner.Testing;

namespace DbProvisioner.Runtime.Docker.Tests.Fleet;

/// <summary>
/// This suite on the fleet's nodes (<see cref="FleetNodes"/>): the driver over mutual TLS with the appliance's client
/// certificate. It owns the nodes' disk-01 (and node-1's disk-02), ports 3401-3402 in the nodes' namespaces and
/// instance ids "rtt-fleet-…"; for a timing comparison with this machine's engine, its disk-04 and port 3405 there.
/// </summary>
internal static class FleetRuntime
{
    public const string InstancePrefix = "rtt-fleet-";

    public static readonly DockerTlsOptions ClientTls = new() { CaFile = FleetNodes.ClientCaFile, CertFile = FleetNodes.ClientCertFile, KeyFile = FleetNodes.ClientKeyFile };

    public static HostConnection Host(int node) => FleetNodes.Host($"fleet-node-{node}", node);

    public static DockerHostRuntimeFactory NewFactory() => new(new DockerRuntimeOptions { Tls = ClientTls });

    /// <summary>Removes instances a killed earlier run left on the nodes.</summary>
    public static async Task RemoveLeftoversAsync(DockerHostRuntimeFactory factory, params int[] nodes)
    {
        foreach (var node in nodes)
        {
            var runtime = factory.For(Host(node));
            var owned = await runtime.ListOwnedAsync(Docker.Engine.Timeout());
            foreach (var id in owned.Containers.Select(c => c.InstanceId).OfType<string>().Where(id => id.StartsWith(InstancePrefix, StringComparison.Ordinal)).Distinct())
                await runtime.RemoveInstanceAsync(id, Docker.Engine.Timeout());
        }
    }
}
