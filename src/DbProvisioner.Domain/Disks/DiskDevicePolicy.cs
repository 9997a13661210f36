using System.Text.RegularExpressions;

namespace DbProvisioner.Domain.Disks;

/// <summary>
/// What the host's sysfs says about the block device a disk names, read just before formatting.
/// </summary>
/// <param name="Device">The device path as registered, e.g. /dev/sdb or a pool loop device.</param>
/// <param name="KernelName">The kernel's name of the device (the /sys/dev/block entry), e.g. loop3, sdb, nvme0n1p2.</param>
/// <param name="IsPartition">Whether sysfs marks it as a partition of another device.</param>
/// <param name="BackingFile">A loop device's backing file as the kernel names it (loop/backing_file), or null.</param>
public sealed record BlockDeviceFacts(string Device, string KernelName, bool IsPartition, string? BackingFile);

/// <summary>
/// Which devices the appliance may format, seed or wipe on a host: loop devices over a file in the host's
/// disk-pool folder and, only where <paramref name="AllowWholeDisks"/> is set, whole real disks. Anything else
/// (another program's loop device, a partition, a loop device whose file was deleted) is someone else's data.
/// </summary>
/// <param name="PoolFolder">The folder of the pool's backing files, as the kernel names it (no symlinks).</param>
/// <param name="AllowWholeDisks">Whether a whole non-loop disk listed in a host's registration may be formatted.</param>
public sealed partial record DiskDevicePolicy(string PoolFolder, bool AllowWholeDisks = false)
{
    public const string DefaultPoolFolder = "/var/lib/dbprov/disks";

    private const string DeletedSuffix = " (deleted)";

    public static DiskDevicePolicy Default { get; } = new(DefaultPoolFolder);

    /// <summary>Null when the device may be formatted, otherwise why not (a clause after "it is" / "its").</summary>
    public string? Refusal(BlockDeviceFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (!IsPlainAbsolute(PoolFolder) || PoolFolder.TrimEnd('/').Length == 0)
            return $"the disk-pool folder '{PoolFolder}' is not a plain absolute folder, so no loop device can be trusted";

        if (LoopName().IsMatch(facts.KernelName))
        {
            var file = facts.BackingFile;
            if (string.IsNullOrEmpty(file)) return "it is a loop device with no backing file";
            if (file.EndsWith(DeletedSuffix, StringComparison.Ordinal))
                return $"it is a loop device over {file[..^DeletedSuffix.Length]}, a file that was deleted";
            if (!IsPlainAbsolute(file)) return $"it is a loop device over '{file}', not a plain absolute path";
            var folder = PoolFolder.TrimEnd('/') + "/";
            // The separator matters: /var/lib/dbprov/disks-evil/x.img is not in /var/lib/dbprov/disks.
            return file.StartsWith(folder, StringComparison.Ordinal) && file.Length > folder.Length
                ? null
                : $"it is a loop device over {file}, outside the disk pool {PoolFolder}";
        }

        if (facts.IsPartition || facts.KernelName.StartsWith("loop", StringComparison.Ordinal))
            return $"it is a partition ({facts.KernelName}), not a whole disk";
        return AllowWholeDisks
            ? null
            : $"it is not a loop device of the disk pool {PoolFolder} but a real disk ({facts.KernelName}), and whole real disks are not allowed on this appliance";
    }

    /// <summary>Absolute, with no empty, "." or ".." segment: the form in which the kernel prints a path.</summary>
    private static bool IsPlainAbsolute(string path)
    {
        if (path.Length == 0 || path[0] != '/') return false;
        var segments = path.TrimEnd('/').Split('/')[1..];
        return segments.All(static s => s.Length > 0 && s != "." && s != "..") && !path.Any(char.IsControl);
    }

    [GeneratedRegex("^loop[0-9]+$")]
    private static partial Regex LoopName();
}
