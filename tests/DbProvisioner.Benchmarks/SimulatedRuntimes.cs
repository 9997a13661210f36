using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// Hosts without an engine: the grain benchmarks only place and reserve, so nothing here ever runs
/// a container. Disk work succeeds at once; anything that would touch a container says so loudly.
/// </summary>
internal sealed class SimulatedRuntimes(HostTopology topology) : IHostRuntimeFactory
{
    public IHostRuntime For(HostConnection host) => new SimulatedRuntime(host, topology);

    private sealed class SimulatedRuntime(HostConnection host, HostTopology topology) : IHostRuntime
    {
        public HostConnection Host { get; } = host;

        public Task<HostTopology> DiscoverTopologyAsync(CancellationToken cancellationToken) => Task.FromResult(topology);
        public Task<HostSwapInfo> DiscoverSwapAsync(CancellationToken cancellationToken) => Task.FromResult(new HostSwapInfo(0, true));

        public Task FormatDiskAsync(string device, bool seed, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<DiskCheck> CheckDiskAsync(string device, CancellationToken cancellationToken) => Task.FromResult(new DiskCheck(device, "xfs", false));

        public Task<InstanceHandle> StartInstanceAsync(InstanceContainerSpec spec, CancellationToken cancellationToken) => Refuse<InstanceHandle>();

        public Task WaitUntilReadyAsync(string instanceId, int port, InstanceCredentials credentials, TimeSpan deadline, CancellationToken cancellationToken) => Refuse<bool>();

        public Task RemoveInstanceAsync(string instanceId, CancellationToken cancellationToken) => Refuse<bool>();

        public Task<InstanceStatus?> InspectInstanceAsync(string instanceId, CancellationToken cancellationToken) => Task.FromResult<InstanceStatus?>(null);

        public Task<OwnedResources> ListOwnedAsync(CancellationToken cancellationToken) => Task.FromResult(new OwnedResources([], []));

        public Task RemoveOwnedContainerAsync(string containerName, CancellationToken cancellationToken) => Refuse<bool>();

        public Task RemoveOwnedVolumeAsync(string volumeName, CancellationToken cancellationToken) => Refuse<bool>();

        private Task<T> Refuse<T>() => Task.FromException<T>(new NotSupportedException($"host {Host.HostId} is simulated: the benchmark only places and reserves"));
    }
}
