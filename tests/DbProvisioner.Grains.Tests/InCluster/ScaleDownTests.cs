using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.TestData;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>The confirmation gate and the removal behind it, on the simulated fleet.</summary>
public sealed class ScaleDownTests : GrainTest
{
    private static IScaleDownGrain Request() => Client.GetGrain<IScaleDownGrain>(TestFleet.NewId("sd"));

    [Test]
    public async Task NothingChangesBeforeApproval_AndTheGateHoldsEveryRule()
    {
        var hostId = TestFleet.NewId("host");
        var before = await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");
        var ready = await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool));
        var request = Request();

        var created = await request.CreateAsync(instanceId, "requester-key");
        Assert.That(created.Ok, Is.True, created.Error);
        var risks = created.Value!.Risks.Where(static r => r.Severity == "Blocking").Select(static r => r.Code).ToList();
        Assert.That(risks, Does.Contain("last-member"), "the last member of its shard is a blocking risk");
        Assert.That(Runtime.Host(hostId).Running.Keys, Has.Member(instanceId), "a request alone removes nothing");

        var own = await request.ApproveAsync("requester-key", risks);
        var unacknowledged = await request.ApproveAsync("approver-key", []);
        Assert.Multiple(() =>
        {
            Assert.That(own.Kind, Is.EqualTo(OutcomeKind.Forbidden), "the requester cannot approve");
            Assert.That(unacknowledged.Kind, Is.EqualTo(OutcomeKind.Invalid));
            Assert.That(unacknowledged.Error, Does.Contain("last-member"), "the refusal lists the risks");
        });

        var approved = await request.ApproveAsync("approver-key", risks);
        Assert.That(approved.Ok, Is.True, approved.Error);
        var replay = await request.ApproveAsync("approver-key", risks);
        Assert.That(replay.Ok, Is.True, "approving twice changes nothing");

        var settled = await request.WaitSettledAsync(SettleTimeout);
        Assert.That(settled!.State, Is.EqualTo("Removed"), string.Join(" | ", settled.Steps.Select(static s => $"{s.Step}: {s.Outcome}")));
        var instance = await InstanceGrain(instanceId).GetAsync();
        var after = await HostViewAsync(hostId);
        Assert.Multiple(() =>
        {
            Assert.That(instance!.State, Is.EqualTo("Removed"));
            Assert.That(instance.Steps.Select(static s => s.Step), Is.SupersetOf(new[] { "Draining", "Drained", "ContainerRemoved", "ResourcesFreed", "Removed" }));
            Assert.That(Runtime.Host(hostId).Running.Keys, Has.No.Member(instanceId), "the container is gone");
            Assert.That(after.FreeCores, Is.EqualTo(before.FreeCores), "its CPUs are free");
            Assert.That(after.Instances, Is.Empty, "its port is free");
            Assert.That(after.Disks.Single().State, Is.EqualTo("Ready"), "its disk is Ready again");
            Assert.That(after.Disks.Single().ClaimedBy, Is.Null);
        });
        var removals = Env.Audit.About(instanceId).Select(static e => e.Action).ToList();
        Assert.That(removals, Is.SupersetOf(new[] { "removal.Draining", "removal.Drained", "removal.ContainerRemoved", "removal.ResourcesFreed", "removal.Removed" }));
        Assert.That(ready.Version, Is.LessThan(instance!.Version), "the removal changed the instance's version");
    }

    [Test]
    public async Task AnApprovalAfterTheInstanceChanged_IsRefused_AndRemovesNothing()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");
        await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool));
        var first = Request();
        var second = Request();
        var a = await first.CreateAsync(instanceId, "requester-key");
        var b = await second.CreateAsync(instanceId, "requester-key");
        var codes = a.Value!.Risks.Where(static r => r.Severity == "Blocking").Select(static r => r.Code).ToList();

        // The first approval removes the instance, so its version moves on: the second request is stale.
        Assert.That((await first.ApproveAsync("approver-key", codes)).Ok, Is.True);
        await first.WaitSettledAsync(SettleTimeout);
        var stale = await second.ApproveAsync("approver-key", codes);
        Assert.Multiple(() =>
        {
            Assert.That(b.Ok, Is.True);
            Assert.That(stale.Kind, Is.EqualTo(OutcomeKind.Conflict));
            Assert.That(stale.Error, Does.Contain("changed since the request"));
        });
    }
}
