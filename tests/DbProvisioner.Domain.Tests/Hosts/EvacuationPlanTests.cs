using DbProvisioner.Api;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using static DbProvisioner.Domain.Tests.TestData.Fleets;

namespace DbProvisioner.Domain.Tests.Hosts;

public class EvacuationPlanTests
{
    private static readonly SpreadRule HostHard = new(SpreadDomain.Host, 1, SpreadMode.Hard);
    private static readonly SpreadRule RackHard = new(SpreadDomain.Rack, 1, SpreadMode.Hard);

    /// <summary>One instance on h0001 whose shard also has a member on each of <paramref name="othersOn"/>.</summary>
    private static Evacuee OnFirstHost(HostCapacity[] hosts, string id, SpreadRule rule, int cpus = 4, NumaPolicy numa = NumaPolicy.Required, params int[] othersOn)
    {
        var members = new[] { new MemberLocation(id, hosts[0].HostId, hosts[0].Zone, hosts[0].Rack) }
            .Concat(othersOn.Select((h, i) => new MemberLocation($"{id}-peer{i}", hosts[h].HostId, hosts[h].Zone, hosts[h].Rack)));
        return new Evacuee(id, Instance($"{id}-new", cpus, numa), new ShardContext("c1", $"shard-{id}", rule, [.. members]));
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        // name, hosts, zones, racks per zone, evacuees (built over the hosts), expected target per instance (null: refused), reason part
        yield return new TestCaseData(2, 3, 3, (Func<HostCapacity[], Evacuee[]>)(h => [OnFirstHost(h, "a", HostHard)]), new[] { "h0002" }, null)
            .SetName("a standalone instance moves to the other host, never onto the evacuated one");
        yield return new TestCaseData(3, 3, 3, (Func<HostCapacity[], Evacuee[]>)(h => [OnFirstHost(h, "a", HostHard, othersOn: [1])]), new[] { "h0003" }, null)
            .SetName("host spread: not onto the host of another member of its shard");
        yield return new TestCaseData(2, 3, 3, (Func<HostCapacity[], Evacuee[]>)(h => [OnFirstHost(h, "a", HostHard, othersOn: [1])]), null, "already holds a member of shard c1/shard-a")
            .SetName("host spread: refused when every other host holds a member");
        yield return new TestCaseData(3, 1, 2, (Func<HostCapacity[], Evacuee[]>)(h => [OnFirstHost(h, "a", RackHard, othersOn: [1])]), new[] { "h0003" }, null)
            .SetName("rack spread is kept for the shard as it will be: the old member's rack is free again");
        yield return new TestCaseData(2, 3, 3, (Func<HostCapacity[], Evacuee[]>)(h =>
                [OnFirstHost(h, "a", SpreadRule.None, 40, NumaPolicy.None), OnFirstHost(h, "b", SpreadRule.None, 40, NumaPolicy.None)]), null, "instance b has no room elsewhere")
            .SetName("all or nothing: room for one of two instances refuses both");
        yield return new TestCaseData(3, 3, 3, (Func<HostCapacity[], Evacuee[]>)(h =>
                [OnFirstHost(h, "a", SpreadRule.None, 40, NumaPolicy.None), OnFirstHost(h, "b", SpreadRule.None, 40, NumaPolicy.None)]), new[] { "h0002", "h0003" }, null)
            .SetName("two instances share out over hosts by what the first one took");
        yield return new TestCaseData(1, 3, 3, (Func<HostCapacity[], Evacuee[]>)(h => [OnFirstHost(h, "a", HostHard)]), null, "pool general has no other host")
            .SetName("the only host of its pool cannot be evacuated");
        yield return new TestCaseData(2, 3, 3, (Func<HostCapacity[], Evacuee[]>)(h => [OnFirstHost(h, "a", HostHard, 48)]), null, "no host fits instance a-new")
            .SetName("an instance bigger than any other host: the reason per filter");
        yield return new TestCaseData(2, 3, 3, (Func<HostCapacity[], Evacuee[]>)(_ => []), Array.Empty<string>(), null)
            .SetName("an empty host: nothing to plan");
    }

    [TestCaseSource(nameof(Cases))]
    public void Plans_a_replacement_per_instance_or_none(int hostCount, int zones, int racks, Func<HostCapacity[], Evacuee[]> evacuees, string[]? targets, string? reason)
    {
        var hosts = Summaries(Dual(hostCount).WithZones(zones, racks).Build());
        var copy = hosts.ToArray();
        var plan = EvacuationPlan.Plan("h0001", "general", hosts, evacuees(hosts), PlacementOptions.FullScan);

        Assert.That(hosts, Is.EqualTo(copy), "the caller's summaries are untouched");
        if (targets is null)
        {
            Assert.Multiple(() =>
            {
                Assert.That(plan.Planned, Is.False);
                Assert.That(plan.Replacements, Is.Empty, "nothing is planned when one instance has no room");
                Assert.That(plan.Reason, Does.Contain("nothing was changed").And.Contain(reason));
            });
            return;
        }
        Assert.That(plan.Planned, Is.True, plan.Reason);
        Assert.That(plan.Replacements.Select(static r => r.HostId), Is.EqualTo(targets));
        Assert.That(plan.Replacements.Select(static r => r.ReplacementId), Is.EqualTo(plan.Replacements.Select(static r => r.InstanceId + "-new")));
    }

    private static IEnumerable<TestCaseData> Phases()
    {
        yield return new TestCaseData("Placed", null, false, EvacueePhase.Replacing).SetName("replacement provisioning");
        yield return new TestCaseData(null, null, false, EvacueePhase.Replacing).SetName("replacement not handed over yet");
        yield return new TestCaseData("Ready", null, false, EvacueePhase.OpenScaleDown).SetName("replacement Ready: open the request");
        yield return new TestCaseData("Failed", null, false, EvacueePhase.ReplacementFailed).SetName("replacement failed: old stays");
        yield return new TestCaseData(null, null, true, EvacueePhase.ReplacementFailed).SetName("replacement refused by its shard or host");
        yield return new TestCaseData("Ready", "Pending", false, EvacueePhase.AwaitingApproval).SetName("waiting for a second person");
        yield return new TestCaseData("Ready", "Draining", false, EvacueePhase.Removing).SetName("approved: removing");
        yield return new TestCaseData("Ready", "Removed", false, EvacueePhase.Done).SetName("old instance removed");
        yield return new TestCaseData("Ready", "Rejected", false, EvacueePhase.Stopped).SetName("removal rejected: old stays");
        yield return new TestCaseData("Ready", "Expired", false, EvacueePhase.Stopped).SetName("removal expired: old stays");
    }

    [TestCaseSource(nameof(Phases))]
    public void Each_instance_goes_through_its_replacement_then_the_gate(string? replacement, string? scaleDown, bool refused, EvacueePhase expected) =>
        Assert.That(EvacuationProgress.PhaseOf(replacement, scaleDown, refused), Is.EqualTo(expected));

    [Test]
    public void A_scale_down_request_the_gate_would_not_open_stops_the_instance_not_its_replacement() =>
        Assert.That(EvacuationProgress.PhaseOf("Ready", null, replacementRefused: false, scaleDownRefused: true), Is.EqualTo(EvacueePhase.Stopped));

    [TestCase(new[] { EvacueePhase.Done, EvacueePhase.Done }, EvacuationProgress.Evacuated)]
    [TestCase(new EvacueePhase[0], EvacuationProgress.Evacuated)]
    [TestCase(new[] { EvacueePhase.Done, EvacueePhase.AwaitingApproval }, EvacuationProgress.Evacuating)]
    [TestCase(new[] { EvacueePhase.ReplacementFailed, EvacueePhase.Replacing }, EvacuationProgress.Evacuating)]
    [TestCase(new[] { EvacueePhase.Done, EvacueePhase.ReplacementFailed }, EvacuationProgress.Incomplete)]
    [TestCase(new[] { EvacueePhase.Stopped }, EvacuationProgress.Incomplete)]
    public void The_evacuation_ends_when_every_instance_settled(EvacueePhase[] phases, string expected) =>
        Assert.That(EvacuationProgress.Overall(phases), Is.EqualTo(expected));
}
