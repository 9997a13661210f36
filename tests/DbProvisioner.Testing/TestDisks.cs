namespace DbProvisioner.Testing;

/// <summary>
/// The test pool's disks (hack/disks.sh: disk-01.img … disk-10.img under /var/lib/dbprov/disks), found by backing
/// file, never by loop number: on a machine where another program holds /dev/loop0 a suite must not format it.
/// Each suite owns a fixed set of pool files: Runtime.Docker disk-01–04 (Runtime.Kubernetes' Engine test borrows disk-03 after it), EndToEnd and the delivery benchmark disk-05–10.
/// </summary>
public static class TestDisks
{
    public static string PoolFolder { get; } =
        Path.Combine(Environment.GetEnvironmentVariable("DBPROV_STATE_DIR") is { Length: > 0 } state ? state : "/var/lib/dbprov", "disks");

    /// <summary>The loop device (e.g. /dev/loop2) over <c>PoolFolder/&lt;poolFile&gt;.img</c>, e.g. <c>Resolve("disk-03")</c>.</summary>
    public static string Resolve(string poolFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(poolFile);
        var file = Path.Combine(PoolFolder, poolFile.EndsWith(".img", StringComparison.Ordinal) ? poolFile : poolFile + ".img");
        var devices = Attached().Where(a => a.BackingFile == file).Select(a => a.Device).ToList();
        return devices.Count switch
        {
            1 when File.Exists(devices[0]) => devices[0],
            1 => throw new InvalidOperationException($"{file} is attached to {devices[0]}, which has no device node"),
            0 => throw new InvalidOperationException($"{file} is not attached to a loop device: run `bash hack/disks.sh up`"),
            _ => throw new InvalidOperationException($"{file} is attached to several loop devices ({string.Join(", ", devices)}): detach all but one"),
        };
    }

    public static IReadOnlyList<string> Resolve(params string[] poolFiles) => [.. poolFiles.Select(Resolve)];

    /// <summary>Every attached loop device with its backing file, from /sys/block/loopN/loop/backing_file.</summary>
    public static IEnumerable<(string Device, string BackingFile)> Attached()
    {
        foreach (var dir in Directory.EnumerateDirectories("/sys/block", "loop*"))
        {
            var backing = Path.Combine(dir, "loop", "backing_file");
            if (!File.Exists(backing)) continue;
            yield return ("/dev/" + Path.GetFileName(dir), File.ReadAllText(backing).TrimEnd('\n'));
        }
    }
}
