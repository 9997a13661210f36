using DbProvisioner.Domain.Disks;
using static DbProvisioner.Domain.Disks.DiskState;

namespace DbProvisioner.Domain.Tests.Disks;

/// <summary>Which disks a host's worker formats or wipes next, and which of them it seeds.</summary>
public sealed class DiskJobsTests
{
    private static Disk D(string id, DiskState state, bool seeded = false, string cls = "nvme", string? owner = null) =>
        new(id, "/dev/" + id, 100, cls, state, seeded, owner);

    private static readonly HashSet<string> NoneInFlight = [];

    public static IEnumerable<TestCaseData> Cases()
    {
        // (disks, watermark MinReady/MinSeeded for nvme, in flight) → jobs as "id:seed"
        yield return Case("interrupted formatting is redone as planned, seeded or not",
            [D("a", Formatting, seeded: true), D("b", Formatting), D("c", Ready)], 3, 1, [], "a:seed", "b:plain");
        yield return Case("a released disk is wiped and seeded while the class lacks seeded disks",
            [D("a", Releasing), D("b", Ready, seeded: true), D("c", Ready, seeded: true)], 3, 3, [], "a:seed");
        // The watermark's plan does not count seeds of wipes under way: both end seeded, one more than asked.
        yield return Case("a wipe's seed and the watermark's seed of a Ready disk are both handed out",
            [D("a", Releasing), D("b", Ready)], 2, 1, [], "a:seed", "b:seed");
        yield return Case("a released disk is wiped without a seed once the class has its seeded disks",
            [D("a", Releasing), D("b", Ready, seeded: true)], 2, 1, [], "a:plain");
        yield return Case("a disk being seeded counts towards the seeded watermark",
            [D("a", Releasing), D("b", Formatting, seeded: true)], 2, 1, ["b"], "a:plain");
        yield return Case("every released disk is seeded while the class lacks seeded disks (counted before any is planned)",
            [D("a", Releasing), D("b", Releasing)], 2, 1, [], "a:seed", "b:seed");
        yield return Case("a released disk of a class without a watermark is wiped without a seed",
            [D("a", Releasing, cls: "hdd"), D("b", Ready, seeded: true)], 1, 1, [], "a:plain");
        yield return Case("the watermark formats discovered disks, seeding the first ones",
            [D("a", Discovered), D("b", Discovered), D("c", Discovered)], 2, 1, [], "a:seed", "b:plain");
        yield return Case("the watermark re-formats an unseeded Ready disk to seed it",
            [D("a", Ready), D("b", Ready)], 2, 1, [], "a:seed");
        yield return Case("a disk a worker holds is not handed out again",
            [D("a", Formatting, seeded: true), D("b", Releasing)], 2, 1, ["a", "b"]);
        yield return Case("a full watermark and nothing released: no work",
            [D("a", Ready, seeded: true), D("b", Claimed, owner: "i-1")], 1, 1, []);
    }

    private static TestCaseData Case(string name, Disk[] disks, int minReady, int minSeeded, string[] inFlight, params string[] jobs) =>
        new TestCaseData(disks, minReady, minSeeded, inFlight, jobs).SetName(name);

    [TestCaseSource(nameof(Cases))]
    public void Hands_out_interrupted_then_released_then_watermark_work(Disk[] disks, int minReady, int minSeeded, string[] inFlight, string[] jobs)
    {
        var pool = DiskPool.Of(disks);
        var taken = DiskJobs.Take(pool, [new DiskWatermark("nvme", minReady, minSeeded)], inFlight.ToHashSet());
        Assert.That(taken.Jobs.Select(j => $"{j.DiskId}:{(j.Seed ? "seed" : "plain")}"), Is.EqualTo(jobs));
        Assert.That(taken.Jobs.Select(j => j.DevicePath), Is.EqualTo(taken.Jobs.Select(j => "/dev/" + j.DiskId)));
    }

    [Test]
    public void Disks_the_watermark_plans_move_to_Formatting_and_nothing_else_changes()
    {
        var pool = DiskPool.Of([D("a", Discovered), D("b", Releasing), D("c", Ready, seeded: true)]);
        var taken = DiskJobs.Take(pool, [new DiskWatermark("nvme", 2, 1)], NoneInFlight);
        Assert.Multiple(() =>
        {
            Assert.That(taken.Pool.Find("a")?.State, Is.EqualTo(Formatting));
            Assert.That(taken.Pool.Find("b")?.State, Is.EqualTo(Releasing), "a released disk stays Releasing until its wipe is done");
            Assert.That(taken.Pool.Find("c"), Is.EqualTo(pool.Find("c")));
            Assert.That(taken.Pool.Validate(), Is.Empty);
        });
    }

    [Test]
    public void No_planned_work_leaves_the_pool_itself_so_nothing_is_written()
    {
        var pool = DiskPool.Of([D("a", Releasing), D("c", Ready, seeded: true)]);
        Assert.That(DiskJobs.Take(pool, [new DiskWatermark("nvme", 1, 1)], NoneInFlight).Pool, Is.SameAs(pool));
    }
}
