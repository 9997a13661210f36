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

    /// <summary>Fleet sizes of the scale curve (issue 13): one server each, the shipped run reused for its own size.</summary>
    private static int[] CurveSizes =>
        (Environment.GetEnvironmentVariable("BENCH_MEMORY_SCALE") ?? "1000,5000,50000").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(static s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Registrations in flight for a fleet of <paramref name="hosts"/>: more for the large ones, so 50,000 register in minutes.</summary>
    private static int ConcurrencyFor(int hosts) => Math.Max(Concurrency, Math.Min(64, hosts / 500));

    public static BenchSection Run() => RunAsync().GetAwaiter().GetResult();

    private sealed record Outcome(
        int Hosts, string Database, double StartSeconds, RssSamples Before, RssSamples After, long RightAfter, long Peak, double RegisterSeconds,
        double CpuSeconds, double[] LatencyMs, int EngineLogLines, MemoryHeap.Heap? HeapBefore, MemoryHeap.Heap? HeapAfter)
    {
        public double PerHost(int hosts) => (After.Median - Before.Median) / (double)hosts;

        /// <summary>Live managed bytes per host: the heap after a full collection, minus the same with one warm-up host.</summary>
        public double? HeapPerHost => HeapBefore is { } b && HeapAfter is { } a ? (a.LiveBytes - b.LiveBytes) / (double)Hosts : null;
    }

    private static async Task<BenchSection> RunAsync()
    {
        var ci = CultureInfo.InvariantCulture;
        var gc = ServerGcMode();
        Console.Error.WriteLine($"memory: the server as shipped ({gc})");
        var shipped = await MeasureAsync(new Dictionary<string, string>(), Hosts);
        // The same run with the other GC, to tell the GC's own headroom from what the hosts hold.
        var otherGc = gc.StartsWith("server", StringComparison.Ordinal) ? "0" : "1";
        Outcome? other = null;
        if (Environment.GetEnvironmentVariable("BENCH_MEMORY_OTHER_GC") != "0")
        {
            Console.Error.WriteLine($"memory: the same with DOTNET_gcServer={otherGc}, for comparison");
            other = await MeasureAsync(new Dictionary<string, string> { ["DOTNET_gcServer"] = otherGc }, Hosts);
        }

        var curve = new List<Outcome>();
        foreach (var size in CurveSizes)
        {
            if (size == Hosts) curve.Add(shipped);
            else
            {
                Console.Error.WriteLine(string.Create(ci, $"memory: scale curve, {size:N0} hosts"));
                curve.Add(await MeasureAsync(new Dictionary<string, string>(), size));
            }
        }
        var curveJson = new System.Text.Json.Nodes.JsonArray();
        foreach (var o in curve)
        {
            Console.Error.WriteLine(string.Create(ci, $"memory: curve {o.Hosts,6:N0} hosts: {o.HeapPerHost ?? double.NaN,8:N0} B/host live heap, {o.PerHost(o.Hosts),8:N0} B/host RSS, registered in {o.RegisterSeconds:0.0} s"));
            curveJson.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["hosts"] = o.Hosts,
                ["bytes_per_host"] = o.HeapPerHost is { } h ? Math.Round(h) : null,
                ["rss_bytes_per_host"] = Math.Round(o.PerHost(o.Hosts)),
                ["register_s"] = Math.Round(o.RegisterSeconds, 1),
                ["registrations_in_flight"] = ConcurrencyFor(o.Hosts),
                ["heap_mib_before"] = o.HeapBefore is { } b ? Math.Round(b.LiveBytes / 1048576.0, 1) : null,
                ["heap_mib_after"] = o.HeapAfter is { } a ? Math.Round(a.LiveBytes / 1048576.0, 1) : null,
            });
        }

        var perHost = shipped.PerHost(Hosts);
        var heapPerHost = shipped.HeapPerHost;
        var latencies = shipped.LatencyMs;
        var top = TopTypes(shipped);
        return new BenchSection(
            "memory — the server process with 5,000 simulated hosts registered through the API",
            [
                new("server_bytes_per_host", Math.Round(perHost), "B/host", string.Create(ci, $"≤ 10,000 target: (settled RSS after − idle RSS before) / {Hosts:N0}, server as shipped ({gc})"), perHost <= 10_000),
                new("server_heap_bytes_per_host", heapPerHost is { } hp ? Math.Round(hp) : 0, "B/host", "live managed heap (dotnet-gcdump: after a full blocking GC) after − before, per host", heapPerHost is { } hq ? hq <= 10_000 : null),
                new("server_rss_before_mib", Math.Round(shipped.Before.Median / 1048576.0, 1), "MiB", "idle, one warm-up host registered, median of 5 samples", null),
                new("server_rss_after_mib", Math.Round(shipped.After.Median / 1048576.0, 1), "MiB", string.Create(ci, $"{Hosts:N0} hosts more, settled {SettleSeconds} s, median of 5 samples"), null),
                new("server_rss_peak_mib", Math.Round(shipped.Peak / 1048576.0, 1), "MiB", "VmHWM: the highest resident set of the run", null),
                new("server_bytes_per_host_other_gc", other is null ? 0 : Math.Round(other.PerHost(Hosts)), "B/host", other is null ? "not run (BENCH_MEMORY_OTHER_GC=0)" : string.Create(ci, $"the same measurement with DOTNET_gcServer={otherGc}: {other.Before.Median / 1048576.0:0.0} → {other.After.Median / 1048576.0:0.0} MiB (peak {other.Peak / 1048576.0:0.0} MiB)"), null),
                new("host_registrations_per_s", Math.Round(Hosts / shipped.RegisterSeconds), "hosts/s", string.Create(ci, $"POST /hosts, {ConcurrencyFor(Hosts)} in flight; p50 {Percentile(latencies, 0.5):0.0} ms, p99 {Percentile(latencies, 0.99):0.0} ms"), null),
                new("server_cpu_ms_per_registration", Math.Round(shipped.CpuSeconds * 1000 / Hosts, 2), "ms", "the server process's CPU (user + system) per registration", null),
            ],
            new Dictionary<string, string>
            {
                ["hosts"] = string.Create(ci, $"{Hosts:N0} simulated hosts: topology given (2 NUMA × 24 cores × 2 threads, 192 GiB per node), 2 disks /dev/sim-N-a|b, watermark minReady 0, engine tcp://sim-N.invalid:2375 (a described host's engine is not asked for the image at registration: its first answered heartbeat asks)"),
                ["server"] = string.Create(ci, $"DbProvisioner.Server as built ({gc}), own meta DB each run, healthy in {shipped.StartSeconds:0.0} s; Reconciliation:Interval and HostHealth:Interval 1 day (their start-up rounds ran with no hosts: no engine is contacted), Log:MinimumLevel Warning"),
                ["measure"] = string.Create(ci, $"VmRSS of /proc/<pid>/status, 5 samples 1 s apart after {SettleSeconds} s idle; before: {Fmt(shipped.Before.Samples)} MiB; after: {Fmt(shipped.After.Samples)} MiB; right after the last registration {shipped.RightAfter / 1048576.0:0.0} MiB. Live heap: dotnet-gcdump (forces a full blocking GC) after the RSS samples, minus the same with only the warm-up host: {Mib(shipped.HeapBefore)} → {Mib(shipped.HeapAfter)} MiB"),
                ["other_gc"] = other is null ? "not run" : string.Create(ci, $"DOTNET_gcServer={otherGc}: before {Fmt(other.Before.Samples)} MiB; after {Fmt(other.After.Samples)} MiB; registered in {other.RegisterSeconds:0.0} s"),
                ["scale_curve"] = string.Join("; ", curve.Select(o => string.Create(ci, $"{o.Hosts:N0} hosts: {o.HeapPerHost ?? double.NaN:N0} B/host heap, {o.PerHost(o.Hosts):N0} B/host RSS, {o.RegisterSeconds:0.0} s ({ConcurrencyFor(o.Hosts)} in flight)"))),
                ["top_types"] = top,
                ["unreachable_engine_log_lines"] = (shipped.EngineLogLines + (other?.EngineLogLines ?? 0)).ToString(ci),
                ["machine_load"] = "load average " + LoadAverage(),
            },
            new System.Text.Json.Nodes.JsonObject { ["scale_curve"] = curveJson });
    }

    /// <summary>Dumps are kept beside results.json (artifacts/bench), named by the run's database, for `dotnet-gcdump report`.</summary>
    private static string DumpPath(BenchServer server, string when)
    {
        var folder = Path.Combine("artifacts", "bench");
        Directory.CreateDirectory(folder);
        return Path.GetFullPath(Path.Combine(folder, $"memory-{server.Database}-{when}.gcdump"));
    }

    private static string Mib(MemoryHeap.Heap? heap) => heap is null ? "n/a" : (heap.LiveBytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>The types whose live bytes grew most from the idle dump to the loaded one, per host.</summary>
    private static string TopTypes(Outcome o)
    {
        if (o.HeapBefore is not { } before || o.HeapAfter is not { } after) return "dotnet-gcdump not installed";
        var idle = before.Types.GroupBy(static t => t.Type).ToDictionary(static g => g.Key, static g => g.Sum(static t => t.Bytes), StringComparer.Ordinal);
        return string.Join("; ", after.Types.GroupBy(static t => t.Type)
            .Select(g => (Type: g.Key, Grown: g.Sum(static t => t.Bytes) - idle.GetValueOrDefault(g.Key)))
            .OrderByDescending(static t => t.Grown).Take(12)
            .Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Type} {t.Grown / (double)o.Hosts:N0} B/host")));
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

    private static async Task<Outcome> MeasureAsync(IReadOnlyDictionary<string, string> environment, int hosts)
    {
        var ci = CultureInfo.InvariantCulture;
        // Reconciliation would walk the fake engines one host at a time (each unreachable after its retries), so how
        // many reconciler grains exist when RSS is read would depend on timing; one round runs at start (no hosts yet).
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Reconciliation:Interval"] = "1.00:00:00",
            // Heartbeats would probe every unreachable engine each 5 s (retries, a Docker client each): the figure is the hosts' own.
            ["HostHealth:Interval"] = "1.00:00:00",
            ["Log:MinimumLevel"] = "Warning",
        };
        await using var server = await BenchServer.StartAsync("memory", settings, environment);
        Console.Error.WriteLine(string.Create(ci, $"  healthy after {server.StartSeconds:0.0} s (pid {server.ProcessId}, database {server.Database})"));

        // Warm the API path (JIT of registration, validation, grain storage) with one host that is counted in neither figure.
        await server.Admin.PostAsync<HostView>("hosts", Registration("sim-warm", 0), HttpStatusCode.Created);
        var before = await SettledRssAsync(server);
        var heapBefore = await MemoryHeap.CollectAsync(server.ProcessId, DumpPath(server, "before"));
        Console.Error.WriteLine(string.Create(ci, $"  idle RSS {before.Median / 1048576.0:0.0} MiB (samples {Fmt(before.Samples)}), live heap {Mib(heapBefore)} MiB"));

        var latencies = new double[hosts];
        var cpu0 = server.CpuTime();
        var t0 = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(0, hosts), new ParallelOptions { MaxDegreeOfParallelism = ConcurrencyFor(hosts) }, async (i, _) =>
        {
            var s = Stopwatch.GetTimestamp();
            await server.Admin.PostAsync<HostView>("hosts", Registration(HostId(i), i), HttpStatusCode.Created);
            latencies[i] = Stopwatch.GetElapsedTime(s).TotalMilliseconds;
        });
        var registerSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var cpuSeconds = (server.CpuTime() - cpu0).TotalSeconds;
        var rightAfter = server.RssBytes();
        Console.Error.WriteLine(string.Create(ci, $"  {hosts:N0} hosts registered in {registerSeconds:0.0} s ({hosts / registerSeconds:N0}/s), RSS right after {rightAfter / 1048576.0:0.0} MiB"));

        var listed = await server.Admin.GetAsync<List<HostSummary>>("hosts");
        var simulated = listed.Count(static h => h.Pool == Pool) - 1;
        if (simulated != hosts) throw new InvalidOperationException($"GET /hosts lists {simulated} simulated hosts, {hosts} were registered");

        var after = await SettledRssAsync(server);
        var heapAfter = await MemoryHeap.CollectAsync(server.ProcessId, DumpPath(server, "after"));
        Console.Error.WriteLine(string.Create(ci, $"  settled RSS {after.Median / 1048576.0:0.0} MiB (samples {Fmt(after.Samples)}): {(after.Median - before.Median) / (double)hosts:N0} B/host; live heap {Mib(heapAfter)} MiB: {((heapAfter?.LiveBytes ?? 0) - (heapBefore?.LiveBytes ?? 0)) / (double)hosts:N0} B/host"));
        if (heapAfter is not null) Console.Error.WriteLine("  top types: " + string.Join("; ", heapAfter.Types.OrderByDescending(static t => t.Bytes).Take(15).Select(static t => $"{t.Type} {t.Bytes / 1048576.0:0.0} MiB ×{t.Count}")));
        Array.Sort(latencies);
        return new Outcome(hosts, server.Database, server.StartSeconds, before, after, rightAfter, ReadStatusBytes(server.ProcessId, "VmHWM:"),
            registerSeconds, cpuSeconds, latencies, server.CountLogLines(".invalid"), heapBefore, heapAfter);
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
