using System.Collections.Concurrent;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;

namespace DbProvisioner.Testing.Simulation;

/// <summary>
/// One <see cref="SimulatedHostRuntime"/> per host id, shared by the silo (as its
/// <see cref="IHostRuntimeFactory"/>) and the test (to configure hosts and read what happened).
/// </summary>
public sealed class SimulatedHostRuntimeFactory : IHostRuntimeFactory
{
    private readonly ConcurrentDictionary<string, SimulatedHostRuntime> _hosts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HostTopology> _topologies = new(StringComparer.Ordinal);

    /// <summary>The topology DiscoverTopologyAsync reports for hosts without an entry of their own.</summary>
    public HostTopology? DefaultTopology { get; set; }

    public IHostRuntime For(HostConnection host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var runtime = _hosts.GetOrAdd(host.HostId, _ => Create(host));
        runtime.Rebind(host);
        return runtime;
    }

    /// <summary>The simulated host, created when the grains have not reached it yet (to configure it first).</summary>
    public SimulatedHostRuntime Host(string hostId) =>
        _hosts.GetOrAdd(hostId, id => Create(new HostConnection(id, new Uri($"tcp://{id}.sim:2375"), "127.0.0.1", HostConnection.DefaultImage)));

    public void SetTopology(string hostId, HostTopology topology) => _topologies[hostId] = topology;

    /// <summary>Violations of the given hosts, each prefixed with its host id.</summary>
    public IReadOnlyList<string> ViolationsOf(IEnumerable<string> hostIds) =>
        [.. hostIds.SelectMany(id => _hosts.TryGetValue(id, out var h) ? h.Violations.Select(v => $"{id}: {v}") : [])];

    private SimulatedHostRuntime Create(HostConnection host) =>
        new(host, () => _topologies.TryGetValue(host.HostId, out var t) ? t : DefaultTopology);
}
