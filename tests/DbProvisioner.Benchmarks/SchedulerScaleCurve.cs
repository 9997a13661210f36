using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using DbProvisioner.Api;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// How the pure decision's cost grows with the fleet: the same stream (3-member shards, hard rack spread, 1–16 CPUs)
/// placed on 1,000, 5,000 and 50,000 simulated hosts, a fixed number of placements each (the fleet stays far from
/// full, so only its size differs), with 2 % early stop, with kube-scheduler's adaptive share, and with the share capped at 100 feasible hosts. Retained bytes per
/// host are the Domain's own (host state + summary), measured around building the fleet.
/// </summary>
internal static class SchedulerScaleCurve
{
    public static readonly int[] Sizes = [1_000, 5_000, 50_000];
    // About a third of the smallest fleet's cores: every size places the same stream without running short.
    private const int Placements = 4_000;
    private const int Seed = 20_240_601;
    private static readonly SpreadRule HardRack = new(SpreadDomain.Rack, 1, SpreadMode.Hard);

    public sealed record Point(int Hosts, string Options, int FeasibleScored, double PlacementsPerS, double P99Us, double BytesPerHost, int Violations, IReadOnlyList<double> Runs, double[] CpuMicros);

    // Each point is the median of this many runs, each on a fresh fleet, all of them printed.
    private const int Runs = 3;

    public static (IReadOnlyList<Point> Points, JsonObject Json) Run()
    {
        var topology = TopologyBuilder.Uniform(2, 24, 2, 196_608);
        var points = new List<Point>();
        foreach (var hosts in Sizes)
        {
            foreach (var (name, options) in new[]
                     {
                         ("2%", new PlacementOptions(PercentageOfHostsToScore: 2)),
                         ("adaptive", PlacementOptions.Default),
                         ("100 at most", new PlacementOptions(PercentageOfHostsToScore: 2, MaxFeasibleHostsToScore: 100)),
                     })
            {
                var runs = new List<Point>();
                for (var r = 0; r < Runs; r++)
                {
                    runs.Add(Measure(hosts, name, options, topology));
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scheduler scale curve: {hosts:N0} hosts, {name}, run {r + 1}: {runs[^1].PlacementsPerS:N0}/s, p99 {runs[^1].P99Us:0.0} µs"));
                }
                var median = runs.OrderBy(static p => p.PlacementsPerS).ElementAt(Runs / 2);
                // The p99 over every run's decisions (12,000), not one run's 4,000.
                var all = runs.SelectMany(static p => p.CpuMicros).Order().ToArray();
                points.Add(median with { Violations = runs.Sum(static p => p.Violations), Runs = [.. runs.Select(static p => Math.Round(p.PlacementsPerS))], P99Us = P99(all) });
            }
        }

        var curve = new JsonArray();
        foreach (var p in points)
        {
            curve.Add(new JsonObject
            {
                ["hosts"] = p.Hosts,
                ["options"] = p.Options,
                ["feasible_hosts_scored"] = p.FeasibleScored,
                ["placements_per_s"] = Math.Round(p.PlacementsPerS),
                ["decision_p99_us"] = Math.Round(p.P99Us, 2),
                ["domain_bytes_per_host"] = Math.Round(p.BytesPerHost),
                ["violations"] = p.Violations,
                ["runs_placements_per_s"] = new JsonArray([.. p.Runs.Select(static r => JsonValue.Create(r))]),
            });
        }
        return (points, new JsonObject { ["scale_curve"] = curve });
    }

    private static double P99(double[] sorted) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(0.99 * sorted.Length) - 1)];

    private static Point Measure(int size, string name, PlacementOptions options, HostTopology topology)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var hosts = new FleetBuilder(size, topology, Zones: 3, RacksPerZone: 3, DisksPerHost: 24, DiskSizeGiB: 1024, SeededDisksPerHost: 8, PortsPerHost: 64).Build();
        var summaries = new PlacementIndex(hosts.Select(HostCapacity.From));
        var bytesPerHost = (double)(GC.GetTotalMemory(forceFullCollection: true) - before) / size;

        var rng = new Random(Seed);
        var latencies = new List<double>(Placements);
        var placed = 0;
        var start = 0;
        var next = 0;
        var violations = 0;
        var cpu0 = ThreadClock.Seconds();
        var wall = Stopwatch.StartNew();
        while (placed < Placements)
        {
            var cpus = rng.Next(1, 17);
            var numa = rng.Next(2) == 0 ? NumaPolicy.Required : NumaPolicy.Preferred;
            var shard = new ShardContext("bench", $"s{next++}", HardRack, []);
            for (var m = 0; m < 3 && placed < Placements; m++)
            {
                var instance = new InstanceRequest($"{shard.Shard}-{m}", cpus, cpus * 3072L, numa, 200, "nvme");
                var t0 = Stopwatch.GetTimestamp();
                var d = Scheduler.Place(summaries, new PlacementRequest(instance, "general", shard), options, start);
                start = d.NextStartIndex;
                if (d.HostIndex < 0) throw new InvalidOperationException($"refused on a fleet far from full: {d}");
                var r = HostReservations.Reserve(hosts[d.HostIndex], instance);
                if (!r.Succeeded) throw new InvalidOperationException($"the chosen host refused: {r.Reason}");
                hosts[d.HostIndex] = r.State;
                summaries[d.HostIndex] = HostCapacity.From(r.State);
                latencies.Add((Stopwatch.GetTimestamp() - t0) * 1_000_000.0 / Stopwatch.Frequency); // wall: a thread CPU clock read costs µs here
                placed++;
                var h = r.State;
                if (shard.Members.Any(x => x.Rack == h.Rack && x.Zone == h.Zone)) violations++;
                shard = shard with { Members = [.. shard.Members, new MemberLocation(instance.InstanceId, h.HostId, h.Zone, h.Rack)] };
            }
        }
        var cpu = ThreadClock.Seconds() - cpu0;
        var seconds = double.IsNaN(cpu) ? wall.Elapsed.TotalSeconds : cpu;
        var sorted = latencies.Order().ToArray();
        var p99 = P99(sorted);
        GC.KeepAlive(hosts);
        return new Point(size, name, options.FeasibleHostsToFind(size), placed / seconds, p99, bytesPerHost, violations, [], sorted);
    }
}
