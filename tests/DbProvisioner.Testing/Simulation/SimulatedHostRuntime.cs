using System.Globalization;
using DbProvisioner.Domain;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;

namespace DbProvisioner.Testing.Simulation;

/// <summary>
/// An in-memory <see cref="IHostRuntime"/> for grain logic tests: disks, containers and volumes of
/// one simulated host, with injectable delays and failures. It behaves like the Docker driver where
/// grains can observe it (idempotent by instance id, formatting a disk in use is refused, a taken
/// port fails the start) and it records every double use of a device, port or CPU — which the
/// real engine would not refuse — in <see cref="Violations"/>, which tests assert to be empty.
/// </summary>
public sealed class SimulatedHostRuntime : IHostRuntime
{
    private readonly object _gate = new();
    private readonly Dictionary<string, SimulatedDisk> _disks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedContainer> _containers = new(StringComparer.Ordinal);
    private readonly List<string> _violations = [];
    private readonly Dictionary<string, string> _cpusetsByHand = new(StringComparer.Ordinal);
    private readonly List<InstanceContainerSpec> _starts = [];
    private readonly List<FormatCall> _formats = [];
    private readonly List<string> _removals = [];
    private readonly List<string> _refusedRemovals = [];
    private readonly Dictionary<string, Exception> _startFailures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Exception> _readyFailures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Exception> _formatFailures = new(StringComparer.Ordinal);
    private readonly Func<HostTopology?> _topology;
    private bool _engineDown;
    private bool _holdsImage = true;
    private int _imagePulls;
    private int _nextContainer;

    internal SimulatedHostRuntime(HostConnection host, Func<HostTopology?> topology)
    {
        Host = host;
        _topology = topology;
    }

    public HostConnection Host { get; private set; }

    public string HostId => Host.HostId;

    /// <summary>What DiscoverSwapAsync reports: the host's swap and whether its engine can limit a container's swap.</summary>
    public HostSwapInfo Swap { get; set; } = new(4096, true);

    /// <summary>Delay of every FormatDiskAsync call.</summary>
    public TimeSpan FormatDelay { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Delay of every StartInstanceAsync call.</summary>
    public TimeSpan StartDelay { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Delay of every WaitUntilReadyAsync call.</summary>
    public TimeSpan ReadyDelay { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Double uses and calls a correct control plane never makes; empty when the grains are right.</summary>
    public IReadOnlyList<string> Violations { get { lock (_gate) return [.. _violations]; } }

    /// <summary>Every StartInstanceAsync call the grains made, in order (including failed ones).</summary>
    public IReadOnlyList<InstanceContainerSpec> Starts { get { lock (_gate) return [.. _starts]; } }

    /// <summary>Every FormatDiskAsync call, in order (including failed ones).</summary>
    public IReadOnlyList<FormatCall> Formats { get { lock (_gate) return [.. _formats]; } }

    /// <summary>Every RemoveInstanceAsync call, by instance id.</summary>
    public IReadOnlyList<string> Removals { get { lock (_gate) return [.. _removals]; } }

    /// <summary>RemoveInstanceAsync calls refused because the engine was down, by instance id.</summary>
    public IReadOnlyList<string> RefusedRemovals { get { lock (_gate) return [.. _refusedRemovals]; } }

    /// <summary>The running containers by instance id.</summary>
    public IReadOnlyDictionary<string, InstanceContainerSpec> Running
    {
        get { lock (_gate) return _containers.ToDictionary(static c => c.Key, static c => c.Value.Spec, StringComparer.Ordinal); }
    }

    public DiskCheck Disk(string device)
    {
        lock (_gate) return _disks.TryGetValue(device, out var d) ? new DiskCheck(device, d.FileSystem, d.Seeded) : new DiskCheck(device, null, false);
    }

    public int FormatCount(string device)
    {
        lock (_gate) return _formats.Count(f => f.Device == device && f.Succeeded);
    }

    /// <summary>The next StartInstanceAsync of this instance fails with the exception (once).</summary>
    public void FailStartOf(string instanceId, Exception? error = null)
    {
        lock (_gate) _startFailures[instanceId] = error ?? InstanceException.Failed(HostId, instanceId, "simulated failure: mysqld exited with code 1");
    }

    /// <summary>The next WaitUntilReadyAsync of this instance fails with the exception (once).</summary>
    public void FailReadyOf(string instanceId, Exception? error = null)
    {
        lock (_gate) _readyFailures[instanceId] = error ?? InstanceException.NotReady(HostId, instanceId, TimeSpan.FromSeconds(1), "simulated: access denied");
    }

    /// <summary>The next FormatDiskAsync of this device fails with the exception (once).</summary>
    public void FailFormatOf(string device, Exception? error = null)
    {
        lock (_gate) _formatFailures[device] = error ?? new EngineRejectedException(HostId, $"format {device}", "simulated: mkfs.xfs failed");
    }

    /// <summary>While down, every call throws <see cref="EngineUnavailableException"/>.</summary>
    public bool EngineDown
    {
        get { lock (_gate) return _engineDown; }
        set { lock (_gate) _engineDown = value; }
    }

    /// <summary>Whether the engine holds the instance image (HasImageAsync); a pull that ends well sets it.</summary>
    public bool HoldsImage
    {
        get { lock (_gate) return _holdsImage; }
        set { lock (_gate) _holdsImage = value; }
    }

    /// <summary>What EnsureImageAsync does on an engine without the image (report progress, wait, throw); null: the pull ends well at once.</summary>
    public Func<IProgress<ImagePull>, CancellationToken, Task>? ImagePullScript { get; set; }

    /// <summary>EnsureImageAsync calls that had to pull (the engine lacked the image).</summary>
    public int ImagePulls => Volatile.Read(ref _imagePulls);

    public Task<bool> HasImageAsync(CancellationToken cancellationToken)
    {
        ThrowIfDown();
        return Task.FromResult(HoldsImage);
    }

    public async Task EnsureImageAsync(IProgress<ImagePull> progress, CancellationToken cancellationToken)
    {
        ThrowIfDown();
        if (HoldsImage) return;
        Interlocked.Increment(ref _imagePulls);
        if (ImagePullScript is { } script) await script(progress, cancellationToken).ConfigureAwait(false);
        HoldsImage = true;
    }

    /// <summary>While held, every FormatDiskAsync waits (after its in-use check); lets a test see a disk mid-wipe.</summary>
    public SimulatedHold FormatHold { get; } = new();

    /// <summary>While held, every StartInstanceAsync waits (after it is recorded in <see cref="Starts"/>); lets a test act while a container starts.</summary>
    public SimulatedHold StartHold { get; } = new();

    /// <summary>While held, every WaitUntilReadyAsync waits; lets a test see an instance whose MySQL does not answer yet.</summary>
    public SimulatedHold ReadyHold { get; } = new();

    /// <summary>Removes a container behind the control plane's back, as an operator or a crash would.</summary>
    public bool VanishContainer(string instanceId)
    {
        lock (_gate) return _containers.Remove(instanceId);
    }

    internal void Rebind(HostConnection host)
    {
        lock (_gate) Host = host;
    }

    public Task<HostTopology> DiscoverTopologyAsync(CancellationToken cancellationToken)
    {
        ThrowIfDown();
        return Task.FromResult(_topology() ?? throw new EngineRejectedException(HostId, "read the CPU topology", "simulated host has no topology configured"));
    }

    public Task<HostSwapInfo> DiscoverSwapAsync(CancellationToken cancellationToken)
    {
        ThrowIfDown();
        return Task.FromResult(Swap);
    }

    public async Task FormatDiskAsync(string device, bool seed, CancellationToken cancellationToken)
    {
        ThrowIfDown();
        ResourceNames.ValidateDevice(device);
        lock (_gate)
        {
            var user = _containers.Values.FirstOrDefault(c => c.Spec.Device == device);
            if (user is not null)
            {
                _violations.Add($"format of {device} while instance {user.Spec.InstanceId} runs on it");
                _formats.Add(new FormatCall(device, seed, false));
                throw InstanceException.Conflict(HostId, user.Spec.InstanceId, $"disk {device} belongs to this instance; remove the instance before formatting the disk");
            }
        }

        await FormatHold.PassAsync(cancellationToken);
        await Task.Delay(FormatDelay, cancellationToken);

        lock (_gate)
        {
            if (_formatFailures.Remove(device, out var error))
            {
                _formats.Add(new FormatCall(device, seed, false));
                throw error;
            }
            // A container may have been started on the device while mkfs ran: the wipe destroyed its data.
            var user = _containers.Values.FirstOrDefault(c => c.Spec.Device == device);
            if (user is not null) _violations.Add($"{device} was formatted while instance {user.Spec.InstanceId} started on it");
            _disks[device] = new SimulatedDisk("xfs", seed);
            _formats.Add(new FormatCall(device, seed, true));
        }
    }

    public Task<DiskCheck> CheckDiskAsync(string device, CancellationToken cancellationToken)
    {
        ThrowIfDown();
        ResourceNames.ValidateDevice(device);
        return Task.FromResult(Disk(device));
    }

    public async Task<InstanceHandle> StartInstanceAsync(InstanceContainerSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ThrowIfDown();
        lock (_gate) _starts.Add(spec);
        try
        {
            spec.Validate();
        }
        catch (ArgumentException e)
        {
            lock (_gate) _violations.Add($"instance {spec.InstanceId}: invalid container spec: {e.Message}");
            throw;
        }

        await StartHold.PassAsync(cancellationToken);
        await Task.Delay(StartDelay, cancellationToken);

        lock (_gate)
        {
            if (_containers.TryGetValue(spec.InstanceId, out var existing))
            {
                // Idempotent like the Docker driver: the same instance again is the same container.
                if (existing.Spec.Device != spec.Device)
                    throw InstanceException.Conflict(HostId, spec.InstanceId, $"it already runs on disk {existing.Spec.Device}, not {spec.Device}");
                if (existing.Spec.Port != spec.Port)
                    throw InstanceException.Conflict(HostId, spec.InstanceId, $"it already listens on port {existing.Spec.Port}, not {spec.Port}");
                if (existing.Spec.Cpus != spec.Cpus)
                    _violations.Add($"instance {spec.InstanceId} restarted with CPUs {spec.Cpus}, it runs on {existing.Spec.Cpus}");
                return Handle(existing);
            }

            if (_startFailures.Remove(spec.InstanceId, out var failure)) throw failure;

            var topology = _topology();
            if (topology is not null)
            {
                var missing = spec.Cpus.Except(topology.AllCpus);
                if (!missing.IsEmpty)
                {
                    _violations.Add($"instance {spec.InstanceId}: CPUs {missing} are not on host {HostId}");
                    throw ResourceNotOnHostException.Cpus(HostId, missing);
                }
                var nodes = spec.MemoryNodes.Where(n => topology.Nodes.All(x => x.Id != n)).ToArray();
                if (nodes.Length > 0)
                {
                    _violations.Add($"instance {spec.InstanceId}: NUMA nodes {string.Join(',', nodes)} are not on host {HostId}");
                    throw ResourceNotOnHostException.MemoryNodes(HostId, CpuSet.Of(nodes));
                }
            }

            if (!_disks.TryGetValue(spec.Device, out var disk) || disk.FileSystem != "xfs")
            {
                _violations.Add($"instance {spec.InstanceId} started on {spec.Device}, which was never formatted");
                throw DiskException.NotFormatted(HostId, spec.Device);
            }

            foreach (var other in _containers.Values)
            {
                if (other.Spec.Device == spec.Device)
                    _violations.Add($"device {spec.Device} given to {other.Spec.InstanceId} and {spec.InstanceId}");
                if (other.Spec.Cpus.Overlaps(spec.Cpus))
                    _violations.Add($"CPUs {other.Spec.Cpus.Intersect(spec.Cpus)} given to {other.Spec.InstanceId} and {spec.InstanceId}");
                if (other.Spec.Port == spec.Port)
                {
                    // The real engine starts the container; mysqld then fails to bind. Either way: refused.
                    _violations.Add($"port {spec.Port} given to {other.Spec.InstanceId} and {spec.InstanceId}");
                    throw new PortInUseException(HostId, spec.Port);
                }
            }

            var container = new SimulatedContainer(spec, string.Create(CultureInfo.InvariantCulture, $"sim-{HostId}-{++_nextContainer:D4}"), DateTimeOffset.UtcNow);
            _containers[spec.InstanceId] = container;
            return Handle(container);
        }
    }

    public async Task WaitUntilReadyAsync(string instanceId, int port, InstanceCredentials credentials, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ThrowIfDown();
        await ReadyHold.PassAsync(cancellationToken);
        await Task.Delay(ReadyDelay, cancellationToken);
        lock (_gate)
        {
            if (_readyFailures.Remove(instanceId, out var failure)) throw failure;
            if (!_containers.TryGetValue(instanceId, out var container))
                throw InstanceException.NotReady(HostId, instanceId, deadline, "no container");
            if (container.Spec.Port != port)
            {
                _violations.Add($"instance {instanceId} was awaited on port {port}, it listens on {container.Spec.Port}");
                throw InstanceException.NotReady(HostId, instanceId, deadline, "connection refused");
            }
            if (container.Spec.Credentials != credentials)
            {
                _violations.Add($"instance {instanceId} was awaited with other credentials than it was started with");
                throw InstanceException.NotReady(HostId, instanceId, deadline, "access denied");
            }
        }
    }

    public Task RemoveInstanceAsync(string instanceId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_engineDown)
            {
                _refusedRemovals.Add(instanceId);
                throw new EngineUnavailableException(HostId);
            }
        }
        lock (_gate)
        {
            _removals.Add(instanceId);
            _containers.Remove(instanceId);
        }
        return Task.CompletedTask;
    }

    public Task RemoveOwnedVolumeAsync(string volumeName, CancellationToken cancellationToken)
    {
        ThrowIfDown();
        return Task.CompletedTask; // the simulation keeps no helper volumes
    }

    public Task RemoveOwnedContainerAsync(string containerName, CancellationToken cancellationToken)
    {
        ThrowIfDown();
        lock (_gate)
        {
            var id = _containers.Values.FirstOrDefault(c => ResourceNames.Container(c.Spec.InstanceId) == containerName)?.Spec.InstanceId;
            if (id is not null)
            {
                _removals.Add(id);
                _containers.Remove(id);
            }
        }
        return Task.CompletedTask;
    }

    public Task<InstanceStatus?> InspectInstanceAsync(string instanceId, CancellationToken cancellationToken)
    {
        ThrowIfDown();
        lock (_gate)
        {
            if (!_containers.TryGetValue(instanceId, out var c)) return Task.FromResult<InstanceStatus?>(null);
            return Task.FromResult<InstanceStatus?>(new InstanceStatus(instanceId, c.ContainerId, "running", true, false, 0, 0, c.StartedAt, LabelsOf(c.Spec)));
        }
    }

    public Task<OwnedResources> ListOwnedAsync(CancellationToken cancellationToken)
    {
        ThrowIfDown();
        lock (_gate)
        {
            var containers = _containers.Values
                .OrderBy(static c => c.Spec.InstanceId, StringComparer.Ordinal)
                .Select(c => new OwnedContainer(c.ContainerId, ResourceNames.Container(c.Spec.InstanceId), "running", LabelsOf(c.Spec)))
                .ToList();
            var volumes = _containers.Values
                .OrderBy(static c => c.Spec.InstanceId, StringComparer.Ordinal)
                .Select(c => new OwnedVolume(ResourceNames.DataVolume(c.Spec.InstanceId), LabelsOf(c.Spec)))
                .ToList();
            return Task.FromResult(new OwnedResources(containers, volumes));
        }
    }

    /// <summary>What <c>docker update --cpuset-cpus</c> does: the engine runs the container on other CPUs than it was started with.</summary>
    public void UpdateCpusetByHand(string instanceId, string cpus)
    {
        lock (_gate) _cpusetsByHand[instanceId] = cpus;
    }

    public Task<EngineInspection> InspectEngineAsync(CancellationToken cancellationToken)
    {
        ThrowIfDown();
        lock (_gate)
        {
            var containers = _containers.Values.Select(c => new InspectedContainer(
                ResourceNames.Container(c.Spec.InstanceId), c.Spec.InstanceId, true,
                _cpusetsByHand.GetValueOrDefault(c.Spec.InstanceId) ?? c.Spec.Cpus.ToString(),
                c.Spec.MemoryNodes.Count == 0 ? "" : CpuSet.Of(c.Spec.MemoryNodes).ToString(),
                Sizes.MiBToBytes(c.Spec.MemoryMiB), Sizes.MiBToBytes(c.Spec.MemoryMiB + c.Spec.SwapMiB), "unless-stopped", c.Spec.Device)).ToList();
            var volumes = _containers.Values.Select(c => new InspectedVolume(ResourceNames.DataVolume(c.Spec.InstanceId), c.Spec.InstanceId, c.Spec.Device)).ToList();
            return Task.FromResult(new EngineInspection(containers, volumes));
        }
    }

    private IReadOnlyDictionary<string, string> LabelsOf(InstanceContainerSpec spec)
    {
        var labels = new Dictionary<string, string>(spec.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [OwnershipLabels.ManagedBy] = OwnershipLabels.ManagedByValue,
            [OwnershipLabels.Host] = HostId,
            [OwnershipLabels.Instance] = spec.InstanceId,
            [OwnershipLabels.Port] = spec.Port.ToString(CultureInfo.InvariantCulture),
            [OwnershipLabels.Disk] = spec.Device,
        };
        return labels;
    }

    private InstanceHandle Handle(SimulatedContainer c) =>
        new(c.Spec.InstanceId, c.ContainerId, ResourceNames.Container(c.Spec.InstanceId), ResourceNames.DataVolume(c.Spec.InstanceId), Host.MySqlAddress, c.Spec.Port);

    private void ThrowIfDown()
    {
        if (EngineDown) throw new EngineUnavailableException(HostId);
    }

    private sealed record SimulatedDisk(string FileSystem, bool Seeded);

    private sealed record SimulatedContainer(InstanceContainerSpec Spec, string ContainerId, DateTimeOffset StartedAt);
}

/// <summary>One FormatDiskAsync call.</summary>
public sealed record FormatCall(string Device, bool Seed, bool Succeeded);
