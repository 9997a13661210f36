using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.ScaleDown;
using static DbProvisioner.Domain.ScaleDown.MemberRole;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.ScaleDown;

public class ScaleDownRiskTests
{
    private static readonly SpreadRule HardRack = new(SpreadDomain.Rack, 1, SpreadMode.Hard);

    private static ShardMemberStatus M(string id, MemberRole role, string rack, double? lag = 0, int conns = 0, bool healthy = true) =>
        new(id, role, "h-" + id, "z1", rack, lag, conns, healthy);

    private static ShardSnapshot S(int min, SpreadRule? spread, params ShardMemberStatus[] members) => new("orders", "s1", members, min, spread ?? HardRack);

    private static IEnumerable<TestCaseData> Cases()
    {
        var three = new[] { M("p", Primary, "r1"), M("a", Replica, "r2"), M("b", Replica, "r3") };
        yield return new TestCaseData(S(2, null, three), "a", "", "").SetName("a replica of three is safe");
        yield return new TestCaseData(S(2, null, three), "p", "primary-with-replicas", "").SetName("primary with replicas");
        yield return new TestCaseData(S(3, null, three), "a", "below-minimum", "").SetName("below minimum");
        yield return new TestCaseData(S(1, null, M("p", Primary, "r1")), "p", "last-member", "").SetName("last member");
        yield return new TestCaseData(S(1, null, three), "x", "unknown-member", "").SetName("unknown member");
        yield return new TestCaseData(S(2, null, M("p", Primary, "r1"), M("a", Replica, "r1"), M("b", Replica, "r2")), "b", "spread-broken", "").SetName("spread broken, hard");
        yield return new TestCaseData(S(2, HardRack with { Mode = SpreadMode.Soft }, M("p", Primary, "r1"), M("a", Replica, "r1"), M("b", Replica, "r2")), "b", "", "spread-broken").SetName("spread broken, soft");
        yield return new TestCaseData(S(2, null, M("p", Primary, "r1"), M("a", Replica, "r2"), M("b", Replica, "r3"), M("c", Replica, "r3")), "a", "", "spread-reduced").SetName("spread reduced");
        yield return new TestCaseData(S(2, null, M("p", Primary, "r1"), M("a", Replica, "r2", lag: 45), M("b", Replica, "r3")), "b", "", "replication-lag").SetName("lagging replica");
        yield return new TestCaseData(S(2, null, M("p", Primary, "r1"), M("a", Replica, "r2", lag: null), M("b", Replica, "r3")), "b", "", "replication-lag").SetName("replication stopped");
        yield return new TestCaseData(S(2, null, M("p", Primary, "r1"), M("a", Replica, "r2"), M("b", Replica, "r3", conns: 12)), "b", "", "open-connections").SetName("open connections");
        yield return new TestCaseData(S(2, null, M("p", Primary, "r1"), M("a", Replica, "r2", healthy: false), M("b", Replica, "r3")), "b", "below-minimum", "").SetName("unhealthy members do not count");
    }

    [TestCaseSource(nameof(Cases))]
    public void Risks_are_named_and_graded(ShardSnapshot shard, string remove, string blocking, string warning)
    {
        var report = ScaleDownRisk.Assess(shard, remove);
        Assert.Multiple(() =>
        {
            Assert.That(string.Join(',', report.Blocking.Select(static b => WireName.Of(b.Code))), Is.EqualTo(blocking));
            Assert.That(string.Join(',', report.Warnings.Select(static w => WireName.Of(w.Code))), Is.EqualTo(warning));
            Assert.That(report.Items.Select(static i => i.Message), Has.All.Not.Empty);
        });
    }

    [Test]
    public void Messages_speak_to_the_approver()
    {
        var report = ScaleDownRisk.Assess(S(2, null, M("p", Primary, "r1", conns: 3), M("a", Replica, "r2", lag: 45.5)), "p");
        Assert.That(report.Items.Select(static i => i.Message), Is.EqualTo(new[]
        {
            "p is the primary of shard orders/s1 with 1 replica(s); writes stop until a replica is promoted",
            "shard orders/s1 would keep 1 healthy member(s), below its minimum of 2",
            "replica a is 45.5 s behind its primary (threshold 30 s)",
            "p has 3 open client connection(s); draining closes them when it times out",
        }));
    }

    [Test]
    public void Approval_must_acknowledge_every_blocking_code()
    {
        var report = ScaleDownRisk.Assess(S(3, null, M("p", Primary, "r1"), M("a", Replica, "r2")), "p");
        Assert.Multiple(() =>
        {
            Assert.That(report.Unacknowledged([]), Is.EqualTo(new[] { RiskCode.PrimaryWithReplicas, RiskCode.BelowMinimum }));
            Assert.That(report.Unacknowledged([RiskCode.PrimaryWithReplicas]), Is.EqualTo(new[] { RiskCode.BelowMinimum }));
            Assert.That(report.Unacknowledged([RiskCode.BelowMinimum, RiskCode.PrimaryWithReplicas, RiskCode.OpenConnections]), Is.Empty);
        });
    }
}
