namespace DbProvisioner.Runtime;

/// <summary>
/// Hands each host to the driver of its engine endpoint's scheme (k8s:// to the Kubernetes driver), every other
/// scheme to the default driver (Docker), so that one pool can mix runtimes behind the one port.
/// </summary>
public sealed class RuntimeRouter(IHostRuntimeFactory byDefault, IReadOnlyDictionary<string, IHostRuntimeFactory> byScheme) : IHostRuntimeFactory
{
    private IHostRuntimeFactory DriverOf(Uri endpoint) =>
        byScheme.TryGetValue(endpoint.Scheme, out var driver) ? driver : byDefault;

    public IHostRuntime For(HostConnection host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return DriverOf(host.EngineEndpoint).For(host);
    }

    public string? EndpointRefusal(Uri engineEndpoint)
    {
        ArgumentNullException.ThrowIfNull(engineEndpoint);
        return DriverOf(engineEndpoint).EndpointRefusal(engineEndpoint);
    }
}
