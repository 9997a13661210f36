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
        new object[] { new PlacementOptions(PercentageOfHostsToScore: 2, MinFeasibleHostsToScore: 10), 11 },
        new object[] { PlacementOptions.Default, 12 },
        new object[] { PlacementOptions.FullScan, 13 },
        new object[] { new PlacementOptions(MinFeasibleHostsToScore: 5, MaxFeasibleHostsToScore: 5), 14 },
    ];

    [TestCaseSource(nameof(Cases))]
    public void Every_decision_matches_the_plain_scan_until_the_fleet_is_full(PlacementOptions options, int seed)
    {
        var topology = TopologyBuilder.Uniform(2, 8, 2, 65_536);
        var hosts = new FleetBuilder(120, topology, Zones: 3, RacksPerZone: 3, DisksPerHost: 12, SeededDisksPerHost: 3, PortsPerHost: 16).Build();
        var summaries = hosts.Select(HostCapacity.From).ToArray();
        var rng = new Random(seed);
        int start = 0, placed = 0, refused = 0;
        for (var s = 0; s < 600 && refused < 200; s++)
        {
            var spread = new SpreadRule((SpreadDomain)rng.Next(3), 1, rng.Next(3) == 0 ? SpreadMode.Soft : SpreadMode.Hard);
            var shard = new ShardContext("c", $"s{s}", spread, []);
            var cpus = rng.Next(1, 12);
            var numa = (NumaPolicy)rng.Next(4);
            for (var m = 0; m < 3; m++)
            {
                var instance = new InstanceRequest($"s{s}-{m}", cpus, cpus * rng.Next(1, 5) * 1024L, numa, 100, "nvme", rng.Next(4) == 0 ? 512 : 0);
                var request = new PlacementRequest(instance, "general", shard);
                var expected = PlainScan(summaries, request, options, start);
                var d = Scheduler.Place(summaries, request, options, start);
                Assert.That((d.HostIndex, d.Score, d.HostsScanned, d.FeasibleHosts, d.NextStartIndex), Is.EqualTo(expected), $"seed {seed} shard {s} member {m}");
                start = d.NextStartIndex;
                if (d.HostIndex < 0) { refused++; continue; }
                var r = HostReservations.Reserve(hosts[d.HostIndex], instance);
                if (!r.Succeeded) { refused++; continue; }
                placed++;
                hosts[d.HostIndex] = r.State;
                summaries[d.HostIndex] = HostCapacity.From(r.State);
                var h = r.State;
                shard = shard with { Members = [.. shard.Members, new MemberLocation(instance.InstanceId, h.HostId, h.Zone, h.Rack)] };
            }
        }
        Assert.That(placed, Is.GreaterThan(80), "the stream placed enough to fill the fleet");
        Assert.That(refused, Is.GreaterThan(0), "the stream ran the fleet into refusals");
    }

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
