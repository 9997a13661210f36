using System.Diagnostics;
using System.Globalization;
using DbProvisioner.Domain.Cpu;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// The pure-Domain scheduler on 5,000 simulated hosts (2 NUMA × 24 cores × 2 threads, 3 zones ×
/// 3 racks), one thread. One seeded stream of 3-member shards (1–16 CPUs, required or preferred,
/// hard rack spread) is placed until the fleet reaches 90% of its cores, three times: with early
/// stop, with a full scan, and with a first-fit baseline. Each placement is the whole decision:
/// filter and score the summaries, reserve on the host (allocator, disk, port), refresh its summary.
/// </summary>
internal static class SchedulerBenchmark
{
    private const int Hosts = 5000;
    private const int Seed = 20_240_601;
    private const double TargetFill = 0.90;
    // 2% of 5,000 = 100 feasible hosts scored: kube-scheduler's floor (minFeasibleNodesToFind).
    private static readonly PlacementOptions EarlyStop = new(PercentageOfHostsToScore: 2);
    private static readonly SpreadRule HardRack = new(SpreadDomain.Rack, 1, SpreadMode.Hard);
    // A thread CPU clock read costs 1.4–5 µs (a syscall; more in a VM) and counts in the thread's own CPU: only every
    // 32nd decision is timed on it, so the reads add well under 0.3 µs per placement to the rate.
    internal const int CpuClockEvery = 32;

    private sealed record Outcome(double ScannedPerDecision, double SchedulingShare, int Placed, int Refused, double Seconds, double[] DecisionMicros, int Preferred, int PreferredSingleNode, int Violations, double Fill,
        double CpuSeconds, int GcCount, double GcPauseSeconds, double[] DecisionCpuMicros);

    public static BenchSection Run()
    {
        var topology = TopologyBuilder.Uniform(2, 24, 2, 196_608);
        var fleet = new FleetBuilder(Hosts, topology, Zones: 3, RacksPerZone: 3, DisksPerHost: 24, DiskSizeGiB: 1024, SeededDisksPerHost: 8, PortsPerHost: 64);

        var warmUps = WarmUp(topology);
        // The small warm-up never reaches a near-full 5,000-host fleet, whose long scans tiered PGO recompiles during the
        // first such run (it came out 1.5–2× slower than the next two): one uncounted run of the measured stream first.
        Console.Error.WriteLine("scheduler: early stop, one uncounted run of the measured stream (JIT warm-up)");
        var uncounted = Place(fleet, EarlyStop, firstFit: false);
        Console.Error.WriteLine("scheduler: early stop, three runs of the same stream (the median run is reported)");
        var earlyRuns = Enumerable.Range(0, 3).Select(_ => Place(fleet, EarlyStop, firstFit: false)).ToList();
        var early = earlyRuns.OrderBy(static r => double.IsNaN(r.CpuSeconds) ? r.Seconds : r.CpuSeconds).ElementAt(1);
        Console.Error.WriteLine("scheduler: early stop, kube-scheduler's adaptive share");
        var adaptive = Place(fleet, PlacementOptions.Default, firstFit: false);
        Console.Error.WriteLine("scheduler: full scan");
        var full = Place(fleet, PlacementOptions.FullScan, firstFit: false);
        Console.Error.WriteLine("scheduler: first fit");
        var first = Place(fleet, PlacementOptions.FullScan, firstFit: true);

        var load = LoadAverage();
        var earlyWallRate = early.Placed / early.Seconds;
        // One core's rate: the loop's own CPU time (decisions, request generation, GC on this thread), so
        // that other work on a shared machine does not count against it. Wall time where that clock is missing.
        var earlyRate = Rate(early);
        var fullRate = Rate(full);
        var sorted = early.DecisionMicros.Order().ToArray();
        var sortedCpu = early.DecisionCpuMicros.Order().ToArray();
        var share = (double)early.PreferredSingleNode / Math.Max(1, early.Preferred);
        var fullShare = (double)full.PreferredSingleNode / Math.Max(1, full.Preferred);
        var ffShare = (double)first.PreferredSingleNode / Math.Max(1, first.Preferred);
        var violations = earlyRuns.Sum(static r => r.Violations) + full.Violations + adaptive.Violations;
        var adaptiveRate = Rate(adaptive);
        var adaptiveShare = (double)adaptive.PreferredSingleNode / Math.Max(1, adaptive.Preferred);
        var ci = CultureInfo.InvariantCulture;
        var earlyRates = earlyRuns.Select(Rate).Order().ToArray();
        var spread = (earlyRates[^1] - earlyRates[0]) / earlyRates[earlyRates.Length / 2];
        var (curve, curveJson) = SchedulerScaleCurve.Run();
        Console.Error.WriteLine("scheduler: host reservation + summary refresh on one host (the grain path's Domain share)");
        var hostDecision = HostDecision(topology, 200_000);

        return new BenchSection(
            "scheduler — pure Domain, one thread, 5,000 simulated hosts",
            [
                new("domain_placements_per_s", Math.Round(earlyRate), "placements/s", "≥ 100,000 target, issue 13 (per second of this thread's CPU); kube-scheduler CI floor at 5,000 nodes: 460 pods/s with topology spreading, 680 basic", earlyRate >= 100_000),
                new("domain_placements_per_s_wall", Math.Round(earlyWallRate), "placements/s", string.Create(ci, $"same run per second of wall-clock decision time; machine load average {load} during the run"), null),
                new("domain_placements_per_s_adaptive", Math.Round(adaptiveRate), "placements/s", string.Create(ci, $"early stop at kube-scheduler's adaptive share (10% of 5,000 = 500 feasible hosts); single-NUMA share {adaptiveShare:0.0000}"), null),
                new("domain_full_scan_placements_per_s", Math.Round(fullRate), "placements/s", string.Create(ci, $"same stream without early stop ({earlyRate / fullRate:0.0}× slower than early stop)"), null),
                new("decision_p50_us", Math.Round(Percentile(sorted, 0.50), 2), "µs", "one placement with early stop: filter + score + host reservation + summary refresh", null),
                new("decision_p99_us", Math.Round(Percentile(sorted, 0.99), 2), "µs", "≤ 50 target: same, 99th percentile on the wall clock (GC on this thread and preemption by other load included)", Percentile(sorted, 0.99) <= 50),
                new("decision_p99_us_cpu", Math.Round(Percentile(sortedCpu, 0.99), 2), "µs", string.Create(ci, $"one decision in {CpuClockEvery} on this thread's CPU clock: other load excluded, but each sample carries the clock's own reads (1.4–5 µs each here); p50 {Percentile(sortedCpu, 0.50):0.0} µs"), null),
                new("host_decision_us", Math.Round(hostDecision.MeanUs, 2), "µs", string.Create(ci, $"HostReservations.Reserve + HostCapacity.From on one 2 NUMA × 24 × 2 host with 24 disks, this thread's CPU per reservation (the grain path's Domain share); p99 {hostDecision.P99Us:0.0} µs, {hostDecision.BytesPerOp:N0} B allocated per reservation"), null),
                new("domain_runs_spread", Math.Round(spread, 3), "share", "(fastest − slowest) / median of the three early-stop runs above: steady state means ≤ 0.10", spread <= 0.10),
                new("violations", violations, "count", "must be 0 (double-assigned CPUs/disks/ports, memory over-commit, broken hard spread, required spanning nodes), every scheduler run", violations == 0),
                new("single_numa_share", Math.Round(share, 4), "share", string.Create(ci, $"preferred requests on one NUMA node, fill to 90%; vs first_fit_single_numa_share (full scan: {fullShare:0.0000})"), share > ffShare),
                new("first_fit_single_numa_share", Math.Round(ffShare, 4), "share", "baseline: first host in order with room, lowest free cores, same requests", null),
            ],
            new Dictionary<string, string>
            {
                ["hosts"] = string.Create(ci, $"{Hosts:N0} × 2 NUMA × 24 cores × 2 threads, 192 GiB per node, 24 disks, 64 ports; 3 zones × 3 racks"),
                ["requests"] = "3-member shards, hard rack spread (max 1 per rack), 1–16 CPUs, 3 GiB per CPU, required/preferred 50/50, seed " + Seed.ToString(ci),
                ["early_stop"] = string.Create(ci, $"{EarlyStop.PercentageOfHostsToScore}% of the pool: {EarlyStop.FeasibleHostsToFind(Hosts):N0} feasible hosts scored per decision, rotating start (adaptive default: {PlacementOptions.Default.FeasibleHostsToFind(Hosts):N0})"),
                ["placed"] = string.Create(ci, $"early stop {early.Placed:N0} (refused {early.Refused}), full scan {full.Placed:N0} (refused {full.Refused}), first fit {first.Placed:N0} (refused {first.Refused}); fill reached {early.Fill:P1} / {full.Fill:P1} / {first.Fill:P1}"),
                ["time_split"] = string.Create(ci, $"early stop: {early.SchedulingShare:P0} filter and score ({early.ScannedPerDecision:N0} hosts scanned per decision on average), the rest host reservation and summary refresh; full scan: {full.SchedulingShare:P0} filter and score"),
                ["runtime"] = $"{Environment.Version}, {Environment.ProcessorCount} logical CPUs, one thread used, workstation non-concurrent GC (collections run on the measured thread)",
                ["gc"] = string.Create(ci, $"early stop (median run): {early.GcCount} collections, {early.GcPauseSeconds:0.000} s paused; thread CPU {early.CpuSeconds:0.000} s vs {early.Seconds:0.000} s wall in decisions"),
                ["early_stop_runs"] = string.Join("; ", earlyRuns.Select(r => string.Create(ci, $"{r.Placed / r.CpuSeconds:N0}/s CPU, {r.Placed / r.Seconds:N0}/s wall, decision CPU p99 {Percentile([.. r.DecisionCpuMicros.Order()], 0.99):0.0} µs"))),
                ["clock"] = string.Create(ci, $"every decision is timed on the wall clock (Stopwatch, ~0.1 µs a read); one in {CpuClockEvery} also on this thread's CPU clock (two clock_gettime calls, counted in the rate)"),
                ["warm_up"] = "same stream on 300 hosts, 3,000 placements a round, until two rounds in a row agree within 5 % (at most 10): " + string.Join(", ", warmUps.Select(r => string.Create(ci, $"{r:N0}/s")))
                    + string.Create(ci, $"; then one uncounted early-stop run on 5,000 hosts: {Rate(uncounted):N0}/s"),
                ["scale_curve"] = string.Join("; ", curve.Select(p => string.Create(ci,
                    $"{p.Hosts:N0} hosts {p.Options} ({p.FeasibleScored:N0} scored): {p.PlacementsPerS:N0}/s (runs {string.Join(" / ", p.Runs.Select(static r => r.ToString("N0", CultureInfo.InvariantCulture)))}), p99 {p.P99Us:0.0} µs, {p.BytesPerHost:N0} B/host"))),
            },
            curveJson);
    }

    /// <summary>
    /// The grain path's Domain share: HostReservations.Reserve + HostCapacity.From on one host of the fleet's shape,
    /// filled with 1–4-CPU instances (half required, half preferred) until a reservation is refused, then again from empty.
    /// Returns this thread's CPU µs per reservation, the 99th percentile of every 32nd (clock reads included) and the bytes allocated per reservation.
    /// </summary>
    private static (double MeanUs, double P99Us, double BytesPerOp) HostDecision(HostTopology topology, int reservations)
    {
        var empty = new FleetBuilder(1, topology, DisksPerHost: 24, DiskSizeGiB: 1024, SeededDisksPerHost: 8, PortsPerHost: 64).Build()[0];
        var rng = new Random(Seed);
        var micros = new List<double>(reservations / CpuClockEvery + 1);
        var requests = new InstanceRequest[64];
        var done = 0;
        var cpu0 = ThreadClock.Seconds();
        var bytes0 = GC.GetAllocatedBytesForCurrentThread();
        long requestBytes = 0;
        while (done < reservations)
        {
            var host = empty;
            var b = GC.GetAllocatedBytesForCurrentThread();
            for (var k = 0; k < requests.Length; k++)
            {
                var cpus = rng.Next(1, 5);
                requests[k] = new InstanceRequest(string.Create(CultureInfo.InvariantCulture, $"i{k}"), cpus, cpus * 3072L, k % 2 == 0 ? NumaPolicy.Required : NumaPolicy.Preferred, 200, "nvme");
            }
            requestBytes += GC.GetAllocatedBytesForCurrentThread() - b;
            for (var k = 0; k < requests.Length && done < reservations; k++)
            {
                var timed = done % CpuClockEvery == 0;
                var c0 = timed ? ThreadClock.Seconds() : 0;
                var r = HostReservations.Reserve(host, requests[k]);
                if (!r.Succeeded) break;
                host = r.State;
                GC.KeepAlive(HostCapacity.From(host));
                if (timed) micros.Add((ThreadClock.Seconds() - c0) * 1_000_000.0);
                done++;
            }
        }
        var cpu = ThreadClock.Seconds() - cpu0;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - bytes0 - requestBytes;
        return (cpu * 1_000_000.0 / reservations, Percentile([.. micros.Order()], 0.99), (double)bytes / reservations);
    }

    /// <summary>Rounds of the same stream until the JIT's tiers settle: two rounds in a row within 5 % of each other.</summary>
    private static List<double> WarmUp(HostTopology topology)
    {
        var rates = new List<double>();
        for (var round = 0; round < 10; round++)
        {
            Console.Error.WriteLine($"scheduler: warming up, round {round + 1}");
            rates.Add(Rate(Place(new FleetBuilder(300, topology), PlacementOptions.Default, firstFit: false, maxPlacements: 3000)));
            if (rates.Count >= 2 && Math.Abs(rates[^1] - rates[^2]) <= 0.05 * Math.Max(rates[^1], rates[^2])) break;
        }
        return rates;
    }

    private static double Rate(Outcome o) => o.Placed / (double.IsNaN(o.CpuSeconds) ? o.Seconds : o.CpuSeconds);

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
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static Outcome Place(FleetBuilder builder, PlacementOptions options, bool firstFit, int maxPlacements = int.MaxValue)
    {
        var hosts = builder.Build();
        var summaries = new PlacementIndex(hosts.Select(HostCapacity.From)); // rows rewritten in place as hosts change
        var totalCores = hosts.Sum(static h => h.Cpu.Topology.PhysicalCoreCount);
        var usedCores = 0L;
        var rng = new Random(Seed);
        var latencies = new List<double>(64_000);
        var cpuLatencies = new List<double>(64_000);
        var shards = new List<ShardContext>();
        int placed = 0, refused = 0, preferred = 0, single = 0, start = 0, next = 0;
        var elapsed = 0L;
        var scheduling = 0L;
        var scanned = 0L;
        // The fleet was just built: collect it into the old generation now, so that its promotion is
        // not charged to the first placements (as BenchmarkDotNet collects before each run).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var cpu0 = ThreadClock.Seconds();
        var gc0 = GC.CollectionCount(0);
        var pause0 = GC.GetTotalPauseDuration();

        while (usedCores < totalCores * TargetFill && placed < maxPlacements)
        {
            var cpus = rng.Next(1, 17);
            var numa = rng.Next(2) == 0 ? NumaPolicy.Required : NumaPolicy.Preferred;
            var shard = new ShardContext("bench", $"s{next++}", HardRack, []);
            for (var m = 0; m < 3; m++)
            {
                var instance = new InstanceRequest($"{shard.Shard}-{m}", cpus, cpus * 3072L, numa, 200, "nvme");
                var request = new PlacementRequest(instance, "general", shard);
                var timed = (latencies.Count & (CpuClockEvery - 1)) == 0;
                var c0 = timed ? ThreadClock.Seconds() : 0;
                var t0 = Stopwatch.GetTimestamp();
                int index;
                if (firstFit) index = FirstFitHost(summaries, request);
                else
                {
                    var d = Scheduler.Place(summaries, request, options, start);
                    start = d.NextStartIndex;
                    scanned += d.HostsScanned;
                    index = d.HostIndex;
                }
                var tScheduled = Stopwatch.GetTimestamp();
                scheduling += tScheduled - t0;
                CpuAssignment? assignment = null;
                if (index >= 0)
                {
                    var r = firstFit ? FirstFitReserve(hosts[index], instance) : HostReservations.Reserve(hosts[index], instance);
                    if (r.Succeeded)
                    {
                        hosts[index] = r.State;
                        summaries[index] = HostCapacity.From(r.State);
                        assignment = r.Reservation!.Cpu;
                    }
                }
                var t1 = Stopwatch.GetTimestamp();
                if (timed) cpuLatencies.Add((ThreadClock.Seconds() - c0) * 1_000_000.0);
                elapsed += t1 - t0;
                latencies.Add((t1 - t0) * 1_000_000.0 / Stopwatch.Frequency);
                if (assignment is null)
                {
                    refused++;
                    continue;
                }
                placed++;
                usedCores += assignment.Cpus.Count / 2;
                if (numa == NumaPolicy.Preferred)
                {
                    preferred++;
                    if (assignment.CpuNodes.Count == 1) single++;
                }
                var h = hosts[index];
                shard = shard with { Members = [.. shard.Members, new MemberLocation(instance.InstanceId, h.HostId, h.Zone, h.Rack)] };
            }
            shards.Add(shard);
        }
        var cpuSeconds = ThreadClock.Seconds() - cpu0;
        var gcs = GC.CollectionCount(0) - gc0;
        var pause = (GC.GetTotalPauseDuration() - pause0).TotalSeconds;
        var cpuSorted = cpuLatencies.Order().ToArray();
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {placed:N0} placed in {(double)elapsed / Stopwatch.Frequency:0.000} s of decisions (wall); thread CPU {cpuSeconds:0.000} s for the whole loop ({placed / cpuSeconds:N0}/s); decision CPU p50 {Percentile(cpuSorted, 0.5):0.0} µs p99 {Percentile(cpuSorted, 0.99):0.0} µs; {gcs} GCs, {pause:0.000} s paused"));
        return new Outcome((double)scanned / Math.Max(1, latencies.Count), (double)scheduling / Math.Max(1, elapsed), placed, refused, (double)elapsed / Stopwatch.Frequency, [.. latencies], preferred, single,
            CountViolations(hosts, shards), (double)usedCores / totalCores, cpuSeconds, gcs, pause, [.. cpuLatencies]);
    }

    private static int CountViolations(HostState[] hosts, List<ShardContext> shards)
    {
        var n = hosts.Sum(static h => HostReservations.Validate(h).Count);
        foreach (var s in shards)
            n += s.Members.GroupBy(m => s.Spread.KeyOf(m.HostId, m.Zone, m.Rack)).Count(g => g.Count() > s.Spread.MaxPerDomain);
        return n;
    }

    /// <summary>The baseline: the first host, from the start of the pool, that passes the same filters.</summary>
    private static int FirstFitHost(PlacementIndex summaries, PlacementRequest request)
    {
        for (var i = 0; i < summaries.Count; i++)
            if (Filters.Check(summaries[i], request) == FilterCode.Fits) return i;
        return -1;
    }

    /// <summary>The baseline's allocation: the lowest free whole cores (one node for required, anywhere for preferred).</summary>
    private static ReservationResult FirstFitReserve(HostState host, InstanceRequest request)
    {
        var state = host.Cpu;
        var byNode = state.FreeCoresByNode();
        var cores = new List<(int Node, PhysicalCore Core)>();
        for (var n = 0; n < byNode.Count && cores.Sum(static c => c.Core.Cpus.Count) < request.Cpus; n++)
        {
            var nodeId = state.Topology.Nodes[n].Id;
            if (request.Numa == NumaPolicy.Required)
            {
                var need = (request.Cpus + 1) / 2;
                if (byNode[n].Count < need || state.FreeMemoryMiB(nodeId) < request.MemoryMiB) continue;
                cores.AddRange(byNode[n].Take(need).Select(c => (nodeId, c)));
                break;
            }
            foreach (var c in byNode[n])
            {
                if (cores.Sum(static x => x.Core.Cpus.Count) >= request.Cpus) break;
                cores.Add((nodeId, c));
            }
        }
        if (cores.Sum(static c => c.Core.Cpus.Count) < request.Cpus) return new(host, null, "first fit: no room");
        var nodes = cores.Select(static c => c.Node).Distinct().Order().ToList();
        var memory = new List<NodeMemory>();
        var left = request.MemoryMiB;
        foreach (var n in nodes.Concat(state.Topology.Nodes.Select(static x => x.Id).Except(nodes)))
        {
            var take = Math.Min(left, state.FreeMemoryMiB(n));
            if (take > 0) memory.Add(new NodeMemory(n, take));
            left -= take;
        }
        if (left > 0) return new(host, null, "first fit: no memory");
        var cpus = cores.Aggregate(CpuSet.Empty, static (a, c) => a.Union(c.Core.Cpus));
        var assignment = new CpuAssignment(request.InstanceId, request.Cpus, request.Numa, cpus, nodes, [.. memory.OrderBy(static m => m.NodeId)]);
        var disk = host.Disks.Claim(request.InstanceId, request.DiskClass, request.DiskGiB);
        if (!disk.Succeeded) return new(host, null, disk.Reason);
        var used = host.PortsByInstance.Values.ToHashSet();
        var port = Enumerable.Range(host.Ports.First, host.Ports.Count).First(p => !used.Contains(p));
        var next = host with
        {
            Cpu = state with { Assignments = state.Assignments.Add(request.InstanceId, assignment) },
            Disks = disk.Pool,
            PortsByInstance = host.PortsByInstance.Add(request.InstanceId, port),
        };
        return new(next, new HostReservation(request.InstanceId, host.HostId, assignment, disk.Disk!, port), "");
    }
}
