using System.Diagnostics;
using DbProvisioner.Domain.Disks;
using Microsoft.Extensions.Logging;
using static DbProvisioner.Runtime.Docker.ContainerParameters;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// The disk-pool work on one host: format (which also wipes), prepare and seed, check. Only a device the disk-pool
/// policy accepts is ever written to, and never the disk of an instance.
/// </summary>
internal sealed class DockerDisks(DockerEngine engine, HelperContainers helpers, DockerRuntimeOptions options, ILogger logger)
{
    private const int NotABlockDeviceExit = SysfsDeviceProbe.NotABlockDeviceExit;

    private string HostId => engine.HostId;

    public async Task FormatAsync(string device, bool seed, CancellationToken cancellationToken)
    {
        ResourceNames.ValidateDevice(device);
        await EnsureNotInUseAsync(device, cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var (number, facts) = await EnsurePoolDeviceAsync(device, cancellationToken).ConfigureAwait(false);

        // mkfs.xfs needs the device and CAP_SYS_ADMIN, nothing else: no network, no other device. The guard
        // refuses a device that changed since it was judged (a loop device re-pointed in between).
        var mkfs = await helpers.RunAsync(new HelperSpec("format", ["/bin/sh", "-c",
            $"{SysfsDeviceProbe.GuardScript(InstanceLayout.HelperDevice)}; exec mkfs.xfs -f -q {InstanceLayout.HelperDevice}"])
        {
            Device = device,
            CapAdd = ["SYS_ADMIN"],
            Env = SysfsDeviceProbe.GuardEnvironment(number, facts),
        }, cancellationToken).ConfigureAwait(false);
        if (mkfs.ExitCode == NotABlockDeviceExit) throw DiskException.NotABlockDevice(HostId, device);
        if (mkfs.ExitCode == SysfsDeviceProbe.ChangedExit)
            throw DiskException.NotInPool(HostId, device, "it changed between its check and the format (another device or backing file)");
        if (mkfs.ExitCode != 0) throw new EngineRejectedException(HostId, $"format {device}", mkfs.LastErrorLine);

        // The root directory goes to mysql (and, for a seeded disk, gets a data directory) through
        // the same kind of volume an instance mounts.
        await WithVolumeAsync(device, "prepare", async volume =>
        {
            var prepare = await helpers.RunAsync(new HelperSpec("prepare", ["prepare"])
            {
                Volume = volume,
                Env = seed ? ["DBPROV_SEED=1"] : [],
                // chown/chmod of the root directory, then setpriv to mysql for the seed.
                CapAdd = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"],
                ReadOnlyRootfs = false,
            }, cancellationToken).ConfigureAwait(false);
            if (prepare.ExitCode != 0) throw new EngineRejectedException(HostId, $"prepare {device}", prepare.LastErrorLine);
        }, cancellationToken).ConfigureAwait(false);

        logger.LogInformation("Formatted {Device} on host {HostId} (seeded: {Seed}) in {Elapsed}",
            device, HostId, seed, Stopwatch.GetElapsedTime(started));
    }

    public async Task<DiskCheck> CheckAsync(string device, CancellationToken cancellationToken)
    {
        ResourceNames.ValidateDevice(device);
        var probe = await helpers.RunAsync(new HelperSpec("check", ["/bin/sh", "-c",
            $"test -b {InstanceLayout.HelperDevice} || exit {NotABlockDeviceExit}; blkid -p -o value -s TYPE {InstanceLayout.HelperDevice} || true"])
        {
            Device = device,
        }, cancellationToken).ConfigureAwait(false);
        if (probe.ExitCode == NotABlockDeviceExit) throw DiskException.NotABlockDevice(HostId, device);
        if (probe.ExitCode != 0) throw new EngineRejectedException(HostId, $"check {device}", probe.LastErrorLine);
        var fileSystem = probe.Stdout.Trim() is { Length: > 0 } fs ? fs : null;
        if (fileSystem != "xfs") return new DiskCheck(device, fileSystem, IsSeeded: false);

        var seeded = false;
        await WithVolumeAsync(device, "check", async volume =>
        {
            var look = await helpers.RunAsync(new HelperSpec("check", ["/bin/sh", "-c", $"test -d {InstanceLayout.DataDir}/mysql && echo seeded || echo empty"])
            {
                User = "mysql",
                Volume = volume,
                VolumeReadOnly = true,
            }, cancellationToken).ConfigureAwait(false);
            if (look.ExitCode != 0) throw new EngineRejectedException(HostId, $"check {device}", look.LastErrorLine);
            seeded = look.Stdout.Trim() == "seeded";
        }, cancellationToken).ConfigureAwait(false);
        return new DiskCheck(device, fileSystem, seeded);
    }

    /// <summary>A disk mounted by an instance must never be formatted: mkfs inside a helper cannot see host mounts.</summary>
    private async Task EnsureNotInUseAsync(string device, CancellationToken cancellationToken)
    {
        var users = await engine.ListOwnedContainersAsync(cancellationToken, (OwnershipLabels.Disk, device)).ConfigureAwait(false);
        var instance = users.Select(c => c.Labels.TryGetValue(OwnershipLabels.Instance, out var id) ? id : null).FirstOrDefault(id => id is not null);
        if (instance is not null)
            throw InstanceException.Conflict(HostId, instance, $"disk {device} belongs to this instance; remove the instance before formatting the disk");
    }

    /// <summary>
    /// Gather → decide: reads the device's sysfs entry on the host and refuses, before anything writes to it, a
    /// device that is not the disk pool's (another program's loop device, a partition, a real disk where not allowed).
    /// </summary>
    private async Task<(string Number, BlockDeviceFacts Facts)> EnsurePoolDeviceAsync(string device, CancellationToken cancellationToken)
    {
        var probe = await helpers.RunAsync(new HelperSpec("device", ["/bin/sh", "-c", SysfsDeviceProbe.ProbeScript(InstanceLayout.HelperDevice)])
        {
            User = "mysql",
            Device = device,
        }, cancellationToken).ConfigureAwait(false);
        if (probe.ExitCode == NotABlockDeviceExit) throw DiskException.NotABlockDevice(HostId, device);
        if (probe.ExitCode != 0) throw new EngineRejectedException(HostId, $"read the sysfs entry of {device}", probe.LastErrorLine);

        (string Number, BlockDeviceFacts Facts) found;
        try
        {
            found = SysfsDeviceProbe.Parse(device, probe.Stdout);
        }
        catch (FormatException e)
        {
            throw new EngineRejectedException(HostId, $"read the sysfs entry of {device}", e.Message, e);
        }

        if (options.DiskPolicy.Refusal(found.Facts) is { } reason)
        {
            logger.LogWarning("Refused to format {Device} on host {HostId}: {Reason}", device, HostId, reason);
            throw DiskException.NotInPool(HostId, device, reason);
        }

        return found;
    }

    /// <summary>Runs <paramref name="use"/> with a short-lived volume on the device, removed afterwards whatever happens.</summary>
    private async Task WithVolumeAsync(string device, string purpose, Func<string, Task> use, CancellationToken cancellationToken)
    {
        var name = $"dbprov-{purpose}-{Path.GetFileName(device)}-{Guid.NewGuid().ToString("N")[..8]}";
        var parameters = ForHelperVolume(HostId, name, purpose, device);
        await engine.CallAsync((d, ct) => d.Volumes.CreateAsync(parameters, ct), cancellationToken).ConfigureAwait(false);
        try
        {
            await use(name).ConfigureAwait(false);
        }
        finally
        {
            await engine.RemoveVolumeQuietlyAsync(name).ConfigureAwait(false);
        }
    }
}
