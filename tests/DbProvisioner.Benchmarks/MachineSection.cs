using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace DbProvisioner.Benchmarks;

/// <summary>What the figures were measured on: cores, memory, OS, runtime, container engine, time and load.</summary>
internal static class MachineSection
{
    public static BenchSection Run()
    {
        var ci = CultureInfo.InvariantCulture;
        var memoryGiB = MemTotalKiB() / 1024.0 / 1024.0;
        return new BenchSection(
            "machine",
            [
                new("logical_cpus", Environment.ProcessorCount, "CPUs", "shared with other work on this machine; see load_average", null),
                new("memory_gib", Math.Round(memoryGiB, 1), "GiB", "MemTotal", null),
            ],
            new Dictionary<string, string>
            {
                ["cpu"] = CpuModel(),
                ["os"] = OsName() + " (" + RuntimeInformation.OSDescription + ")",
                ["runtime"] = RuntimeInformation.FrameworkDescription + " " + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
                ["docker_engine"] = DockerVersion(),
                ["load_average"] = Read("/proc/loadavg")?.Split(' ').Take(3) is { } l ? string.Join(' ', l) : "unknown",
                ["time"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", ci),
            });
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long MemTotalKiB()
    {
        var line = Read("/proc/meminfo")?.Split('\n').FirstOrDefault(static l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        var digits = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1);
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var kib) ? kib : 0;
    }

    private static string CpuModel() =>
        Read("/proc/cpuinfo")?.Split('\n').FirstOrDefault(static l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";

    private static string OsName() =>
        Read("/etc/os-release")?.Split('\n').FirstOrDefault(static l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?["PRETTY_NAME=".Length..].Trim('"') ?? "unknown";

    /// <summary>The engine's own version and API version, as the docker CLI reports them; "unavailable" without an engine.</summary>
    private static string DockerVersion()
    {
        try
        {
            var start = new ProcessStartInfo("docker", ["version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(start);
            if (p is null) return "unavailable";
            var output = p.StandardOutput.ReadToEnd().Trim();
            if (!p.WaitForExit(10_000)) return "unavailable (docker version timed out)";
            return p.ExitCode == 0 && output.Length > 0 ? output : "unavailable";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unavailable (no docker CLI)";
        }
    }
}
