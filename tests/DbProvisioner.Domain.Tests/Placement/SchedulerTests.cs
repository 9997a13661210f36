using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Tests.TestData;
using DbProvisioner.Domain.Topology;
using static DbProvisioner.Domain.Tests.TestData.Fleets;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.Placement;

public class SchedulerTests
{
    private static IEnumerable<TestCaseData> FeasibleCounts()
    {
        yield return new TestCaseData(new PlacementOptions(), 50, 50).SetName("small pool: everything");
        yield return new TestCaseData(new PlacementOptions(), 5000, 500).SetName("adaptive: 10% of 5,000");
        yield return new TestCaseData(new PlacementOptions(), 100_000, 5000).SetName("adaptive floor: 5%");
        yield return new TestCaseData(new PlacementOptions(1), 5000, 100).SetName("never fewer than the minimum");
        yield return new TestCaseData(PlacementOptions.FullScan, 5000, 5000).SetName("full scan");
        yield return new TestCaseData(new PlacementOptions(MaxFeasibleHostsToScore: 200), 50_000, 200).SetName("a cap stops the share growing with the pool");
        yield return new TestCaseData(new PlacementOptions(MaxFeasibleHostsToScore: 200), 1000, 200).SetName("a cap below the share of a small pool");
        yield return new TestCaseData(new PlacementOptions(MaxFeasibleHostsToScore: 50), 5000, 100).SetName("a cap never goes under the minimum");
        yield return new TestCaseData(new PlacementOptions(MaxFeasibleHostsToScore: 200), 80, 80).SetName("a capped pool under the minimum: everything");
    }

    [TestCaseSource(nameof(FeasibleCounts))]
    public void Early_stop_looks_for_a_share_of_the_pool(PlacementOptions options, int hosts, int expected) =>
        Assert.That(options.FeasibleHostsToFind(hosts), Is.EqualTo(expected));

    [Test]
    public void Early_stop_scans_fewer_hosts_and_rotates_its_start()
    {
        var hosts = Summaries(Dual(1000).Build());
        var request = Request(Instance("a", 2));
        var early = Scheduler.Place(hosts, request, new PlacementOptions(10, 10), 990);
        var full = Scheduler.Place(hosts, request, PlacementOptions.FullScan, 990);
        Assert.Multiple(() =>
        {
            Assert.That(early.HostsScanned, Is.EqualTo(100));
            Assert.That(early.FeasibleHosts, Is.EqualTo(100));
            Assert.That(early.NextStartIndex, Is.EqualTo(90), "wraps around the end of the pool");
            Assert.That(full.HostsScanned, Is.EqualTo(1000));
            Assert.That(full.HostId, Is.EqualTo("h0001"), "equal scores go to the lowest host id");
            Assert.That(early.HostId, Is.EqualTo("h0001"), "the scan from 990 wrapped past h0001");
        });
    }

    [Test]
    public void Best_fit_prefers_the_host_whose_node_the_instance_fills()
    {
        var fleet = Dual(3).Build();
        fleet[2] = HostReservations.Reserve(fleet[2], Instance("x", 24, NumaPolicy.Required)).State; // node 0 keeps 4 cores
        var d = Scheduler.Place(Summaries(fleet), Request(Instance("a", 8)), PlacementOptions.FullScan);
        Assert.That(d.HostId, Is.EqualTo("h0003"));
    }

    [Test]
    public void Soft_spread_prefers_an_empty_rack_but_does_not_rule_out()
    {
        var hosts = Summaries(Dual(2).WithZones(1, 2).Build());
        var soft = new SpreadRule(SpreadDomain.Rack, 1, SpreadMode.Soft);
        var d = Scheduler.Place(hosts, Request(Instance("a", 2), Shard(soft, hosts[0])), PlacementOptions.FullScan);
        var only = Scheduler.Place([hosts[0]], Request(Instance("a", 2), Shard(soft, hosts[0])), PlacementOptions.FullScan);
        Assert.Multiple(() =>
        {
            Assert.That(d.HostId, Is.EqualTo("h0002"));
            Assert.That(only.HostId, Is.EqualTo("h0001"));
        });
    }

    [Test]
    public void When_nothing_fits_the_reasons_are_counted_per_host()
    {
        var fleet = Dual(9).Build();
        for (var i = 0; i < 6; i++) fleet[i] = HostReservations.Reserve(fleet[i], Instance("x", 50, NumaPolicy.Preferred)).State;
        var hosts = Summaries(fleet);
        var rack = new SpreadRule(SpreadDomain.Rack, 1, SpreadMode.Hard);
        // hosts 6,7,8 are in racks z1/r3, z2/r3, z3/r3: members there block them
        var d = Scheduler.Place(hosts, Request(Instance("a", 16), Shard(rack, hosts[6], hosts[7], hosts[8])), PlacementOptions.Default);
        Assert.Multiple(() =>
        {
            Assert.That(d.Placed, Is.False);
            Assert.That(d.Unfit, Is.EqualTo(new[]
            {
                new ReasonCount(6, "no 16 free CPUs on one NUMA node"),
                new ReasonCount(1, "rack z1/r3 already holds a member of shard c1/s4 (hard spread: at most 1 per rack)"),
                new ReasonCount(1, "rack z2/r3 already holds a member of shard c1/s4 (hard spread: at most 1 per rack)"),
                new ReasonCount(1, "rack z3/r3 already holds a member of shard c1/s4 (hard spread: at most 1 per rack)"),
            }));
            Assert.That(d.Reason, Does.StartWith("no host fits instance a (16 CPUs, 4096 MiB, required NUMA) among 9: 6 hosts: no 16 free CPUs on one NUMA node; 1 host: rack z1/r3"));
        });
    }

    [Test]
    public void Large_counts_are_written_with_thousands_separators()
    {
        var hosts = Summaries(Dual(1200).Build());
        var d = Scheduler.Place(hosts, Request(Instance("a", 2), pool: "high-io"), PlacementOptions.Default);
        Assert.That(d.Reason, Does.EndWith("among 1,200: 1,200 hosts: host is in pool general, not high-io"));
    }

    [Test]
    public void An_empty_pool_says_so() =>
        Assert.That(Scheduler.Place([], Request(Instance("a", 2)), PlacementOptions.Default).Reason, Is.EqualTo("pool general has no hosts"));

    private static IEnumerable<TestCaseData> Clusters()
    {
        var t = new InstanceTemplate(4, 4096, NumaPolicy.Required, 100, "nvme");
        yield return new TestCaseData(new ClusterRequest("c", "general", 3, 3, t, new SpreadRule(SpreadDomain.Rack, 1, SpreadMode.Hard)), 9, true).SetName("3 shards × 3 on 9 racks");
        yield return new TestCaseData(new ClusterRequest("c", "general", 1, 4, t, new SpreadRule(SpreadDomain.Zone, 1, SpreadMode.Hard)), 9, false).SetName("4 members, 3 zones, hard");
        yield return new TestCaseData(new ClusterRequest("c", "general", 1, 4, t, new SpreadRule(SpreadDomain.Zone, 2, SpreadMode.Hard)), 9, true).SetName("max 2 per zone");
        yield return new TestCaseData(new ClusterRequest("c", "general", 1, 4, t, new SpreadRule(SpreadDomain.Zone, 1, SpreadMode.Soft)), 9, true).SetName("soft zone spread");
        yield return new TestCaseData(new ClusterRequest("c", "general", 20, 3, t with { Cpus = 32 }, new SpreadRule(SpreadDomain.Host, 1, SpreadMode.Hard)), 9, false).SetName("too big: nothing placed");
    }

    [TestCaseSource(nameof(Clusters))]
    public void A_cluster_is_placed_whole_or_not_at_all(ClusterRequest request, int hostCount, bool placed)
    {
        var hosts = Summaries(Dual(hostCount).Build());
        var copy = hosts.ToArray();
        var r = ClusterPlacement.Place(hosts, request, PlacementOptions.Default);
        Assert.That(r.Placed, Is.EqualTo(placed), r.Reason);
        Assert.That(hosts, Is.EqualTo(copy), "the caller's summaries are untouched");
        if (!placed)
        {
            Assert.That(r.Members, Is.Empty);
            Assert.That(r.Reason, Does.StartWith($"cluster c cannot be placed, nothing was reserved: shard "));
            return;
        }
        Assert.That(r.Members, Has.Count.EqualTo(request.Shards * request.MembersPerShard));
        var byId = hosts.ToDictionary(static h => h.HostId);
        foreach (var shard in r.Members.GroupBy(static m => m.Shard))
        {
            var counts = shard.GroupBy(m => request.Spread.KeyOf(m.HostId, byId[m.HostId].Zone, byId[m.HostId].Rack)).Select(static g => g.Count());
            if (request.Spread.Mode == SpreadMode.Hard) Assert.That(counts.Max(), Is.LessThanOrEqualTo(request.Spread.MaxPerDomain));
            else Assert.That(counts.Max(), Is.LessThanOrEqualTo(2), "soft spread still spreads when it can");
        }
        // the plan must be reservable on the real hosts
        var fleet = Dual(hostCount).Build().ToDictionary(static h => h.HostId);
        foreach (var m in r.Members)
        {
            var t = request.Template;
            var res = HostReservations.Reserve(fleet[m.HostId], new InstanceRequest(m.InstanceId, t.Cpus, t.MemoryMiB, t.Numa, t.DiskGiB, t.DiskClass));
            Assert.That(res.Succeeded, Is.True, res.Reason);
            fleet[m.HostId] = res.State;
        }
    }

    [Test]
    public void A_request_for_swap_on_a_pool_without_swap_is_refused_with_the_swap_reason()
    {
        var hosts = Summaries(Dual(3).Build());
        var d = Scheduler.Place(hosts, Request(Instance("a", 2, NumaPolicy.Preferred, 2048, swapMiB: 512)), PlacementOptions.FullScan);
        var without = Scheduler.Place(hosts, Request(Instance("a", 2, NumaPolicy.Preferred, 2048)), PlacementOptions.FullScan);
        Assert.Multiple(() =>
        {
            Assert.That(d.Placed, Is.False);
            Assert.That(d.Reason, Is.EqualTo("no host fits instance a (2 CPUs, 2048 MiB + 512 MiB swap, preferred NUMA) among 3: 3 hosts: no swap for instances (512 MiB asked)"));
            Assert.That(without.Placed, Is.True, "the same request without swap fits");
        });
    }
}
