using System.Collections.Immutable;
using DbProvisioner.Api;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Domain.Tests.Placement;

/// <summary>
/// The scheduler's fast scan must choose what the plain filter-then-score scan chooses: the same host, score,
/// hosts scanned and next start, decision after decision, while a fleet fills up to refusals.
/// </summary>
public class SchedulerPinningTests
{
    private static readonly object[] Cases =
    [
        new object[] { new PlacementOptions(PercentageOfHostsToScore: 2, MinFeasibleHostsToScore: 10), 11, false },
        new object[] { PlacementOptions.Default, 12, false },
        new object[] { PlacementOptions.FullScan, 13, false },
        new object[] { new PlacementOptions(MinFeasibleHostsToScore: 5, MaxFeasibleHostsToScore: 5), 14, false },
        new object[] { new PlacementOptions(PercentageOfHostsToScore: 2, MinFeasibleHostsToScore: 10), 15, true },
        new object[] { PlacementOptions.FullScan, 16, true },
    ];

    private static readonly ImmutableSortedDictionary<string, string> Gold = ImmutableSortedDictionary<string, string>.Empty.Add("tier", "gold");

    /// <summary>
    /// Every decision, on the summaries' array and on a <see cref="PlacementIndex"/> kept beside it, matches the plain scan.
    /// A mixed fleet adds hosts whose rows cannot describe them (another runtime, three disk classes) and hosts that
    /// every row field must rule in or out (cordoned, another pool, a second disk class, labels); the index's rows are
    /// rewritten in place after every reservation or assumption.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void Every_decision_matches_the_plain_scan_until_the_fleet_is_full(PlacementOptions options, int seed, bool mixed)
    {
        var topology = TopologyBuilder.Uniform(2, 8, 2, 65_536);
        var hosts = new FleetBuilder(120, topology, Zones: 3, RacksPerZone: 3, DisksPerHost: 12, SeededDisksPerHost: 3, PortsPerHost: 16).Build();
        HostCapacity Summary(int i, HostCapacity c) => mixed ? Mix(i, c) : c;
        var summaries = hosts.Select((h, i) => Summary(i, HostCapacity.From(h))).ToArray();
        var index = new PlacementIndex(summaries);
        var rng = new Random(seed);
        int start = 0, placed = 0, refused = 0;
        for (var s = 0; s < 600 && refused < 200; s++)
        {
            var spread = new SpreadRule((SpreadDomain)rng.Next(3), 1, rng.Next(3) == 0 ? SpreadMode.Soft : SpreadMode.Hard);
            var shard = new ShardContext("c", $"s{s}", spread, []);
            var cpus = rng.Next(1, 12);
            var numa = (NumaPolicy)rng.Next(4);
            var diskClass = mixed && rng.Next(6) == 0 ? "ssd" : "nvme";
            var labels = mixed && rng.Next(6) == 0 ? Gold : null;
            for (var m = 0; m < 3; m++)
            {
                var instance = new InstanceRequest($"s{s}-{m}", cpus, cpus * rng.Next(1, 5) * 1024L, numa, 100, diskClass, rng.Next(4) == 0 ? 512 : 0);
                var request = new PlacementRequest(instance, "general", shard, labels);
                var expected = PlainScan(summaries, request, options, start);
                var d = Scheduler.Place(summaries, request, options, start);
                var fromRows = Scheduler.Place(index, request, options, start);
                Assert.That((d.HostIndex, d.Score, d.HostsScanned, d.FeasibleHosts, d.NextStartIndex), Is.EqualTo(expected), $"seed {seed} shard {s} member {m}");
                Assert.That((fromRows.HostIndex, fromRows.Score, fromRows.HostsScanned, fromRows.FeasibleHosts, fromRows.NextStartIndex), Is.EqualTo(expected), $"index: seed {seed} shard {s} member {m}");
                start = d.NextStartIndex;
                if (d.HostIndex < 0) { refused++; continue; }
                var r = HostReservations.Reserve(hosts[d.HostIndex], instance);
                if (!r.Succeeded) { refused++; continue; }
                placed++;
                hosts[d.HostIndex] = r.State;
                // Now and then the index's own guess (as the placement grain assumes) instead of the host's summary.
                summaries[d.HostIndex] = mixed && s % 4 == 0 ? summaries[d.HostIndex].Assume(instance) : Summary(d.HostIndex, HostCapacity.From(r.State));
                index[d.HostIndex] = summaries[d.HostIndex];
                var h = r.State;
                shard = shard with { Members = [.. shard.Members, new MemberLocation(instance.InstanceId, h.HostId, h.Zone, h.Rack)] };
            }
        }
        Assert.That(placed, Is.GreaterThan(80), "the stream placed enough to fill the fleet");
        Assert.That(refused, Is.GreaterThan(0), "the stream ran the fleet into refusals");
    }

    // One host in nine of each kind; the rest as built.
    private static HostCapacity Mix(int i, HostCapacity c) => (i % 9) switch
    {
        1 => c with { Runtime = HostRuntimeKind.Kubernetes },
        2 => c with { Cordoned = true },
        3 => c with { Pool = "other" },
        4 => c with { ReadyDisks = c.ReadyDisks.AddRange(new DiskCapacity("ssd", 400, false, 2), new DiskCapacity("hdd", 4000, false, 1)) },
        5 => c with { ReadyDisks = c.ReadyDisks.Add(new DiskCapacity("ssd", 400, true, 1)) },
        6 => c with { Labels = Gold },
        7 => c with { Labels = Gold, FreeSwapMiB = 0 },
        _ => c,
    };

    /// <summary>The scan as written before the quick reject: public filters, then public scores, every host in rotating order.</summary>
    private static (int, int, int, int, int) PlainScan(HostCapacity[] hosts, PlacementRequest request, PlacementOptions options, int startIndex)
    {
        var count = hosts.Length;
        var start = ((startIndex % count) + count) % count;
        var want = options.FeasibleHostsToFind(count);
        int feasible = 0, scanned = 0, best = -1, bestScore = int.MinValue, bestFree = 0;
        for (; scanned < count && feasible < want; scanned++)
        {
            var i = (start + scanned) % count;
            if (Filters.Check(hosts[i], request) != FilterCode.Fits) continue;
            feasible++;
            var score = Scores.Total(hosts[i], request, options.EffectiveWeights);
            var free = hosts[i].FreeCores;
            if (best < 0 || score > bestScore || (score == bestScore && (free < bestFree || (free == bestFree && string.CompareOrdinal(hosts[i].HostId, hosts[best].HostId) < 0))))
                (best, bestScore, bestFree) = (i, score, free);
        }
        return best >= 0 ? (best, bestScore, scanned, feasible, (start + scanned) % count) : (-1, 0, scanned, 0, (start + scanned) % count);
    }
}
