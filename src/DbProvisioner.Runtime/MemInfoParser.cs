using System.Globalization;
using System.Text.RegularExpressions;

namespace DbProvisioner.Runtime;

/// <summary>The swap lines of a host's /proc/meminfo. Pure, so it is tested with fixture text.</summary>
public static partial class MemInfoParser
{
    /// <summary>SwapTotal in MiB (0 on a host without swap); a FormatException when the text has no SwapTotal line.</summary>
    public static long SwapTotalMiB(string meminfo)
    {
        ArgumentNullException.ThrowIfNull(meminfo);
        var m = SwapTotalLine().Match(meminfo);
        if (!m.Success) throw new FormatException("/proc/meminfo has no SwapTotal line");
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / 1024;
    }

    [GeneratedRegex(@"^SwapTotal:\s+(\d+)\s*kB\s*$", RegexOptions.Multiline)]
    private static partial Regex SwapTotalLine();
}
