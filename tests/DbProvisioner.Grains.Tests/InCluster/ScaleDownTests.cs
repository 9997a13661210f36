using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.TestData;
using DbProvisioner.Runtime;
using DbProvisioner.Testing;

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
        var risks = created.Value!.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToList();
        Assert.That(risks, Does.Contain(RiskCode.LastMember), "the last member of its shard is a blocking risk");
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
    public async Task APendingRequestWhoseInstanceAnotherRequestRemoved_IsSuperseded_NotApprovable_AndAuditedOnce()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");
        await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool));
        var (firstId, secondId) = (TestFleet.NewId("sd"), TestFleet.NewId("sd"));
        var first = Client.GetGrain<IScaleDownGrain>(firstId);
        var second = Client.GetGrain<IScaleDownGrain>(secondId);
        var a = await first.CreateAsync(instanceId, "requester-key");
        Assert.That((await second.CreateAsync(instanceId, "requester-key")).Ok, Is.True);
        var codes = a.Value!.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToList();

        Assert.That((await first.ApproveAsync("approver-key", codes)).Ok, Is.True);
        Assert.That((await first.WaitSettledAsync(SettleTimeout))!.State, Is.EqualTo("Removed"));

        // The removal's end settles the other request without anyone reading it: its catalog entry says so.
        var listed = await WaitForCatalogStateAsync(secondId, "Superseded");
        var view = await second.GetAsync();
        var stale = await second.ApproveAsync("approver-key", codes);
        var again = await second.GetAsync();
        var audit = Env.Audit.About(secondId).Where(static e => e.Action == "scale-down.supersede").ToList();
        var expected = $"instance {instanceId} was removed by request {firstId}";
        Assert.Multiple(() =>
        {
            Assert.That(listed, Is.EqualTo("Superseded"));
            Assert.That(view!.State, Is.EqualTo("Superseded"));
            Assert.That(view.Reason, Is.EqualTo(expected));
            Assert.That(view.Decision, Is.Null, "nobody decided: it ended unapproved");
            Assert.That(stale.Kind, Is.EqualTo(OutcomeKind.Conflict));
            Assert.That(stale.Error, Does.Contain("Superseded").And.Contain(expected));
            Assert.That(again!.Steps, Has.Count.EqualTo(view.Steps.Count), "reading or approving again writes nothing");
            Assert.That(audit, Has.Count.EqualTo(1), "one audit row for the change");
            Assert.That(audit[0].OutcomeDetail, Is.EqualTo(expected));
        });
    }

    [Test]
    public async Task APendingRequestIsSuperseded_AsSoonAsAnotherRequestsRemovalOfItsInstanceStarted()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");
        var ready = await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool));
        var (firstId, secondId) = (TestFleet.NewId("sd"), TestFleet.NewId("sd"));
        var first = Client.GetGrain<IScaleDownGrain>(firstId);
        var second = Client.GetGrain<IScaleDownGrain>(secondId);
        var a = await first.CreateAsync(instanceId, "requester-key");
        await second.CreateAsync(instanceId, "requester-key");
        var codes = a.Value!.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToList();
        // A client stays connected, so the first removal waits in its drain.
        var endpoint = ready.Endpoint!;
        Env.MySql.SetStatus(endpoint.Host, endpoint.Port, new MySqlStatus(1, null, false));
        try
        {
            Assert.That((await first.ApproveAsync("approver-key", codes)).Ok, Is.True);
            Assert.That((await InstanceGrain(instanceId).GetAsync())!.State, Is.EqualTo("Draining"));

            var view = await second.GetAsync();

            Assert.That(view!.State, Is.EqualTo("Superseded"));
            Assert.That(view.Reason, Is.EqualTo($"instance {instanceId} is being removed by request {firstId}"));
        }
        finally
        {
            Env.MySql.SetStatus(endpoint.Host, endpoint.Port, new MySqlStatus(0, null, true));
        }
        Assert.That((await first.WaitSettledAsync(SettleTimeout))!.State, Is.EqualTo("Removed"));
    }

    [Test]
    public async Task APendingRequestIsSuperseded_WhenItsInstanceChangedSinceItWasPlanned()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        var engine = Runtime.Host(hostId);
        var instanceId = TestFleet.NewId("i");
        var request = Client.GetGrain<IScaleDownGrain>(TestFleet.NewId("sd"));

        // The engine is away: the instance fails and cannot give its resources back yet.
        engine.EngineDown = true;
        InstanceView failed;
        try
        {
            Assert.That((await InstanceGrain(instanceId).ProvisionAsync(TestFleet.Instance(Pool), "tester")).Ok, Is.True);
            failed = await WaitForInstanceAsync(instanceId, static i => i.State == "Failed", "Failed");
            var planned = await request.CreateAsync(instanceId, "requester-key");
            Assert.That(planned.Ok, Is.True, planned.Error);
            Assert.That(planned.Value!.InstanceVersion, Is.EqualTo(failed.Version));
        }
        finally
        {
            engine.EngineDown = false;
        }
        // Back, the engine lets the instance give its resources back: a new version of the instance.
        var released = await InstanceGrain(instanceId).WaitSettledAsync(SettleTimeout);
        Assert.That(released!.Version, Is.GreaterThan(failed.Version), "the instance gave its resources back");

        var view = await request.GetAsync();
        var approve = await request.ApproveAsync("approver-key", []);

        var expected = $"instance {instanceId} changed since the request was planned (version {failed.Version}, now {released.Version})";
        Assert.Multiple(() =>
        {
            Assert.That(view!.State, Is.EqualTo("Superseded"));
            Assert.That(view.Reason, Is.EqualTo(expected));
            Assert.That(approve.Kind, Is.EqualTo(OutcomeKind.Conflict));
            Assert.That(approve.Error, Does.Contain(expected));
        });
    }

    private static async Task<string?> WaitForCatalogStateAsync(string requestId, string state)
    {
        var summary = await Eventually.UntilAsync(
            async () => (await Client.For(requestId).GetScaleDownsAsync()).SingleOrDefault(r => r.Id == requestId),
            summary => summary?.State == state, SettleTimeout, $"scale-down request {requestId} listed as {state}",
            static summary => summary is null ? "not listed" : summary.State);
        return summary!.State;
    }

    private static async Task<InstanceView> WaitForInstanceAsync(string instanceId, Func<InstanceView, bool> condition, string what)
    {
        var view = await Eventually.UntilAsync(() => InstanceGrain(instanceId).GetAsync(), view => view is not null && condition(view),
            SettleTimeout, $"instance {instanceId} {what}", static view => view is null ? "no instance" : $"{view.State} ({view.Reason})");
        return view!;
    }
}
