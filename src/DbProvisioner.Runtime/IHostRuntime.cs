using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Runtime;

/// <summary>Hands out the runtime bound to one host; the same host gets the same runtime (and circuit).</summary>
public interface IHostRuntimeFactory
{
    IHostRuntime For(HostConnection host);

    /// <summary>Why the driver will not reach an engine at this endpoint (e.g. plain text to another machine), or null; registration refuses it.</summary>
    string? EndpointRefusal(Uri engineEndpoint) => null;
}

/// <summary>
/// Everything the appliance does on one host. Every operation is idempotent by deterministic names
/// (dbprov-&lt;instance&gt;, dbprov-data-&lt;instance&gt;), so a retry or a resume after a crash is safe.
/// Failures are <see cref="HostRuntimeException"/>s whose message a DBA understands.
/// </summary>
public interface IHostRuntime
{
    HostConnection Host { get; }

    /// <summary>NUMA nodes, physical cores, logical CPUs and memory, read from the host's sysfs.</summary>
    Task<HostTopology> DiscoverTopologyAsync(CancellationToken cancellationToken);

    /// <summary>The host's swap (SwapTotal of its /proc/meminfo) and whether its engine can hold a container to a swap limit.</summary>
    Task<HostSwapInfo> DiscoverSwapAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes a fresh xfs file system on the whole device (erasing it: this is also how a released
    /// disk is wiped), gives its root directory to mysql and, when <paramref name="seed"/> is set,
    /// initialises an empty MySQL data directory on it.
    /// </summary>
    Task FormatDiskAsync(string device, bool seed, CancellationToken cancellationToken);

    /// <summary>What is on the device: its file system and whether it holds a data directory.</summary>
    Task<DiskCheck> CheckDiskAsync(string device, CancellationToken cancellationToken);

    /// <summary>
    /// Creates the data volume on the device and starts the instance's container. Returns as soon as
    /// the container runs; <see cref="WaitUntilReadyAsync"/> waits for MySQL. On failure nothing
    /// of the instance is left behind (no container, no volume, no mount).
    /// </summary>
    Task<InstanceHandle> StartInstanceAsync(InstanceContainerSpec spec, CancellationToken cancellationToken);

    /// <summary>
    /// Waits until MySQL answers SELECT 1 with the instance's credentials, or fails with the reason
    /// read from the container's log (e.g. the port is in use) or when the deadline passes.
    /// </summary>
    Task WaitUntilReadyAsync(string instanceId, int port, InstanceCredentials credentials, TimeSpan deadline, CancellationToken cancellationToken);

    /// <summary>Stops and removes the instance's container and volume; the data stays on the disk. Idempotent.</summary>
    Task RemoveInstanceAsync(string instanceId, CancellationToken cancellationToken);

    /// <summary>The instance's container state, or null when it has none.</summary>
    Task<InstanceStatus?> InspectInstanceAsync(string instanceId, CancellationToken cancellationToken);

    /// <summary>Every container and volume the appliance owns on this host (by label), for reconciliation.</summary>
    Task<OwnedResources> ListOwnedAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Removes one container the appliance owns on this host (a stale helper, an orphan), with its
    /// volume when it is an instance's; refuses anything without this host's ownership labels. Idempotent.
    /// </summary>
    Task RemoveOwnedContainerAsync(string containerName, CancellationToken cancellationToken);

    /// <summary>Removes one volume the appliance owns on this host (a helper's left by a crash); a volume in use stays. Idempotent.</summary>
    Task RemoveOwnedVolumeAsync(string volumeName, CancellationToken cancellationToken);

    /// <summary>
    /// The heartbeat's ping: one cheap question to the engine. Returns what the engine says of its machine, or null
    /// when this runtime cannot tell (then no topology check is made); throws when the engine does not answer.
    /// </summary>
    async Task<EngineFacts?> PingAsync(CancellationToken cancellationToken)
    {
        await ListOwnedAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>Whether the driver's circuit for this host is open (its calls kept failing and are refused for a while).</summary>
    bool CircuitOpen => false;

    /// <summary>Which of these disk devices are no longer on the host (gone, or a loop device without its backing file).</summary>
    Task<IReadOnlyList<string>> FindMissingDevicesAsync(IReadOnlyList<string> devices, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>Whether the engine holds the image its instances and helpers run (<see cref="HostConnection.Image"/>); a runtime that needs none always does.</summary>
    Task<bool> HasImageAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    /// <summary>
    /// Makes the engine hold the instance image: at once when it does, else pulled from the appliance's registry and tagged
    /// with the name instances run, reporting the bytes of its layers as the engine tells them. Idempotent; a pull cut off
    /// midway resumes from the layers the engine kept.
    /// </summary>
    Task EnsureImageAsync(IProgress<ImagePull> progress, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The CPUs the instance's container may run on as its host reports them (<c>Cpus_allowed_list</c>), or null when the
    /// runtime applies the decided cpuset itself and there is nothing to read back (Docker).
    /// </summary>
    Task<CpuSet?> ReadCpusetAsync(string instanceId, CancellationToken cancellationToken) => Task.FromResult<CpuSet?>(null);

    /// <summary>Every instance container the appliance owns here with its cpusets, memory and swap limits and restart policy, and every data volume with its device.</summary>
    Task<EngineInspection> InspectEngineAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException($"host {Host.HostId}: this runtime cannot be inspected");
}

/// <summary>What an engine reports of its machine in one call (the heartbeat's ping).</summary>
public sealed record EngineFacts(int LogicalCpus, long MemoryMiB);
