using DbProvisioner.Contracts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Grains.Tests.TestData;
using DbProvisioner.Testing;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>Grain state is persisted: a new activation reads what the last one decided.</summary>
public sealed class DeactivationTests : GrainTest
{
    [Test]
    public async Task EveryGrainsState_SurvivesDeactivation_AndTheHostKeepsItsReservations()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, reservedCpus: "0,8"));
        var firstId = TestFleet.NewId("i");
        var spec = TestFleet.Instance(Pool);
        var instance = await ProvisionReadyAsync(firstId, spec);
        var host = await HostViewAsync(hostId);
        var credentials = await InstanceGrain(firstId).GetCredentialsAsync();
        var shardKey = $"{spec.Cluster}/{spec.Shard}";
        var shardMembers = await Client.GetGrain<IShardGrain>(shardKey).GetMembersAsync();

        var grains = new IAddressable[]
        {
            InstanceGrain(firstId),
            HostGrain(hostId),
            DiskPoolGrain(hostId),
            Client.GetGrain<IShardGrain>(shardKey),
            Client.GetGrain<IPlacementGrain>(Pool),
        };
        foreach (var grain in grains)
        {
            await Env.Cluster.DeactivateAsync(grain);
            await Env.Cluster.WaitForDeactivationAsync(grain);
        }

        var instanceAfter = await InstanceGrain(firstId).GetAsync();
        var hostAfter = await HostViewAsync(hostId);
        var credentialsAfter = await InstanceGrain(firstId).GetCredentialsAsync();
        Assert.That(instanceAfter, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(instanceAfter!.State, Is.EqualTo("Ready"));
            Assert.That(instanceAfter.Host, Is.EqualTo(instance.Host));
            Assert.That(instanceAfter.CpuSet, Is.EqualTo(instance.CpuSet));
            Assert.That(instanceAfter.NumaNodes, Is.EqualTo(instance.NumaNodes));
            Assert.That(instanceAfter.Disk, Is.EqualTo(instance.Disk));
            Assert.That(instanceAfter.Device, Is.EqualTo(instance.Device));
            Assert.That(instanceAfter.Endpoint, Is.EqualTo(instance.Endpoint));
            Assert.That(instanceAfter.Version, Is.EqualTo(instance.Version));
            Assert.That(instanceAfter.Steps.Select(s => s.Step), Is.EqualTo(instance.Steps.Select(s => s.Step)));
            Assert.That(instanceAfter.Spec, Is.EqualTo(instance.Spec));
            Assert.That(credentialsAfter?.Password, Is.EqualTo(credentials?.Password), "credentials survive a new activation");

            Assert.That(hostAfter.Instances, Is.EqualTo(host.Instances));
            Assert.That(hostAfter.Disks, Is.EqualTo(host.Disks));
            Assert.That(hostAfter.FreeCores, Is.EqualTo(host.FreeCores));
            Assert.That(hostAfter.ReservedCpus, Is.EqualTo(host.ReservedCpus));
            Assert.That(hostAfter.NumaNodes.SelectMany(n => n.Cores), Is.EqualTo(host.NumaNodes.SelectMany(n => n.Cores)));
        });
        Assert.That((await Client.GetGrain<IShardGrain>(shardKey).GetMembersAsync()).Select(m => m.InstanceId),
            Is.EqualTo(shardMembers.Select(m => m.InstanceId)), "shard members survive");

        // The reloaded host still holds the first instance's CPUs, disk and port: the next one gets others.
        var second = await ProvisionReadyAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool));
        Assert.Multiple(() =>
        {
            Assert.That(CpuSet.Parse(second.CpuSet!).Overlaps(CpuSet.Parse(instance.CpuSet!)), Is.False);
            Assert.That(second.Device, Is.Not.EqualTo(instance.Device));
            Assert.That(second.Endpoint!.Port, Is.Not.EqualTo(instance.Endpoint!.Port));
        });
        Assert.That(Runtime.Host(hostId).Starts.Count(s => s.InstanceId == firstId), Is.EqualTo(1), "a Ready instance is not started again on reactivation");
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task AnInstanceDeactivatedWhileItsContainerStarts_GoesOnToReady_WithOneReservation()
    {
        var hostId = TestFleet.NewId("host");
        var before = await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var engine = Runtime.Host(hostId);
        // Container starts on this host wait for the test: the activation goes away while one is under way, not after.
        engine.StartHold.Hold();
        var id = TestFleet.NewId("i");
        try
        {
            var outcome = await InstanceGrain(id).ProvisionAsync(TestFleet.Instance(Pool), "tester");
            Assert.That(outcome.Ok, Is.True, outcome.Error);
            await Eventually.UntilAsync(() => Task.FromResult(engine.StartHold.Waiting), static waiting => waiting > 0, SettleTimeout,
                $"the container of {id} to be starting", static waiting => $"{waiting} start(s) under way");
            var mid = await InstanceGrain(id).GetAsync();
            Assert.That(mid?.State, Is.AnyOf("Placed", "DiskAttached"), "deactivated mid-provisioning, while the container starts");
            // Placed, and the container is being started: the activation goes away (a crash, a rebalance).
            await Env.Cluster.DeactivateAsync(InstanceGrain(id));
            await Env.Cluster.WaitForDeactivationAsync(InstanceGrain(id));
            engine.StartHold.Release();

            var view = await InstanceGrain(id).WaitSettledAsync(SettleTimeout);

            Assert.That(view?.State, Is.EqualTo("Ready"), view?.Reason);
            var host = await HostViewAsync(hostId);
            AssertHostViewConsistent(host);
            Assert.Multiple(() =>
            {
                Assert.That(host.Instances.Select(i => i.Id), Is.EqualTo(new[] { id }), "one reservation");
                Assert.That(host.FreeCores, Is.EqualTo(before.FreeCores - 1));
                Assert.That(host.Disks.Count(d => d.State == "Claimed"), Is.EqualTo(1));
                Assert.That(engine.Running.Keys, Is.EqualTo(new[] { id }));
                Assert.That(engine.Running[id].Cpus, Is.EqualTo(CpuSet.Parse(view!.CpuSet!)));
                Assert.That(engine.Running[id].Port, Is.EqualTo(view.Endpoint!.Port));
            });
            AssertNoDoubleUseOnEngines();
        }
        finally
        {
            engine.StartHold.Release();
        }
    }

    [Test]
    public async Task ResumeOfAFinishedInstance_ChangesNothing()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var id = TestFleet.NewId("i");
        var ready = await ProvisionReadyAsync(id, TestFleet.Instance(Pool));

        await InstanceGrain(id).ResumeAsync();

        var after = await InstanceGrain(id).GetAsync();
        Assert.Multiple(() =>
        {
            Assert.That(after?.State, Is.EqualTo("Ready"));
            Assert.That(after?.Version, Is.EqualTo(ready.Version), "no write for a no-op");
            Assert.That(Runtime.Host(hostId).Starts.Count(s => s.InstanceId == id), Is.EqualTo(1));
        });
    }
}
