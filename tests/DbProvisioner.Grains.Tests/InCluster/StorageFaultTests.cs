using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.Cluster;
using DbProvisioner.Grains.Tests.TestData;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>
/// The meta database refusing writes in the middle of a step: the instance serves only what it stored, retries the
/// step until the write is taken, and then the catalog and the audit trail agree with it (one row per state change).
/// </summary>
public sealed class StorageFaultTests : GrainTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Test]
    public async Task AFailedWriteDuringRemoval_IsNeverServed_AndTheStepCompletesOnceStorageIsBack()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");
        await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool));
        var request = Client.GetGrain<IScaleDownGrain>(TestFleet.NewId("sd"));
        var created = await request.CreateAsync(instanceId, "requester-key");
        var codes = created.Value!.Risks.Where(static r => r.Severity == "Blocking").Select(static r => r.Code).ToList();

        // The meta database goes away exactly when the instance would record Removed.
        var refusedBefore = GrainTestCluster.Storage.RefusedWrites;
        using (GrainTestCluster.Storage.FailWrites((id, s) => id.Key.ToString() == instanceId && s is InstanceGrainState { State: DbProvisioner.Api.InstanceState.Removed }))
        {
            Assert.That((await request.ApproveAsync("approver-key", codes)).Ok, Is.True);
            // Two refusals: the write failed, and the step was tried again rather than abandoned.
            await UntilAsync(() => Task.FromResult(GrainTestCluster.Storage.RefusedWrites >= refusedBefore + 2), "the Removed write was not tried twice");

            var served = await InstanceGrain(instanceId).GetAsync();
            var listed = (await Client.ListInstancesAsync()).Single(i => i.Id == instanceId);
            Assert.Multiple(() =>
            {
                Assert.That(served!.State, Is.EqualTo("ResourcesFreed"), "the detail view serves what was stored, not the refused Removed");
                Assert.That(served.Steps.Select(static s => s.Step), Has.No.Member("Removed"));
                Assert.That(listed.State, Is.EqualTo("ResourcesFreed"), "the catalog agrees with the stored state");
                Assert.That(Env.Audit.About(instanceId).Select(static e => e.Action), Has.No.Member("removal.Removed"), "no audit row for a change that was not stored");
            });
        }

        // Storage is back: the removal finishes by itself, in a server that kept running.
        var settled = await InstanceGrain(instanceId).WaitSettledAsync(Patience);
        Assert.That(settled!.State, Is.EqualTo("Removed"), string.Join(" | ", settled.Steps.Select(static s => $"{s.Step}: {s.Outcome}")));
        await UntilAsync(async () => (await Client.ListInstancesAsync()).Single(i => i.Id == instanceId).State == "Removed", "the catalog was not repaired");
        var rows = Env.Audit.About(instanceId).Where(static e => e.Action.StartsWith("removal.", StringComparison.Ordinal) && e.Outcome != "retrying").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(rows.Count(static e => e.Action == "removal.Removed"), Is.EqualTo(1), "exactly one audit row for Removed");
            Assert.That(rows.GroupBy(static e => e.Action).Where(static g => g.Count() > 1).Select(static g => g.Key), Is.Empty, "no state change audited twice");
            Assert.That(settled.Steps.Count(static s => s.Step == "Removed"), Is.EqualTo(1));
        });
        Assert.That((await request.WaitSettledAsync(Patience))!.State, Is.EqualTo("Removed"));
    }

    [Test]
    public async Task AFailedWriteOfANewRequest_IsAStorageError_AndLeavesNothingBehind()
    {
        var hostId = TestFleet.NewId("host");
        var before = await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");

        using (GrainTestCluster.Storage.FailWrites((id, _) => id.Key.ToString() == instanceId))
        {
            var refused = Assert.ThrowsAsync<StorageUnavailableException>(() => InstanceGrain(instanceId).ProvisionAsync(TestFleet.Instance(Pool), "tester"));
            Assert.That(refused!.Message, Does.Contain("refused"));
            Assert.That(await InstanceGrain(instanceId).GetAsync(), Is.Null, "an instance whose request was not stored does not exist");
        }

        Assert.Multiple(async () =>
        {
            Assert.That((await Client.ListInstancesAsync()).Select(static i => i.Id), Has.No.Member(instanceId));
            Assert.That(Env.Audit.About(instanceId), Is.Empty);
            Assert.That((await HostViewAsync(hostId)).FreeCores, Is.EqualTo(before.FreeCores), "nothing was reserved");
        });

        // The same request again, with storage back, is accepted as new.
        var ready = await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool));
        Assert.That(ready.Steps[0].Step, Is.EqualTo("Requested"));
    }

    [Test]
    public async Task AnAuditTrailThatIsAway_HoldsNothingUp_AndGetsEveryRowOnceWhenItIsBack()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");
        InstanceView ready;
        Env.Audit.FailWrites = true;
        try
        {
            ready = await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool));
            Assert.That(Env.Audit.About(instanceId), Is.Empty);
        }
        finally
        {
            Env.Audit.FailWrites = false;
        }

        var steps = ready.Steps.Select(static s => "provisioning." + s.Step).ToList();
        await UntilAsync(() => Task.FromResult(Env.Audit.About(instanceId).Count >= steps.Count), "the outbox was not written once the trail was back");
        var actions = Env.Audit.About(instanceId).Select(static e => e.Action).ToList();
        Assert.That(actions, Is.EqualTo(steps), "one row per step, in order, none twice");
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"{failure} within {Patience.TotalSeconds:0} s");
            await Task.Delay(20);
        }
    }
}
