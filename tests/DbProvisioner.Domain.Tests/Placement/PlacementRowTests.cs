using System.Collections.Immutable;
using DbProvisioner.Api;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using static DbProvisioner.Domain.Tests.TestData.Fleets;

namespace DbProvisioner.Domain.Tests.Placement;

/// <summary>
/// The placement index's rows must judge a host exactly as the filters and scores judge its summary: a row never
/// rules out a host that fits, never lets through one that does not, and gives the same score; a host the row
/// cannot describe is judged on its summary.
/// </summary>
public class PlacementRowTests
{
    private static readonly ImmutableSortedDictionary<string, string> NoLabels = ImmutableSortedDictionary<string, string>.Empty;
    private static readonly ImmutableSortedDictionary<string, string> Gold = NoLabels.Add("tier", "gold");

    // Node 0: 8 free cores (16 CPUs), 32 GiB free; node 1: 4 free cores, 8 GiB free. Two 500 GiB nvme disks, 8 GiB swap free.
    private static HostCapacity Host(string id = "h1", string zone = "z1", string rack = "r1") =>
        new(id, "general", zone, rack, NoLabels, false, true,
            [new NodeCapacity(0, 8, 2, 32_768, 16, 65_536), new NodeCapacity(1, 4, 2, 8_192, 16, 65_536)], 10,
            [new DiskCapacity("nvme", 500, true, 2)], 16_384, 8_192);

    private static InstanceRequest Ask(int cpus = 8, long memoryMiB = 16_384, NumaPolicy numa = NumaPolicy.Required, long diskGiB = 100, string diskClass = "nvme", long swapMiB = 0) =>
        new("i1", cpus, memoryMiB, numa, diskGiB, diskClass, swapMiB);

    private static ShardContext Shard(SpreadDomain domain, SpreadMode mode, int max, params (string Host, string Zone, string Rack)[] members) =>
        new("c1", "s1", new SpreadRule(domain, max, mode), [.. members.Select(static (m, i) => new MemberLocation($"m{i}", m.Host, m.Zone, m.Rack))]);

    private static readonly Dictionary<string, (HostCapacity Host, PlacementRequest Request)> Table = new()
    {
        ["fits on node 0"] = (Host(), new(Ask(), "general")),
        ["cordoned"] = (Host() with { Cordoned = true }, new(Ask(), "general")),
        ["unhealthy"] = (Host() with { Healthy = false, HealthReason = "engine down" }, new(Ask(), "general")),
        ["image missing"] = (Host() with { ImageRefusal = "image dbprov/mysql:10.11 missing" }, new(Ask(), "general")),
        ["another pool"] = (Host() with { Pool = "batch" }, new(Ask(), "general")),
        ["required: no node has the cores"] = (Host(), new(Ask(cpus: 18), "general")),
        ["required: the cores on one node, the memory only across both"] = (Host(), new(Ask(cpus: 10, memoryMiB: 40_000), "general")),
        ["preferred: the same fits the host"] = (Host(), new(Ask(cpus: 10, memoryMiB: 40_000, numa: NumaPolicy.Preferred), "general")),
        ["interleave: more CPUs than the host has free"] = (Host(), new(Ask(cpus: 25, numa: NumaPolicy.Interleave), "general")),
        ["none: all the free CPUs"] = (Host(), new(Ask(cpus: 24, memoryMiB: 40_960, numa: NumaPolicy.None), "general")),
        ["swap: exactly the free swap"] = (Host(), new(Ask(swapMiB: 8_192), "general")),
        ["swap: more than is free"] = (Host(), new(Ask(swapMiB: 8_193), "general")),
        ["swap: none for instances"] = (Host() with { AllocatableSwapMiB = 0, FreeSwapMiB = 0 }, new(Ask(swapMiB: 512), "general")),
        ["no free port"] = (Host() with { FreePorts = 0 }, new(Ask(), "general")),
        ["disk: exactly the largest"] = (Host(), new(Ask(diskGiB: 500), "general")),
        ["disk: larger than any"] = (Host(), new(Ask(diskGiB: 501), "general")),
        ["disk: another class"] = (Host(), new(Ask(diskClass: "ssd"), "general")),
        ["disk: none left of the class"] = (Host() with { ReadyDisks = [new DiskCapacity("nvme", 500, true, 0)] }, new(Ask(), "general")),
        ["disk: the second class fits"] = (Host() with { ReadyDisks = [new DiskCapacity("nvme", 500, true, 2), new DiskCapacity("ssd", 800, false, 1, OnDemand: true)] }, new(Ask(diskGiB: 700, diskClass: "ssd"), "general")),
        ["disk: a larger group of the class later"] = (Host() with { ReadyDisks = [new DiskCapacity("nvme", 200, true, 1), new DiskCapacity("nvme", 900, false, 1)] }, new(Ask(diskGiB: 800), "general")),
        ["labels: missing"] = (Host(), new(Ask(), "general", null, Gold)),
        ["labels: present"] = (Host() with { Labels = Gold }, new(Ask(), "general", null, Gold)),
        ["hard host spread: a member on the host"] = (Host(), new(Ask(), "general", Shard(SpreadDomain.Host, SpreadMode.Hard, 1, ("h1", "z1", "r1")))),
        ["hard host spread: a member on another host"] = (Host(), new(Ask(), "general", Shard(SpreadDomain.Host, SpreadMode.Hard, 1, ("h2", "z2", "r1")))),
        ["hard rack spread: a member in the rack"] = (Host(), new(Ask(), "general", Shard(SpreadDomain.Rack, SpreadMode.Hard, 1, ("h9", "z1", "r1")))),
        ["hard rack spread: a rack of the same name in another zone"] = (Host(), new(Ask(), "general", Shard(SpreadDomain.Rack, SpreadMode.Hard, 1, ("h2", "z2", "r1")))),
        ["hard zone spread: a member in the zone"] = (Host(), new(Ask(), "general", Shard(SpreadDomain.Zone, SpreadMode.Hard, 1, ("h9", "z1", "r7")))),
        ["hard zone spread: two allowed, one there"] = (Host(), new(Ask(), "general", Shard(SpreadDomain.Zone, SpreadMode.Hard, 2, ("h9", "z1", "r7")))),
        ["hard spread: a member on a host no index knows"] = (Host(), new(Ask(), "general", Shard(SpreadDomain.Host, SpreadMode.Hard, 1, ("h404", "z404", "r404")))),
        ["soft host spread: a member on the host"] = (Host(), new(Ask(), "general", Shard(SpreadDomain.Host, SpreadMode.Soft, 1, ("h1", "z1", "r1")))),
        ["soft rack spread: members elsewhere"] = (Host(), new(Ask(), "general", Shard(SpreadDomain.Rack, SpreadMode.Soft, 2, ("h2", "z2", "r1"), ("h9", "z1", "r1")))),
        ["kubernetes node: numa required (row cannot say)"] = (Host() with { Runtime = HostRuntimeKind.Kubernetes }, new(Ask(), "general")),
        ["kubernetes node: numa none (row cannot say)"] = (Host() with { Runtime = HostRuntimeKind.Kubernetes }, new(Ask(numa: NumaPolicy.None), "general")),
        ["three disk classes (row cannot say)"] = (Host() with { ReadyDisks = [new DiskCapacity("hdd", 4000, false, 1), new DiskCapacity("nvme", 500, true, 2), new DiskCapacity("ssd", 800, false, 1)] }, new(Ask(), "general")),
        ["five NUMA nodes (row cannot say)"] = (Host() with { Nodes = [.. Enumerable.Range(0, 5).Select(static n => new NodeCapacity(n, 4, 2, 16_384, 8, 32_768))] }, new(Ask(), "general")),
    };

    private static readonly (string Case, bool Fits, bool Full)[] Expected =
    [
        ("fits on node 0", true, false), ("cordoned", false, false), ("unhealthy", false, false), ("image missing", false, false),
        ("another pool", false, false), ("required: no node has the cores", false, false),
        ("required: the cores on one node, the memory only across both", false, false), ("preferred: the same fits the host", true, false),
        ("interleave: more CPUs than the host has free", false, false), ("none: all the free CPUs", true, false),
        ("swap: exactly the free swap", true, false), ("swap: more than is free", false, false), ("swap: none for instances", false, false),
        ("no free port", false, false), ("disk: exactly the largest", true, false), ("disk: larger than any", false, false),
        ("disk: another class", false, false), ("disk: none left of the class", false, false), ("disk: the second class fits", true, false),
        ("disk: a larger group of the class later", true, false), ("labels: missing", false, false), ("labels: present", true, false),
        ("hard host spread: a member on the host", false, false), ("hard host spread: a member on another host", true, false),
        ("hard rack spread: a member in the rack", false, false), ("hard rack spread: a rack of the same name in another zone", true, false),
        ("hard zone spread: a member in the zone", false, false), ("hard zone spread: two allowed, one there", true, false),
        ("hard spread: a member on a host no index knows", true, false), ("soft host spread: a member on the host", true, false),
        ("soft rack spread: members elsewhere", true, false), ("kubernetes node: numa required (row cannot say)", false, true),
        ("kubernetes node: numa none (row cannot say)", true, true), ("three disk classes (row cannot say)", true, true),
        ("five NUMA nodes (row cannot say)", true, true),
    ];

    private static IEnumerable<TestCaseData> Cases() => Expected.Select(static e => new TestCaseData(e.Case, e.Fits, e.Full).SetName($"Row: {e.Case}"));

    [TestCaseSource(nameof(Cases))]
    public void A_row_judges_the_host_as_its_summary_is_judged(string name, bool fits, bool full)
    {
        var (host, request) = Table[name];
        // A second host in zone z2, rack r1: its names are in the index, so a member there has ids a row could match.
        var index = new PlacementIndex([host, Host("h2", "z2", "r1")]);
        var weights = new ScoreWeights();

        var judged = index.Judge(0, request, weights, out var score);

        Assert.That(index.Row(0).Full, Is.EqualTo(full), "whether the row describes the host");
        Assert.That(Filters.Check(host, request) == FilterCode.Fits, Is.EqualTo(fits), "the summary's own verdict (the table)");
        Assert.That(judged, Is.EqualTo(fits), "the row's verdict");
        if (fits) Assert.That(score, Is.EqualTo(Scores.Total(host, request, weights)), "the row's score");
    }

    [Test]
    public void The_table_covers_every_case()
    {
        Assert.That(Expected.Select(static e => e.Case), Is.EquivalentTo(Table.Keys));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Rows_match_check_and_total_on_random_states(int seed)
    {
        var rng = new Random(seed);
        var summaries = RandomlyFilled(rng);
        summaries[3] = summaries[3] with { Cordoned = true };
        summaries[4] = summaries[4] with { FreePorts = 0 };
        summaries[5] = summaries[5] with { Runtime = HostRuntimeKind.Kubernetes };
        summaries[6] = summaries[6] with { ReadyDisks = [new DiskCapacity("nvme", 100, true, 1)] };
        var index = new PlacementIndex(summaries);
        var weights = new ScoreWeights();
        var fits = 0;
        for (var q = 0; q < 300; q++)
        {
            var rule = new SpreadRule((SpreadDomain)rng.Next(3), rng.Next(1, 3), (SpreadMode)rng.Next(2));
            var members = Enumerable.Range(0, rng.Next(3)).Select(_ => summaries[rng.Next(summaries.Length)]).ToArray();
            var request = Request(Instance($"q{q}", rng.Next(1, 40), (NumaPolicy)rng.Next(4), rng.Next(1, 80) * 1024L, rng.Next(1, 7) * 100, rng.Next(4) * 1024L),
                rng.Next(4) == 0 ? null : TestData.Fleets.Shard(rule, members), rng.Next(10) == 0 ? "high-io" : "general");
            for (var i = 0; i < summaries.Length; i++)
            {
                var expected = Filters.Check(summaries[i], request) == FilterCode.Fits;
                Assert.That(index.Judge(i, request, weights, out var score), Is.EqualTo(expected), $"seed {seed} query {q} host {summaries[i].HostId}");
                if (!expected) continue;
                Assert.That(score, Is.EqualTo(Scores.Total(summaries[i], request, weights)), $"seed {seed} query {q} host {summaries[i].HostId}");
                fits++;
            }
        }
        Assert.That(fits, Is.InRange(1, (300 * summaries.Length) - 1), "the queries met both hosts that fit and hosts that do not");
    }

    [Test]
    public void Ties_go_to_the_lowest_host_id_in_ordinal_order_even_after_a_new_host_joins()
    {
        var index = new PlacementIndex([Host("h2"), Host("h10"), Host("H3")]);
        var request = new PlacementRequest(Ask(), "general");

        Assert.That(Scheduler.Place(index, request, PlacementOptions.FullScan).HostId, Is.EqualTo("H3"), "ordinal: upper case first, h10 before h2");

        index.Add(Host("A1"));
        Assert.That(Scheduler.Place(index, request, PlacementOptions.FullScan).HostId, Is.EqualTo("A1"));
    }

    [Test]
    public void Setting_a_summary_rewrites_its_row_and_removing_a_host_shifts_the_rest()
    {
        var index = new PlacementIndex([Host("h1"), Host("h2"), Host("h3")]);
        var request = new PlacementRequest(Ask(cpus: 16, memoryMiB: 30_000), "general");
        Assert.That(Scheduler.Place(index, request, PlacementOptions.FullScan).HostId, Is.EqualTo("h1"));

        index[0] = index[0].Assume(request.Instance); // node 0 is now full: h1 no longer takes another
        var after = Scheduler.Place(index, request, PlacementOptions.FullScan);
        Assert.That((after.HostId, after.FeasibleHosts), Is.EqualTo(("h2", 2)));

        index.RemoveAt(1);
        var removed = Scheduler.Place(index, request, PlacementOptions.FullScan);
        Assert.That((removed.HostId, removed.HostIndex, index.Count), Is.EqualTo(("h3", 1, 2)));
        Assert.That(index.Select(static h => h.HostId), Is.EqualTo(new[] { "h1", "h3" }));
    }
}
