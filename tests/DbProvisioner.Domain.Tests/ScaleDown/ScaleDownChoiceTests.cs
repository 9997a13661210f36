using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.ScaleDown;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.ScaleDown;

public sealed class ScaleDownChoiceTests
{
    private static readonly SpreadRule RackHard = new(SpreadDomain.Rack, 1, SpreadMode.Hard);

    private static ShardMemberStatus Member(string id, MemberRole role, string host, string rack, double? lag = 0, bool healthy = true) =>
        new(id, role, host, "z1", rack, lag, 0, healthy);

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new[]
        {
            Member("a", MemberRole.Primary, "h1", "r1"),
            Member("b", MemberRole.Replica, "h2", "r2"),
        }, "b").SetName("a replica goes before the primary");
        yield return new TestCaseData(new[]
        {
            Member("a", MemberRole.Primary, "h1", "r1"),
            Member("b", MemberRole.Replica, "h2", "r2"),
            Member("c", MemberRole.Replica, "h3", "r1"),
        }, "c").SetName("the replica sharing a rack goes first, keeping two racks");
        yield return new TestCaseData(new[]
        {
            Member("a", MemberRole.Primary, "h1", "r1"),
            Member("b", MemberRole.Replica, "h2", "r2", healthy: false),
            Member("c", MemberRole.Replica, "h3", "r3"),
        }, "b").SetName("an unhealthy replica goes before a healthy one");
        yield return new TestCaseData(new[]
        {
            Member("a", MemberRole.Primary, "h1", "r1"),
            Member("b", MemberRole.Replica, "h2", "r2", lag: 3),
            Member("c", MemberRole.Replica, "h3", "r3", lag: 90),
        }, "c").SetName("the replica furthest behind goes first");
        yield return new TestCaseData(new[]
        {
            Member("a", MemberRole.Primary, "h1", "r1"),
            Member("b", MemberRole.Replica, "h2", "r2"),
            Member("c", MemberRole.Replica, "h3", "r3"),
        }, "c").SetName("otherwise the highest instance id");
        yield return new TestCaseData(new[] { Member("a", MemberRole.Primary, "h1", "r1") }, "a").SetName("a lone primary is the only choice");
    }

    [TestCaseSource(nameof(Cases))]
    public void Chooses_the_member_whose_removal_keeps_the_shard_safest(ShardMemberStatus[] members, string expected)
    {
        var shard = new ShardSnapshot("c1", "s1", members, 1, RackHard);
        Assert.That(ScaleDownChoice.ChooseMemberToRemove(shard)?.InstanceId, Is.EqualTo(expected));
    }

    [Test]
    public void An_empty_shard_has_nothing_to_remove()
    {
        Assert.That(ScaleDownChoice.ChooseMemberToRemove(new ShardSnapshot("c1", "s1", [], 1, RackHard)), Is.Null);
    }
}
