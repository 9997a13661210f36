using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.TestData;
using DbProvisioner.Testing;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>Evacuating a host through the scale-down gate, on the simulated fleet.</summary>
public sealed class EvacuationTests : GrainTest
{
    private static IEvacuationGrain Evacuation(string hostId) => Client.GetGrain<IEvacuationGrain>(hostId);

    /// <summary>Host A with one Ready instance, then host B (so the instance is on A).</summary>
    private async Task<(string A, string B, string Instance)> InstanceOnAWithBFreeAsync(int disksOnB = 2)
    {
        var a = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(a, Pool, disks: 2, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");
        await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool));
        var b = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(b, Pool, disks: disksOnB, minSeeded: 0));
        return (a, b, instanceId);
    }

    /// <summary>Three hosts with two Ready disks each: room for a shard of two and a replacement.</summary>
    private async Task<List<string>> ThreeHostsAsync()
    {
        var hosts = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            hosts.Add(TestFleet.NewId("host"));
            await RegisterWithReadyDisksAsync(TestFleet.Host(hosts[^1], Pool, disks: 2, minSeeded: 0));
        }
        return hosts;
    }

    private static Task<EvacuationView> WaitForAsync(string hostId, Func<EvacuationView, bool> done, string what) =>
        Eventually.UntilAsync(async () => (await Evacuation(hostId).GetAsync())!, done, SettleTimeout, what);

    [Test]
    public async Task TheOldInstanceIsRemovedOnlyAfterItsReplacementIsReady_AndASecondPersonApproved()
    {
        var (a, b, old) = await InstanceOnAWithBFreeAsync();
        var engineB = Runtime.Host(b);
        engineB.ReadyHold.Hold();

        var started = await Evacuation(a).EvacuateAsync("admin-key");
        Assert.That(started.Ok, Is.True, started.Error);
        var planned = started.Value!.Instances.Single();
        Assert.Multiple(async () =>
        {
            Assert.That(planned.InstanceId, Is.EqualTo(old));
            Assert.That(planned.ReplacementHost, Is.EqualTo(b), "the replacement goes elsewhere in the pool");
            Assert.That((await HostViewAsync(a)).Cordoned, Is.True, "the evacuated host takes no new placements");
        });

        // The replacement's MySQL does not answer yet: no scale-down request is open, the old instance runs.
        await Eventually.UntilAsync(() => Task.FromResult(engineB.ReadyHold.Waiting > 0), SettleTimeout, "the replacement to wait for MySQL on host B");
        var during = (await Evacuation(a).GetAsync())!.Instances.Single();
        Assert.Multiple(() =>
        {
            Assert.That(during.Phase, Is.EqualTo("Replacing"));
            Assert.That(during.ScaleDownId, Is.Null, "the gate is not opened before the replacement is Ready");
            Assert.That(Runtime.Host(a).Running.Keys, Has.Member(old));
        });

        // Stored once per decision: a fresh activation, asked again, answers the same evacuation.
        await Env.Cluster.DeactivateAsync(Evacuation(a));
        await Env.Cluster.WaitForDeactivationAsync(Evacuation(a));
        var again = await Evacuation(a).EvacuateAsync("admin-key");
        Assert.That(again.Value!.Instances.Single().ReplacementId, Is.EqualTo(planned.ReplacementId), "evacuating again starts nothing new");
        engineB.ReadyHold.Release();

        var gated = (await WaitForAsync(a, v => v.Instances.Single().ScaleDownId is not null, "the scale-down request once the replacement is Ready")).Instances.Single();
        Assert.Multiple(() =>
        {
            Assert.That(gated.ReplacementState, Is.EqualTo("Ready"));
            Assert.That(gated.ScaleDownState, Is.EqualTo("Pending"));
            Assert.That(gated.Phase, Is.EqualTo("AwaitingApproval"));
            Assert.That(gated.InstanceState, Is.EqualTo("Ready"), "nothing is removed before approval");
            Assert.That(Runtime.Host(a).Running.Keys, Has.Member(old));
            Assert.That(engineB.Running.Keys, Has.Member(planned.ReplacementId));
        });

        var request = Client.GetGrain<IScaleDownGrain>(gated.ScaleDownId!);
        var blocking = (await request.GetAsync())!.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToList();
        Assert.That((await request.ApproveAsync("admin-key", blocking)).Kind, Is.EqualTo(OutcomeKind.Forbidden), "the evacuation's requester cannot approve");
        var approved = await request.ApproveAsync("approver-key", blocking);
        Assert.That(approved.Ok, Is.True, approved.Error);
        Assert.That((await request.WaitSettledAsync(SettleTimeout))!.State, Is.EqualTo("Removed"));

        var done = await WaitForAsync(a, static v => v.State == "Evacuated", "the evacuation to end");
        Assert.Multiple(() =>
        {
            Assert.That(done.Instances.Single().InstanceState, Is.EqualTo("Removed"));
            Assert.That(done.Instances.Single().ReplacementState, Is.EqualTo("Ready"));
            Assert.That(done.FinishedAt, Is.Not.Null);
            Assert.That(Runtime.Host(a).Running.Keys, Has.No.Member(old), "the old container is gone");
            Assert.That(Env.Audit.About(a).Select(static e => e.Action), Is.SupersetOf(new[] { "host.evacuate", "host.evacuate.scale-down", "host.evacuated" }));
        });
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task AnInstanceWithNoRoomElsewhere_RefusesTheEvacuation_AndNothingChanges()
    {
        var (a, b, old) = await InstanceOnAWithBFreeAsync(disksOnB: 0);

        var refused = await Evacuation(a).EvacuateAsync("admin-key");

        Assert.Multiple(async () =>
        {
            Assert.That(refused.Kind, Is.EqualTo(OutcomeKind.Conflict));
            Assert.That(refused.Error, Does.Contain($"instance {old} has no room elsewhere").And.Contain("disk"), "the reason names the instance and the filter");
            Assert.That((await HostViewAsync(a)).Cordoned, Is.False, "a refused evacuation does not cordon");
            Assert.That(await Evacuation(a).GetAsync(), Is.Null, "no evacuation is recorded");
            Assert.That(Runtime.Host(b).Starts, Is.Empty, "no replacement was started");
            Assert.That((await InstanceGrain(old).GetAsync())!.State, Is.EqualTo("Ready"));
        });
    }

    [Test]
    public async Task AReplacementThatFails_IsReported_AndTheOldInstanceStays()
    {
        var (a, b, old) = await InstanceOnAWithBFreeAsync();
        var engineB = Runtime.Host(b);
        engineB.ReadyHold.Hold();
        var started = await Evacuation(a).EvacuateAsync("admin-key");
        Assert.That(started.Ok, Is.True, started.Error);
        var replacementId = started.Value!.Instances.Single().ReplacementId;
        await Eventually.UntilAsync(() => Task.FromResult(engineB.ReadyHold.Waiting > 0), SettleTimeout, "the replacement to wait for MySQL on host B");
        engineB.FailReadyOf(replacementId);
        engineB.ReadyHold.Release();

        var ended = await WaitForAsync(a, static v => v.State != "Evacuating", "the evacuation to settle");
        var item = ended.Instances.Single();
        var requests = await Client.ListScaleDownsAsync();
        Assert.Multiple(() =>
        {
            Assert.That(ended.State, Is.EqualTo("Incomplete"));
            Assert.That(item.Phase, Is.EqualTo("ReplacementFailed"));
            Assert.That(item.ReplacementState, Is.EqualTo("Failed"));
            Assert.That(item.Reason, Does.Contain($"replacement {replacementId} failed"));
            Assert.That(item.ScaleDownId, Is.Null, "no removal is requested for an instance without a Ready replacement");
            Assert.That(requests.Select(static r => r.InstanceId), Has.No.Member(old));
            Assert.That(item.InstanceState, Is.EqualTo("Ready"));
            Assert.That(Runtime.Host(a).Running.Keys, Has.Member(old), "the old instance stays");
        });

        // Evacuating again retries the instance still on the host with a new replacement.
        var retried = await Evacuation(a).EvacuateAsync("admin-key");
        Assert.That(retried.Ok, Is.True, retried.Error);
        Assert.That(retried.Value!.Instances.Single().ReplacementId, Is.Not.EqualTo(replacementId));
        var gated = await WaitForAsync(a, static v => v.Instances.Single().ScaleDownId is not null || v.State != "Evacuating", "the retried replacement to reach the gate");
        Assert.That(gated.Instances.Single().Phase, Is.EqualTo("AwaitingApproval"), gated.Instances.Single().Reason);
    }

    [Test]
    public async Task AClusterMembersReplacement_KeepsItsShardsHostSpread()
    {
        var hosts = await ThreeHostsAsync();
        var cluster = TestFleet.NewId("c");
        var first = TestFleet.NewId("i");
        var second = TestFleet.NewId("i");
        var one = await ProvisionReadyAsync(first, TestFleet.Instance(Pool, cluster: cluster));
        var two = await ProvisionReadyAsync(second, TestFleet.Instance(Pool, cluster: cluster, role: "replica"));
        var free = hosts.Single(h => h != one.Host && h != two.Host);

        var started = await Evacuation(one.Host!).EvacuateAsync("admin-key");

        Assert.That(started.Ok, Is.True, started.Error);
        Assert.That(started.Value!.Instances.Single().ReplacementHost, Is.EqualTo(free), "not onto the host of the shard's other member");
        var replacement = await InstanceGrain(started.Value.Instances.Single().ReplacementId).WaitSettledAsync(SettleTimeout);
        Assert.Multiple(() =>
        {
            Assert.That(replacement!.State, Is.EqualTo("Ready"), replacement.Reason);
            Assert.That(replacement.Spec.Cluster, Is.EqualTo(cluster), "a new member of the same cluster");
            Assert.That(replacement.Spec.Shard, Is.EqualTo("s0"), "and shard");
            Assert.That(replacement.Spec with { Shard = "s0" }, Is.EqualTo(one.Spec), "with the same spec");
        });
    }

    [Test]
    public async Task AfterAnEvacuation_GetOfTheCluster_ListsTheReplacement()
    {
        await ThreeHostsAsync();
        var name = TestFleet.NewId("c");
        var request = new CreateClusterRequest(name, Pool, 1, 2, SpreadSpec.HostHard, new InstanceTemplateSpec(1, 2048, 512, 50, TestFleet.DiskClass, NumaPolicy.Required, 1));
        var created = await Client.GetGrain<IClusterGrain>(name).CreateAsync(request, TestFleet.Instance(Pool, cluster: name), "tester");
        Assert.That(created.Ok, Is.True, $"{created.Kind} {created.Error}");
        foreach (var member in created.Value!.Members)
            Assert.That((await InstanceGrain(member.InstanceId).WaitSettledAsync(SettleTimeout))?.State, Is.EqualTo("Ready"));
        var evacuated = created.Value.Members[0];

        var started = await Evacuation(evacuated.Host!).EvacuateAsync("admin-key");
        Assert.That(started.Ok, Is.True, started.Error);
        var replacementId = started.Value!.Instances.Single().ReplacementId;
        await InstanceGrain(replacementId).WaitSettledAsync(SettleTimeout);

        var cluster = (await Client.GetGrain<IClusterGrain>(name).GetAsync())!;
        var replacement = cluster.Members.SingleOrDefault(m => m.InstanceId == replacementId);
        Assert.That(replacement, Is.Not.Null, "the replacement is a member of the cluster: " + string.Join(", ", cluster.Members.Select(m => m.InstanceId)));
        Assert.Multiple(() =>
        {
            Assert.That(replacement!.Shard, Is.EqualTo(evacuated.Shard));
            Assert.That(replacement.Host, Is.EqualTo(started.Value.Instances.Single().ReplacementHost));
            Assert.That(replacement.State, Is.EqualTo("Ready"));
            Assert.That(cluster.Members, Has.Count.EqualTo(3), "the old member stays until a second person approves its removal");
        });
    }

    [Test]
    public async Task AnUnknownHost_IsNotFound()
    {
        var outcome = await Evacuation(TestFleet.NewId("host")).EvacuateAsync("admin-key");
        Assert.That(outcome.Kind, Is.EqualTo(OutcomeKind.NotFound));
    }
}
