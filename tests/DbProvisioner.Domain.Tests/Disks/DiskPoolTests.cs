using DbProvisioner.Domain.Disks;
using static DbProvisioner.Domain.Disks.DiskState;

namespace DbProvisioner.Domain.Tests.Disks;

public class DiskPoolTests
{
    private static Disk D(string id, long size, DiskState state = Ready, bool seeded = false, string cls = "nvme", string? owner = null) =>
        new(id, "/dev/" + id, size, cls, state, seeded, owner);

    private static readonly HashSet<(DiskState, DiskState)> LegalMoves =
    [
        (Discovered, Formatting), (Discovered, Claimed), (Discovered, Faulty), (Formatting, Ready), (Formatting, Faulty),
        (Ready, Claimed), (Ready, Formatting), (Ready, Faulty), (Claimed, Releasing), (Claimed, Faulty),
        (Releasing, Ready), (Releasing, Faulty), (Faulty, Discovered),
    ];

    private static IEnumerable<TestCaseData> AllMoves() =>
        from f in Enum.GetValues<DiskState>()
        from t in Enum.GetValues<DiskState>()
        select new TestCaseData(f, t, LegalMoves.Contains((f, t))).SetName($"{f} → {t}");

    [TestCaseSource(nameof(AllMoves))]
    public void Only_legal_transitions_are_allowed(DiskState from, DiskState to, bool legal)
    {
        Assert.That(DiskPool.IsLegal(from, to), Is.EqualTo(legal));
        var pool = DiskPool.Of([D("d1", 100, from, owner: from == Claimed ? "i1" : null)]);
        var r = pool.Transition("d1", to, seeded: true);
        if (!legal)
        {
            Assert.Multiple(() =>
            {
                Assert.That(r.Succeeded, Is.False);
                Assert.That(r.Reason, Does.Contain($"from {from} to {to}"));
                Assert.That(r.Pool, Is.SameAs(pool));
            });
        }
        else if (to != Claimed)
        {
            Assert.That(r.Succeeded, Is.True, r.Reason);
            Assert.That(r.Pool.Find("d1")!.State, Is.EqualTo(to));
        }
    }

    [Test]
    public void A_released_disk_is_never_ready_before_releasing()
    {
        var r = DiskPool.Of([D("d1", 100, Claimed, owner: "i1")]).Transition("d1", Ready);
        Assert.That(r.Reason, Is.EqualTo("disk d1 cannot go from Claimed to Ready: a released disk must be wiped and re-formatted (Releasing) first"));
    }

    private static IEnumerable<TestCaseData> Claims()
    {
        yield return new TestCaseData(new[] { D("d1", 500), D("d2", 200), D("d3", 300) }, 250L, "d3").SetName("smallest that fits");
        yield return new TestCaseData(new[] { D("d1", 300), D("d2", 300, seeded: true) }, 100L, "d2").SetName("seeded first among equal sizes");
        yield return new TestCaseData(new[] { D("d1", 300, seeded: true), D("d2", 200) }, 100L, "d2").SetName("smaller beats seeded");
        yield return new TestCaseData(new[] { D("d2", 300), D("d1", 300) }, 100L, "d1").SetName("lowest id breaks ties");
        yield return new TestCaseData(new[] { D("d1", 100, cls: "hdd"), D("d2", 900) }, 100L, "d2").SetName("class must match");
        yield return new TestCaseData(new[] { D("d1", 100, Formatting), D("d2", 100, Claimed, owner: "x"), D("d3", 100) }, 100L, "d3").SetName("only Ready disks");
        yield return new TestCaseData(new[] { D("d1", 100) }, 100L, "d1").SetName("exact size");
    }

    [TestCaseSource(nameof(Claims))]
    public void Claims_the_smallest_ready_disk_of_the_class(Disk[] disks, long size, string expected)
    {
        var r = DiskPool.Of(disks).Claim("i1", "nvme", size);
        Assert.Multiple(() =>
        {
            Assert.That(r.Disk!.Id, Is.EqualTo(expected));
            Assert.That(r.Pool.Find(expected)!.State, Is.EqualTo(Claimed));
            Assert.That(r.Pool.ClaimedBy("i1")!.Id, Is.EqualTo(expected));
            Assert.That(r.Pool.Validate(), Is.Empty);
        });
    }

    private static IEnumerable<TestCaseData> NoDisk()
    {
        yield return new TestCaseData(new[] { D("d1", 100, cls: "hdd") }, "no nvme disks on this host").SetName("no class");
        yield return new TestCaseData(new[] { D("d1", 100, Formatting) }, "no Ready or Discovered nvme disk (1 disks, none Ready or Discovered)").SetName("none ready");
        yield return new TestCaseData(new[] { D("d1", 100), D("d2", 150, Discovered) }, "no Ready or Discovered nvme disk of 200 GiB (largest: 150 GiB)").SetName("too small");
    }

    [TestCaseSource(nameof(NoDisk))]
    public void Says_why_no_disk_can_be_claimed(Disk[] disks, string reason) =>
        Assert.That(DiskPool.Of(disks).Claim("i1", "nvme", 200).Reason, Is.EqualTo(reason));

    [Test]
    public void Claim_is_idempotent_and_release_goes_through_releasing()
    {
        var pool = DiskPool.Of([D("d1", 100, seeded: true), D("d2", 100)]);
        var first = pool.Claim("i1", "nvme", 50);
        var again = first.Pool.Claim("i1", "nvme", 50);
        Assert.Multiple(() =>
        {
            Assert.That(again.Disk, Is.SameAs(first.Disk));
            Assert.That(again.Pool, Is.SameAs(first.Pool));
            Assert.That(first.Pool.Claim("i1", "nvme", 500).Reason, Is.EqualTo("instance i1 already holds disk d1 (nvme, 100 GiB); release it first"));
        });

        var released = again.Pool.Release("i1");
        Assert.Multiple(() =>
        {
            Assert.That(released.Disk!.State, Is.EqualTo(Releasing));
            Assert.That(released.Disk.Seeded, Is.False, "old data is never handed out as seeded");
            Assert.That(released.Pool.Claim("i2", "nvme", 50).Disk!.Id, Is.EqualTo("d2"), "a Releasing disk is not claimable");
            Assert.That(released.Pool.Release("i1").Pool, Is.SameAs(released.Pool));
        });
        var ready = released.Pool.Transition("d1", Ready);
        Assert.That(ready.Pool.Find("d1"), Is.EqualTo(D("d1", 100)));
    }

    private static IEnumerable<TestCaseData> OnDemandClaims()
    {
        yield return new TestCaseData(new[] { D("d1", 300, Discovered), D("d2", 300) }, 100L, "d2", false).SetName("Ready before Discovered");
        yield return new TestCaseData(new[] { D("d1", 300, Discovered), D("d2", 500, seeded: true) }, 100L, "d2", false).SetName("a larger Ready disk before a smaller Discovered one");
        yield return new TestCaseData(new[] { D("d1", 500, Discovered), D("d2", 200, Discovered), D("d3", 100) }, 150L, "d2", true).SetName("smallest Discovered when no Ready fits");
        yield return new TestCaseData(new[] { D("d2", 200, Discovered), D("d1", 200, Discovered), D("d3", 200, Formatting) }, 150L, "d1", true).SetName("lowest id among Discovered; Formatting is not claimable");
        yield return new TestCaseData(new[] { D("d1", 200, Discovered, cls: "hdd"), D("d2", 200, Discovered) }, 150L, "d2", true).SetName("on demand, class must match");
    }

    [TestCaseSource(nameof(OnDemandClaims))]
    public void Claims_a_discovered_disk_on_demand_only_when_no_ready_disk_fits(Disk[] disks, long size, string expected, bool onDemand)
    {
        var r = DiskPool.Of(disks).Claim("i1", "nvme", size);
        Assert.Multiple(() =>
        {
            Assert.That(r.Reason, Is.Empty);
            Assert.That(r.Disk!.Id, Is.EqualTo(expected));
            Assert.That(r.Disk.State, Is.EqualTo(Claimed));
            Assert.That(r.Disk.OnDemand, Is.EqualTo(onDemand), "an on-demand disk must be formatted when attached");
            Assert.That(r.Disk.Seeded, Is.False.Or.EqualTo(!onDemand));
            Assert.That(r.Pool.Validate(), Is.Empty);
        });
    }

    [Test]
    public void An_on_demand_disk_is_released_through_releasing_and_comes_back_ready_unmarked()
    {
        var claimed = DiskPool.Of([D("d1", 100, Discovered)]).Claim("i1", "nvme", 100);
        Assert.That(claimed.Disk!.OnDemand, Is.True);
        var again = claimed.Pool.Claim("i1", "nvme", 100);
        Assert.That(again.Pool, Is.SameAs(claimed.Pool), "idempotent per instance");
        var released = claimed.Pool.Release("i1");
        Assert.Multiple(() =>
        {
            Assert.That(released.Disk!.State, Is.EqualTo(Releasing));
            Assert.That(released.Disk.OnDemand, Is.False);
            Assert.That(released.Pool.Claim("i2", "nvme", 100).Succeeded, Is.False, "a Releasing disk is not claimable");
        });
        var ready = released.Pool.Transition("d1", Ready);
        Assert.That(ready.Pool.Find("d1"), Is.EqualTo(D("d1", 100)));
    }

    [Test]
    public void Validate_reports_an_on_demand_mark_outside_claimed()
    {
        var pool = DiskPool.Of([new Disk("d1", "/dev/d1", 100, "nvme", Ready, OnDemand: true)]);
        Assert.That(pool.Validate(), Is.EqualTo(new[] { "disk d1 is Ready but marked as claimed on demand" }));
    }

    [Test]
    public void Validate_reports_double_claims_and_orphans()
    {
        var pool = DiskPool.Of([D("d1", 100, Claimed, owner: "i1"), D("d2", 100, Claimed, owner: "i1"), D("d3", 100, Claimed), D("d4", 100, Ready, owner: "x")]);
        Assert.That(pool.Validate(), Is.EquivalentTo(new[]
        {
            "instance i1 claims disks d1, d2", "disk d3 is Claimed by nobody", "disk d4 is Ready but names owner x",
        }));
    }

    private static IEnumerable<TestCaseData> Watermarks()
    {
        var discovered = Enumerable.Range(1, 4).Select(i => D($"d{i}", 100, Discovered)).ToArray();
        yield return new TestCaseData(discovered, new DiskWatermark("nvme", 2, 1), "d1:seed d2:format").SetName("format two, seed one");
        yield return new TestCaseData(new[] { D("d1", 100), D("d2", 100, Formatting), D("d3", 100, Discovered) }, new DiskWatermark("nvme", 2, 0), "").SetName("formatting counts toward ready");
        yield return new TestCaseData(new[] { D("d1", 100), D("d2", 100), D("d3", 100, Discovered) }, new DiskWatermark("nvme", 2, 1), "d1:seed").SetName("seed a ready disk");
        yield return new TestCaseData(new[] { D("d1", 100, Claimed, owner: "i"), D("d2", 100, Discovered, cls: "hdd") }, new DiskWatermark("nvme", 3, 0), "").SetName("nothing to format");
        yield return new TestCaseData(new[] { D("d1", 100, Ready, seeded: true), D("d2", 100, Discovered) }, new DiskWatermark("nvme", 2, 1), "d2:format").SetName("seeded already counted");
    }

    [TestCaseSource(nameof(Watermarks))]
    public void The_watermark_says_what_to_format_and_seed_next(Disk[] disks, DiskWatermark watermark, string expected)
    {
        var work = DiskPool.Of(disks).Plan([watermark]);
        Assert.That(string.Join(' ', work.Select(static w => $"{w.DiskId}:{(w.Seed ? "seed" : "format")}")), Is.EqualTo(expected));
    }
}
