using System.Globalization;
using System.Text.Json.Nodes;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// Issue 12's figure: the grain benchmark's durable stream (meta DB) on an in-process cluster of 1, 2 and
/// 3 silos, grains spread by Orleans' placement and called through the cluster's client. Every silo runs
/// in this one process on the same cores, so more silos add cross-silo hops, not CPU.
/// </summary>
internal static class SiloBenchmark
{
    /// <summary>Timed passes per silo count, after one warm-up on the same cluster.</summary>
    private static int Runs => GrainBenchmark.EnvInt("BENCH_SILO_RUNS", 2);

    /// <summary>
    /// The measured silo counts in the order they run (BENCH_SILO_ORDER): the first cluster of a process ran up to 3× slower
    /// than the same one later, and load drifts, so the default goes there and back (1, 2, 3, 3, 2, 1) after an uncounted warm-up.
    /// </summary>
    private static short[] Order =>
        Environment.GetEnvironmentVariable("BENCH_SILO_ORDER") is { Length: > 0 } order
            ? [.. order.Split(',').Select(static s => short.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture)).Where(static n => n is >= 1 and <= 3)]
            : [1, 2, 3, 3, 2, 1];

    public static BenchSection Run() => RunAsync().GetAwaiter().GetResult();

    private static async Task<BenchSection> RunAsync()
    {
        var ci = CultureInfo.InvariantCulture;
        var metrics = new List<BenchMetric>();
        var settings = new Dictionary<string, string>();
        var runsJson = new JsonObject();
        var violations = 0;
        var rates = new SortedDictionary<short, List<double>>();
        var slots = Order.Select(static n => (Silos: n, Counted: true)).Prepend(((short)3, false)).ToList();
        for (var slot = 0; slot < slots.Count; slot++)
        {
            var (silos, counted) = slots[slot];
            var name = counted ? string.Create(ci, $"{slot}_silos_{silos}") : "warm_up_silos_3";
            Console.Error.WriteLine(string.Create(ci, $"silos: {silos} silo(s), meta database storage, {Runs} timed runs{(counted ? "" : ", process warm-up (not counted)")}"));
            var m = await GrainBenchmark.MeasureAsync(durable: true, silos, Runs);
            foreach (var v in m.ViolationSamples) Console.Error.WriteLine("  violation: " + v);
            violations += m.Violations;
            if (counted) (rates.TryGetValue(silos, out var list) ? list : rates[silos] = []).AddRange(m.Runs.Select(static r => r.Placed / r.Seconds));
            settings[name] = string.Join("; ", m.Runs.Select((r, i) => string.Create(ci,
                $"run {i + 1}: {r.Placed:N0} placed, {r.Refused:N0} refused in {r.Seconds:0.00} s = {r.Placed / r.Seconds:N0}/s, p50 {Percentile(r.LatencyMs, 0.5):0.00} ms, p99 {Percentile(r.LatencyMs, 0.99):0.00} ms, {r.CallsPerPlacement:0.00} calls")))
                + string.Create(ci, $"; hosts registered in {m.RegisterSeconds:0.0} s; {m.Notes}");
            runsJson[name] = new JsonArray([.. m.Runs.Select(r => (JsonNode)new JsonObject
            {
                ["placed"] = r.Placed,
                ["refused"] = r.Refused,
                ["seconds"] = Math.Round(r.Seconds, 3),
                ["placements_per_s"] = Math.Round(r.Placed / r.Seconds, 1),
                ["p50_ms"] = Math.Round(Percentile(r.LatencyMs, 0.5), 2),
                ["p99_ms"] = Math.Round(Percentile(r.LatencyMs, 0.99), 2),
                ["cpu_ms_per_placement"] = Math.Round(r.CpuMsPerPlacement, 3),
                ["calls_per_placement"] = Math.Round(r.CallsPerPlacement, 2),
            })]);
        }
        var medians = rates.ToDictionary(static kv => kv.Key, static kv => Median([.. kv.Value]));
        foreach (var (silos, median) in medians)
        {
            var comparedWith = silos == 1 || !medians.TryGetValue(1, out var one)
                ? "durable; the grains section's grain_placements_per_s is the same one-silo set-up (its own warm-up and runs)"
                : string.Create(ci, $"{median / one:P0} of one silo's, on the same {Environment.ProcessorCount} cores");
            metrics.Add(new(string.Create(ci, $"placements_per_s_{silos}"), Math.Round(median), "placements/s", string.Create(ci, $"median of {rates[silos].Count} runs ({string.Join(", ", rates[silos].Select(r => r.ToString("N0", ci)))}); {comparedWith}"), null));
        }
        metrics.Add(new("violations", violations, "count", "must be 0: recomputed from host and shard views after every cluster's runs, warm-up included (as in grains)", violations == 0));

        var shards = GrainBenchmark.EnvInt("BENCH_GRAIN_SHARDS", 2000);
        settings["stream"] = string.Create(ci,
            $"the grains section's durable stream: 5,000 simulated hosts, {shards:N0} shards × 3 members (BENCH_GRAIN_SHARDS), {GrainBenchmark.EnvInt("BENCH_GRAIN_CONCURRENCY", 64)} shards in flight; per cluster a fresh throwaway meta database, the first 10% placed as warm-up, then {Runs} timed passes (BENCH_SILO_RUNS) of the other 90% under fresh shard names");
        settings["order"] = "a 3-silo cluster warms the process up, not counted; then clusters of " + string.Join(", ", Order) + " silos (BENCH_SILO_ORDER), each row above is one cluster";
        settings["cluster"] = "Orleans InProcessTestCluster with 1, 2, 3 silos in this process, the cluster's client; Orleans' default (random) placement spreads the grains";
        settings["cores"] = string.Create(ci, $"{Environment.ProcessorCount} cores shared by every silo, the client and MariaDB: more silos cannot mean more throughput here; the figure shows what cross-silo hops cost");
        settings["machine_load"] = "load average " + LoadAverage() + " at the end";
        return new BenchSection("silos — the grains' durable stream on 1, 2 and 3 in-process silos", metrics, settings, new JsonObject { ["runs"] = runsJson });
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static double Percentile(double[] values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1))];
    }

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
}
