using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// The server's managed heap as dotnet-gcdump sees it: the dump forces a full blocking collection, so its sum is the live
/// bytes (no garbage, no GC headroom). Its "GC Heap bytes" line is the total; its rows (bytes of one object, count, type per size bucket) give the types that hold them.
/// </summary>
internal static partial class MemoryHeap
{
    internal sealed record TypeRow(long Bytes, long Count, string Type);

    internal sealed record Heap(long LiveBytes, IReadOnlyList<TypeRow> Types, string DumpPath);

    /// <summary>The dotnet-gcdump tool (`dotnet tool install -g dotnet-gcdump`), or null when it is not installed.</summary>
    public static string? Tool
    {
        get
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            var path = Path.Combine(home, ".dotnet", "tools", "dotnet-gcdump");
            return File.Exists(path) ? path : null;
        }
    }

    public static async Task<Heap?> CollectAsync(int processId, string dumpPath)
    {
        if (Tool is not { } tool) return null;
        var (exit, output) = await RunAsync(tool, $"collect -p {processId} -o {dumpPath}");
        if (exit != 0) throw new InvalidOperationException($"dotnet-gcdump collect failed: {output}");
        (exit, output) = await RunAsync(tool, $"report {dumpPath}");
        if (exit != 0) throw new InvalidOperationException($"dotnet-gcdump report failed: {output}");
        File.WriteAllText(Path.ChangeExtension(dumpPath, ".txt"), output);
        long total = 0;
        var rows = new List<TypeRow>();
        foreach (var line in output.Split('\n'))
        {
            if (Total().Match(line) is { Success: true } t) total = Number(t.Groups[1].Value);
            else if (Row().Match(line) is { Success: true } m)
            {
                // One row per type and size bucket ("System.Byte[] (Bytes > 1M)  [System.Private.CoreLib.dll]"): keep the type.
                // The first column is the bytes of one object of the row (the rows' size × count add up to the total).
                var count = Number(m.Groups[2].Value);
                rows.Add(new TypeRow(Number(m.Groups[1].Value) * count, count, m.Groups[3].Value.Trim()));
            }
        }
        var types = rows.GroupBy(static r => r.Type, StringComparer.Ordinal)
            .Select(static g => new TypeRow(g.Sum(static r => r.Bytes), g.Sum(static r => r.Count), g.Key)).ToList();
        return new Heap(total, types, dumpPath);
    }

    [GeneratedRegex(@"^\s*([\d,]+)\s+GC Heap bytes")]
    private static partial Regex Total();

    [GeneratedRegex(@"^\s*([\d,]+)\s+([\d,]+)\s+(.+?)(?:\s+\(Bytes > [^)]*\))?\s+\[[^\]]*\]\s*$")]
    private static partial Regex Row();

    private static long Number(string digits) => long.Parse(digits, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    private static async Task<(int Exit, string Output)> RunAsync(string tool, string arguments)
    {
        var start = new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
