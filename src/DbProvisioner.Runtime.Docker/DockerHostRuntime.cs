using System.Globalization;
using DbProvisioner.Domain.Topology;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// The Docker Engine API driver of one host: the <see cref="IHostRuntime"/> port over its rooms (README.md). Every
/// engine call runs through the host's one resilience pipeline (<see cref="DockerEngine"/>). Made only by
/// <see cref="DockerHostRuntimeFactory"/>, one per host.
/// </summary>
public sealed class DockerHostRuntime : IHostRuntime, IDisposable
{
    private readonly DockerEngine _engine;
    private readonly HelperContainers _helpers;
    private readonly DockerDisks _disks;
    private readonly InstanceContainers _instances;
    private readonly DockerImages _images;

    internal DockerHostRuntime(HostConnection host, DockerEngine engine, HelperContainers helpers, DockerDisks disks, InstanceContainers instances, DockerImages images)
    {
        _images = images;
        Host = host;
        _engine = engine;
        _helpers = helpers;
        _disks = disks;
        _instances = instances;
    }

    public HostConnection Host { get; }

    private string HostId => Host.HostId;

    // ---------------------------------------------------------------- topology

    public async Task<HostTopology> DiscoverTopologyAsync(CancellationToken cancellationToken)
    {
        var result = await _helpers.RunAsync(new HelperSpec("topology", ["/bin/sh", "-c", SysfsTopologyParser.DumpScript]) { User = "mysql" }, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0) throw new EngineRejectedException(HostId, "read the CPU topology", result.LastErrorLine);
        try
        {
            return SysfsTopologyParser.Parse(result.Stdout);
        }
        catch (FormatException e)
        {
            throw new EngineRejectedException(HostId, "read the CPU topology", e.Message, e);
        }
    }

    public async Task<HostSwapInfo> DiscoverSwapAsync(CancellationToken cancellationToken)
    {
        // The engine's info says whether it can limit swap (SwapLimit) but not how much the host has: /proc/meminfo does.
        SystemInfoResponse info;
        try
        {
            info = await _engine.CallAsync((d, ct) => d.System.GetSystemInfoAsync(ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, "report its swap limit support", e);
        }
        var result = await _helpers.RunAsync(new HelperSpec("swap", ["cat", "/proc/meminfo"]) { User = "mysql" }, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0) throw new EngineRejectedException(HostId, "read the swap", result.LastErrorLine);
        try
        {
            return new HostSwapInfo(MemInfoParser.SwapTotalMiB(result.Stdout), info.SwapLimit);
        }
        catch (FormatException e)
        {
            throw new EngineRejectedException(HostId, "read the swap", e.Message, e);
        }
    }

    // ---------------------------------------------------------------- image

    public Task<bool> HasImageAsync(CancellationToken cancellationToken) => _images.HasAsync(cancellationToken);

    public Task EnsureImageAsync(IProgress<ImagePull> progress, CancellationToken cancellationToken) => _images.EnsureAsync(progress, cancellationToken);

    // ---------------------------------------------------------------- disks

    public Task FormatDiskAsync(string device, bool seed, CancellationToken cancellationToken) => _disks.FormatAsync(device, seed, cancellationToken);

    public Task<DiskCheck> CheckDiskAsync(string device, CancellationToken cancellationToken) => _disks.CheckAsync(device, cancellationToken);

    // ---------------------------------------------------------------- instances

    public Task<InstanceHandle> StartInstanceAsync(InstanceContainerSpec spec, CancellationToken cancellationToken) =>
        _instances.StartAsync(spec, cancellationToken);

    public Task WaitUntilReadyAsync(string instanceId, int port, InstanceCredentials credentials, TimeSpan deadline, CancellationToken cancellationToken) =>
        _instances.WaitUntilReadyAsync(instanceId, port, credentials, deadline, cancellationToken);

    public Task RemoveInstanceAsync(string instanceId, CancellationToken cancellationToken) => _instances.RemoveAsync(instanceId, cancellationToken);

    public Task<InstanceStatus?> InspectInstanceAsync(string instanceId, CancellationToken cancellationToken) => _instances.InspectAsync(instanceId, cancellationToken);

    // ---------------------------------------------------------------- ownership

    public async Task<OwnedResources> ListOwnedAsync(CancellationToken cancellationToken)
    {
        var containers = await _engine.ListOwnedContainersAsync(cancellationToken).ConfigureAwait(false);
        var volumes = await _engine.ListOwnedVolumesAsync(cancellationToken).ConfigureAwait(false);
        return new OwnedResources(
            [.. containers.Select(c => new OwnedContainer(c.ID, c.Names.FirstOrDefault()?.TrimStart('/') ?? c.ID, c.State,
                new Dictionary<string, string>(c.Labels ?? new Dictionary<string, string>()), new DateTimeOffset(DateTime.SpecifyKind(c.Created, DateTimeKind.Utc))))],
            [.. (volumes.Volumes ?? []).Select(v => new OwnedVolume(v.Name, new Dictionary<string, string>(v.Labels ?? new Dictionary<string, string>()),
                DateTimeOffset.TryParse(v.CreatedAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created) ? created : null))]);
    }

    public async Task RemoveOwnedVolumeAsync(string volumeName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(volumeName);
        var owned = await ListOwnedAsync(cancellationToken).ConfigureAwait(false);
        if (!owned.Volumes.Any(v => v.Name == volumeName)) return; // gone, or not ours
        await _engine.RemoveVolumeQuietlyAsync(volumeName).ConfigureAwait(false);
    }

    public async Task RemoveOwnedContainerAsync(string containerName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(containerName);
        var owned = await ListOwnedAsync(cancellationToken).ConfigureAwait(false);
        var container = owned.Containers.FirstOrDefault(c => c.Name == containerName || c.Id == containerName);
        if (container is null) return; // gone, or not ours: never touch what this host's appliance did not make
        if (container.InstanceId is { } instanceId && container.Helper is null)
        {
            await _instances.RemoveAsync(instanceId, cancellationToken).ConfigureAwait(false);
            return;
        }
        await _engine.RemoveContainerAsync(container.Id, removeVolumes: true, cancellationToken).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- health

    public async Task<EngineFacts?> PingAsync(CancellationToken cancellationToken)
    {
        SystemInfoResponse info;
        try
        {
            info = await _engine.CallAsync((d, ct) => d.System.GetSystemInfoAsync(ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, "answer a ping", e);
        }
        return new EngineFacts((int)info.NCPU, info.MemTotal / (1024 * 1024));
    }

    public bool CircuitOpen => _engine.CircuitOpen;

    public async Task<IReadOnlyList<string>> FindMissingDevicesAsync(IReadOnlyList<string> devices, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(devices);
        if (devices.Count == 0) return [];
        foreach (var device in devices) ResourceNames.ValidateDevice(device);
        // sysfs shows the host's block devices without mapping any into the helper; a loop device without its backing file is gone too.
        const string script = """
            for d in "$@"; do n=${d#/dev/}
              case $n in */*) ;; loop*) [ -e /sys/block/$n/loop/backing_file ] || echo $d ;; *) [ -e /sys/block/$n ] || echo $d ;; esac
            done
            """;
        var result = await _helpers.RunAsync(new HelperSpec("disk-presence", ["/bin/sh", "-c", script, "sh", .. devices]) { User = "mysql" }, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0) throw new EngineRejectedException(HostId, "check that its disks are there", result.LastErrorLine);
        return [.. result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }

    public Task<EngineInspection> InspectEngineAsync(CancellationToken cancellationToken) => EngineInspector.InspectAsync(_engine, cancellationToken);

    public void Dispose() => _engine.Dispose();
}
