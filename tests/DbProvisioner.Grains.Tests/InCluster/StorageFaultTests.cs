using DbProvisioner.Domain.Clusters;
using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Disks;
using DbProvisioner.Grains.Tests.Cluster;
using DbProvisioner.Grains.Tests.TestData;
using DbProvisioner.Testing;

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
        var codes = created.Value!.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToList();

        // The meta database goes away exactly when the instance would record Removed.
        var refusedBefore = GrainTestCluster.Storage.RefusedWrites;
        using (GrainTestCluster.Storage.FailWrites((id, s) => id.Key.ToString() == instanceId && s is InstanceGrainState { State: DbProvisioner.Api.InstanceState.Removed }))
        {
            Assert.That((await request.ApproveAsync("approver-key", codes)).Ok, Is.True);
            // Two refusals: the write failed, and the step was tried again rather than abandoned.
            await Eventually.UntilAsync(() => Task.FromResult(GrainTestCluster.Storage.RefusedWrites - refusedBefore), static refused => refused >= 2, Patience,
                "the refused Removed write to be tried again", static refused => $"{refused} write(s) refused");

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
        await Eventually.UntilAsync(async () => (await Client.ListInstancesAsync()).Single(i => i.Id == instanceId).State, static state => state == "Removed", Patience,
            $"the catalog to list {instanceId} as Removed");
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
    public async Task APlacedWriteThatIsRefused_PlacesAgain_AndNoOtherHostKeepsAReservationForTheInstance()
    {
        var first = TestFleet.NewId("host");
        var second = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(first, Pool, disks: 1, minSeeded: 0));
        await RegisterWithReadyDisksAsync(TestFleet.Host(second, Pool, disks: 1, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");
        var spec = TestFleet.Instance(Pool, cluster: "standalone", shard: instanceId);

        // The write that records the first placement is refused: nothing stored says which host reserved, and the
        // step is tried again (the index, told the first host took one, may well choose the other host now).
        var refusals = 0;
        InstanceView? ready;
        using (GrainTestCluster.Storage.FailWrites((id, s) => id.Key.ToString() == instanceId
            && s is InstanceGrainState { State: DbProvisioner.Api.InstanceState.Placed } && Interlocked.Increment(ref refusals) == 1))
        {
            Assert.That((await InstanceGrain(instanceId).ProvisionAsync(spec, "tester")).Ok, Is.True);
            ready = await InstanceGrain(instanceId).WaitSettledAsync(Patience);
        }

        Assert.That(ready?.State, Is.EqualTo("Ready"), ready?.Reason);
        Assert.That(refusals, Is.GreaterThanOrEqualTo(1), "the Placed write was refused once");
        var holders = new List<string>();
        foreach (var hostId in new[] { first, second })
            if ((await Client.GetGrain<IHostGrain>(hostId).GetAsync())!.Instances.Any(i => i.Id == instanceId)) holders.Add(hostId);
        Assert.That(holders, Is.EqualTo(new[] { ready!.Host }), "only the host the instance lives on holds its CPUs, disk and port");
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
        await Eventually.UntilAsync(() => Task.FromResult(Env.Audit.About(instanceId).Select(static e => e.Action).ToList()), rows => rows.Count >= steps.Count, Patience,
            "the outbox to write every step once the trail was back", static rows => string.Join(", ", rows));
        var actions = Env.Audit.About(instanceId).Select(static e => e.Action).ToList();
        Assert.That(actions, Is.EqualTo(steps), "one row per step, in order, none twice");
    }
    [Test]
    public async Task ADiskRoundStoppedByARefusedWrite_GivesBackTheJobsItTook_SoTheNextRoundFormatsThem()
    {
        var hostId = TestFleet.NewId("host");
        // The meta database refuses the first write that would record a formatted disk: the round stops there.
        var refused = 0;
        using (GrainTestCluster.Storage.FailWrites((id, s) => id.Key.ToString() == hostId
            && s is HostGrainState { Host: { } h } && h.Disks.Disks.Values.Any(static d => d.State == DiskState.Ready)
            && Interlocked.Increment(ref refused) == 1))
        {
            await RegisterAsync(TestFleet.Host(hostId, Pool, disks: 3, minSeeded: 0));
            await DiskPoolGrain(hostId).RunUntilIdleAsync();
            Assert.That(refused, Is.GreaterThanOrEqualTo(1), "the fault was not hit");
        }

        // Storage is back: one more round formats every disk, including those the stopped round had taken.
        await DiskPoolGrain(hostId).RunUntilIdleAsync();
        var view = await HostViewAsync(hostId);
        Assert.That(view.Disks.Select(static d => $"{d.Id}:{d.State}"), Is.All.EndsWith(":Ready"));
    }

    [Test]
    public async Task AClusterWhoseProvisioningWriteIsRefused_IsCreatedByTheRetry_AndHoldsNoMoreThanItsMembers()
    {
        var hostIds = new[] { TestFleet.NewId("host"), TestFleet.NewId("host") };
        foreach (var hostId in hostIds) await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var name = TestFleet.NewId("c");
        var template = TestFleet.Instance(Pool, cluster: name);
        var request = new CreateClusterRequest(name, Pool, 1, 2, SpreadSpec.HostHard, new InstanceTemplateSpec(2, 2048, 512, 50, TestFleet.DiskClass, NumaPolicy.Required, 1));
        var cluster = Client.GetGrain<IClusterGrain>(name);

        // The members are reserved, then the meta database refuses the write that says so: the client sees a storage error.
        using (GrainTestCluster.Storage.FailWrites((id, s) => id.Key.ToString() == name && s is ClusterGrainState { Stage: ClusterStage.Provisioning }))
        {
            Assert.ThrowsAsync<StorageUnavailableException>(() => cluster.CreateAsync(request, template, "tester"));
        }

        // The client retries the same request, as the 503 tells it to: the cluster exists afterwards, and runs.
        var retried = await cluster.CreateAsync(request, template, "tester");
        Assert.That(retried.Ok, Is.True, $"{retried.Kind} {retried.Error}");
        Assert.That(await cluster.GetAsync(), Is.Not.Null, "GET of a cluster whose creation answered 202");
        foreach (var member in retried.Value!.Members)
        {
            var view = await InstanceGrain(member.InstanceId).WaitSettledAsync(Patience);
            Assert.That(view?.State, Is.EqualTo("Ready"), $"{member.InstanceId}: {view?.Reason}");
        }
        var members = retried.Value.Members.Select(static m => m.InstanceId).ToHashSet(StringComparer.Ordinal);
        foreach (var hostId in hostIds)
        {
            var host = await HostViewAsync(hostId);
            var held = host.Instances.Select(static i => i.Id).ToList();
            Assert.That(held, Is.SubsetOf(members).And.Count.EqualTo(1), $"{hostId} holds one member and nothing else");
        }
    }
}
