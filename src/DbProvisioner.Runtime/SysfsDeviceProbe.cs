using DbProvisioner.Domain.Disks;

namespace DbProvisioner.Runtime;

/// <summary>
/// Reads what the host's sysfs says about a block device (its number, kernel name, partition flag and a loop
/// device's backing file) from inside a helper that has the device, so that the very node the engine maps is
/// what gets judged. The helper's /sys is the host kernel's. Pure parsing, tested with fixture text.
/// </summary>
public static class SysfsDeviceProbe
{
    /// <summary>The exit code of a probe or guard whose device is not a block device.</summary>
    public const int NotABlockDeviceExit = 3;

    /// <summary>The exit code of a guard whose device changed since it was probed.</summary>
    public const int ChangedExit = 4;

    /// <summary>The variables a <see cref="GuardScript"/> compares with what it reads again.</summary>
    public const string ExpectNumberVariable = "DBPROV_EXPECT_NUMBER";

    public const string ExpectBackingVariable = "DBPROV_EXPECT_BACKING";

    /// <summary>A POSIX shell script printing number=, name=, partition=1 (if so) and, last, backing= of the device at <paramref name="path"/>.</summary>
    public static string ProbeScript(string path) =>
        $"{Locate(path)}; printf 'number=%s\\nname=%s\\n' \"$n\" \"$(basename \"$(readlink -f \"$s\")\")\"; " +
        "[ -e \"$s/partition\" ] && echo partition=1; " +
        "[ -r \"$s/loop/backing_file\" ] && printf 'backing=%s\\n' \"$(cat \"$s/loop/backing_file\")\"; exit 0";

    /// <summary>
    /// Shell commands that exit with <see cref="ChangedExit"/> unless the device at <paramref name="path"/> still has the
    /// number and backing file given in the environment: a loop device re-pointed between probe and mkfs is not formatted.
    /// </summary>
    public static string GuardScript(string path) =>
        $"{Locate(path)}; [ \"$n\" = \"${ExpectNumberVariable}\" ] " +
        $"&& [ \"$(cat \"$s/loop/backing_file\" 2>/dev/null)\" = \"${ExpectBackingVariable}\" ] || exit {ChangedExit}";

    /// <summary>The environment of a <see cref="GuardScript"/> that expects what a probe found.</summary>
    public static IList<string> GuardEnvironment(string number, BlockDeviceFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        return [$"{ExpectNumberVariable}={number}", $"{ExpectBackingVariable}={facts.BackingFile}"];
    }

    /// <summary>The device number (major:minor) and the facts a <see cref="ProbeScript"/> printed.</summary>
    public static (string Number, BlockDeviceFacts Facts) Parse(string device, string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        string? number = null, name = null, backing = null;
        var partition = false;
        var text = output.Replace("\r\n", "\n", StringComparison.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("backing=", StringComparison.Ordinal))
            {
                // Last on purpose: the rest of the output is the file name (the kernel prints it as it is).
                var start = text.IndexOf("\nbacking=", StringComparison.Ordinal) is var i and >= 0 ? i + 9 : 8;
                backing = text[start..].TrimEnd('\n');
                break;
            }

            if (line.StartsWith("number=", StringComparison.Ordinal)) number = line[7..].Trim();
            else if (line.StartsWith("name=", StringComparison.Ordinal)) name = line[5..].Trim();
            else if (line.Trim() == "partition=1") partition = true;
        }

        if (string.IsNullOrEmpty(number) || string.IsNullOrEmpty(name))
            throw new FormatException($"the sysfs probe of {device} printed no device number or name: '{output.Trim()}'");
        return (number, new BlockDeviceFacts(device, name, partition, backing));
    }

    // $n: the device's major:minor (stat prints hex), $s: its sysfs entry.
    private static string Locate(string path) =>
        $"test -b {path} || exit {NotABlockDeviceExit}; set -- $(stat -L -c '%t %T' {path}); " +
        "n=$(printf '%d:%d' \"0x$1\" \"0x$2\"); s=/sys/dev/block/$n";
}
