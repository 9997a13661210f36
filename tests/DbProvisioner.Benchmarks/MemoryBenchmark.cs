using System.Diagnostics;
using System.Globalization;
using System.Net;
using DbProvisioner.Api;
using DbProvisioner.Contracts;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// The real server process on a throwaway meta database: its resident set (VmRSS) idle, then after 5,000
/// simulated hosts are registered through <c>POST /api/v1/hosts</c> (given topology, so no engine is
/// contacted; watermark 0, so nothing is formatted), settled again. The growth per host is the figure.
/// </summary>
internal static class MemoryBenchmark
{
    private const string Pool = "sim";
    private static readonly TopologySpec Topology = new(2, 24, 2, 196_608);

    private static int Hosts => EnvInt("BENCH_MEMORY_HOSTS", 5000);

    private static int Concurrency => EnvInt("BENCH_MEMORY_CONCURRENCY", 16);

    /// <summary>Seconds the server is left idle before each measurement.</summary>
    private static int SettleSeconds => EnvInt("BENCH_MEMORY_SETTLE_S", 20);

    public static BenchSection Run() => RunAsync().GetAwaiter().GetResult();

    private sealed record Outcome(
        string Database, double StartSeconds, RssSamples Before, RssSamples After, long RightAfter, long Peak, double RegisterSeconds,
        double CpuSeconds, double[] LatencyMs, int EngineLogLines)
    {
        public double PerHost(int hosts) => (After.Median - Before.Median) / (double)hosts;
    }

    private static async Task<BenchSection> RunAsync()
    {
        var ci = CultureInfo.InvariantCulture;
        var gc = ServerGcMode();
        Console.Error.WriteLine($"memory: the server as shipped ({gc})");
        var shipped = await MeasureAsync(new Dictionary<string, string>());
        // The same run with the other GC, to tell the GC's own headroom from what the hosts hold.
        var otherGc = gc.StartsWith("server", StringComparison.Ordinal) ? "0" : "1";
        Console.Error.WriteLine($"memory: the same with DOTNET_gcServer={otherGc}, for comparison");
        var other = await MeasureAsync(new Dictionary<string, string> { ["DOTNET_gcServer"] = otherGc });

        var perHost = shipped.PerHost(Hosts);
        var perHostOther = other.PerHost(Hosts);
        var latencies = shipped.LatencyMs;
        return new BenchSection(
            "memory — the server process with 5,000 simulated hosts registered through the API",
            [
                new("server_bytes_per_host", Math.Round(perHost), "B/host", string.Create(ci, $"≤ 20,000 target: (settled RSS after − idle RSS before) / {Hosts:N0}, server as shipped ({gc})"), perHost <= 20_000),
                new("server_rss_before_mib", Math.Round(shipped.Before.Median / 1048576.0, 1), "MiB", "idle, one warm-up host registered, median of 5 samples", null),
                new("server_rss_after_mib", Math.Round(shipped.After.Median / 1048576.0, 1), "MiB", string.Create(ci, $"{Hosts:N0} hosts more, settled {SettleSeconds} s, median of 5 samples"), null),
                new("server_rss_peak_mib", Math.Round(shipped.Peak / 1048576.0, 1), "MiB", "VmHWM: the highest resident set of the run", null),
                new("server_bytes_per_host_other_gc", Math.Round(perHostOther), "B/host", string.Create(ci, $"the same measurement with DOTNET_gcServer={otherGc}: {other.Before.Median / 1048576.0:0.0} → {other.After.Median / 1048576.0:0.0} MiB (peak {other.Peak / 1048576.0:0.0} MiB)"), null),
                new("host_registrations_per_s", Math.Round(Hosts / shipped.RegisterSeconds), "hosts/s", string.Create(ci, $"POST /hosts, {Concurrency} in flight; p50 {Percentile(latencies, 0.5):0.0} ms, p99 {Percentile(latencies, 0.99):0.0} ms"), null),
                new("server_cpu_ms_per_registration", Math.Round(shipped.CpuSeconds * 1000 / Hosts, 2), "ms", "the server process's CPU (user + system) per registration", null),
            ],
            new Dictionary<string, string>
            {
                ["hosts"] = string.Create(ci, $"{Hosts:N0} simulated hosts: topology given (2 NUMA × 24 cores × 2 threads, 192 GiB per node), 2 disks /dev/sim-N-a|b, watermark minReady 0, engine tcp://sim-N.invalid:2375 (never contacted at registration)"),
                ["server"] = string.Create(ci, $"DbProvisioner.Server as built ({gc}), own meta DB each run, healthy in {shipped.StartSeconds:0.0} s / {other.StartSeconds:0.0} s; Reconciliation:Interval 1 day (its start-up round ran with no hosts), Log:MinimumLevel Warning"),
                ["measure"] = string.Create(ci, $"VmRSS of /proc/<pid>/status, 5 samples 1 s apart after {SettleSeconds} s idle; before: {Fmt(shipped.Before.Samples)} MiB; after: {Fmt(shipped.After.Samples)} MiB; right after the last registration {shipped.RightAfter / 1048576.0:0.0} MiB"),
                ["other_gc"] = string.Create(ci, $"DOTNET_gcServer={otherGc}: before {Fmt(other.Before.Samples)} MiB; after {Fmt(other.After.Samples)} MiB; registered in {other.RegisterSeconds:0.0} s"),
                ["unreachable_engine_log_lines"] = (shipped.EngineLogLines + other.EngineLogLines).ToString(ci),
                ["machine_load"] = "load average " + LoadAverage(),
            });
    }

    /// <summary>The GC the built server runs with, read from its runtimeconfig.json.</summary>
    private static string ServerGcMode()
    {
        var config = Path.ChangeExtension(BenchServer.ServerDllPath, ".runtimeconfig.json");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(config));
        var server = doc.RootElement.GetProperty("runtimeOptions").TryGetProperty("configProperties", out var props)
            && props.TryGetProperty("System.GC.Server", out var value) && value.GetBoolean();
        return server ? "server GC" : "workstation GC";
    }

    private static async Task<Outcome> MeasureAsync(IReadOnlyDictionary<string, string> environment)
    {
        var ci = CultureInfo.InvariantCulture;
        // Reconciliation would walk the fake engines one host at a time (each unreachable after its retries), so how
        // many reconciler grains exist when RSS is read would depend on timing; one round runs at start (no hosts yet).
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Reconciliation:Interval"] = "1.00:00:00",
            ["Log:MinimumLevel"] = "Warning",
        };
        await using var server = await BenchServer.StartAsync("memory", settings, environment);
        Console.Error.WriteLine(string.Create(ci, $"  healthy after {server.StartSeconds:0.0} s (pid {server.ProcessId}, database {server.Database})"));

        // Warm the API path (JIT of registration, validation, grain storage) with one host that is counted in neither figure.
        await server.Admin.PostAsync<HostView>("hosts", Registration("sim-warm", 0), HttpStatusCode.Created);
        var before = await SettledRssAsync(server);
        Console.Error.WriteLine(string.Create(ci, $"  idle RSS {before.Median / 1048576.0:0.0} MiB (samples {Fmt(before.Samples)})"));

        var latencies = new double[Hosts];
        var cpu0 = server.CpuTime();
        var t0 = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(0, Hosts), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, _) =>
        {
            var s = Stopwatch.GetTimestamp();
            await server.Admin.PostAsync<HostView>("hosts", Registration(HostId(i), i), HttpStatusCode.Created);
            latencies[i] = Stopwatch.GetElapsedTime(s).TotalMilliseconds;
        });
        var registerSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var cpuSeconds = (server.CpuTime() - cpu0).TotalSeconds;
        var rightAfter = server.RssBytes();
        Console.Error.WriteLine(string.Create(ci, $"  {Hosts:N0} hosts registered in {registerSeconds:0.0} s ({Hosts / registerSeconds:N0}/s), RSS right after {rightAfter / 1048576.0:0.0} MiB"));

        var listed = await server.Admin.GetAsync<List<HostSummary>>("hosts");
        var simulated = listed.Count(static h => h.Pool == Pool) - 1;
        if (simulated != Hosts) throw new InvalidOperationException($"GET /hosts lists {simulated} simulated hosts, {Hosts} were registered");

        var after = await SettledRssAsync(server);
        Console.Error.WriteLine(string.Create(ci, $"  settled RSS {after.Median / 1048576.0:0.0} MiB (samples {Fmt(after.Samples)}): {(after.Median - before.Median) / (double)Hosts:N0} B/host"));
        Array.Sort(latencies);
        return new Outcome(server.Database, server.StartSeconds, before, after, rightAfter, ReadStatusBytes(server.ProcessId, "VmHWM:"),
            registerSeconds, cpuSeconds, latencies, server.CountLogLines(".invalid"));
    }

    private sealed record RssSamples(long Median, long[] Samples);

    private static async Task<RssSamples> SettledRssAsync(BenchServer server)
    {
        await Task.Delay(TimeSpan.FromSeconds(SettleSeconds));
        var samples = new long[5];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = server.RssBytes();
            if (i < samples.Length - 1) await Task.Delay(1000);
        }
        return new RssSamples(samples.Order().ElementAt(samples.Length / 2), samples);
    }

    private static string HostId(int i) => string.Create(CultureInfo.InvariantCulture, $"sim-{i + 1:D4}");

    private static RegisterHostRequest Registration(string id, int i) => new(
        id,
        $"tcp://{id}.invalid:2375",
        string.Create(CultureInfo.InvariantCulture, $"z{i % 3 + 1}"),
        string.Create(CultureInfo.InvariantCulture, $"r{i / 3 % 3 + 1}"),
        Pool,
        [new DiskSpec($"/dev/{id}-a", 1024, "nvme"), new DiskSpec($"/dev/{id}-b", 1024, "nvme")],
        "",
        new PortRangeSpec(3306, 3369),
        Topology: Topology,
        Watermarks: [new WatermarkSpec("nvme", 0, 0)]);

    private static long ReadStatusBytes(int pid, string field)
    {
        var line = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    private static string Fmt(long[] samples) => string.Join(" ", samples.Select(static s => (s / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture)));

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1))];

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
}
