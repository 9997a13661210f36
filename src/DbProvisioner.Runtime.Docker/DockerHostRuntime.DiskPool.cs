using DbProvisioner.Domain.Disks;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Runtime.Docker;

public sealed partial class DockerHostRuntime
{
    /// <summary>
    /// Gather → decide: reads the device's sysfs entry on the host and refuses, before anything writes to it, a
    /// device that is not the disk pool's (another program's loop device, a partition, a real disk where not allowed).
    /// </summary>
    private async Task<(string Number, BlockDeviceFacts Facts)> EnsurePoolDeviceAsync(string device, CancellationToken cancellationToken)
    {
        var probe = await RunHelperAsync(new HelperSpec("device", ["/bin/sh", "-c", SysfsDeviceProbe.ProbeScript(HelperDevice)])
        {
            User = "mysql",
            Device = device,
        }, cancellationToken).ConfigureAwait(false);
        if (probe.ExitCode == SysfsDeviceProbe.NotABlockDeviceExit) throw DiskException.NotABlockDevice(HostId, device);
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

        if (_options.DiskPolicy.Refusal(found.Facts) is { } reason)
        {
            _logger.LogWarning("Refused to format {Device} on host {HostId}: {Reason}", device, HostId, reason);
            throw DiskException.NotInPool(HostId, device, reason);
        }

        return found;
    }
}
