using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.TestData;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>What the grains believe against what the (simulated) engine reports.</summary>
public sealed class ReconciliationTests : GrainTest
{
    [Test]
    public async Task AnInstanceWhoseContainerVanished_IsMarkedAndVisible_AndTheMarkClearsWhenNothingIsWrong()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");
        await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool));
        var reconciler = Client.GetGrain<IReconcilerGrain>(hostId);

        var clean = await reconciler.ReconcileAsync(removeOrphans: false, DateTimeOffset.UtcNow.AddMinutes(-10));
        Assert.That(clean.Vanished, Is.Empty, "a consistent host has nothing to report");

        Assert.That(Runtime.Host(hostId).VanishContainer(instanceId), Is.True);
        var found = await reconciler.ReconcileAsync(removeOrphans: false, DateTimeOffset.UtcNow.AddMinutes(-10));
        var view = await Client.GetGrain<IInstanceGrain>(instanceId).GetAsync();
        Assert.Multiple(() =>
        {
            Assert.That(found.Vanished, Is.EqualTo(new[] { instanceId }));
            Assert.That(view!.ContainerMissing, Is.True, "the finding shows on the instance");
            Assert.That(view.State, Is.EqualTo("Ready"), "a finding is not a state change");
        });

        var again = await reconciler.ReconcileAsync(removeOrphans: false, DateTimeOffset.UtcNow.AddMinutes(-10));
        Assert.That(again.Vanished, Is.Empty, "already marked: reported once");
    }

    [Test]
    public async Task AReservationLeftOnAnotherHostByACrashBeforeThePlacedWrite_IsGivenBack_AndTheInstancesOwnIsKept()
    {
        var first = TestFleet.NewId("host");
        var second = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(first, Pool, disks: 1, minSeeded: 0));
        await RegisterWithReadyDisksAsync(TestFleet.Host(second, Pool, disks: 1, minSeeded: 0));
        var instanceId = TestFleet.NewId("i");
        var spec = TestFleet.Instance(Pool, cluster: "standalone", shard: instanceId);
        var ready = await ProvisionReadyAsync(instanceId, spec);
        var elsewhere = ready.Host == first ? second : first;
        // What a crash after a reservation and before the Placed write leaves once the resumed instance placed itself again.
        var left = await Client.GetGrain<IHostGrain>(elsewhere).ReserveAsync(Mapping.ToRequest(instanceId, spec));
        Assert.That(left.Reservation, Is.Not.Null, left.Reason);

        var there = await Client.GetGrain<IReconcilerGrain>(elsewhere).ReconcileAsync(removeOrphans: false, DateTimeOffset.UtcNow.AddMinutes(-10));
        var home = await Client.GetGrain<IReconcilerGrain>(ready.Host!).ReconcileAsync(removeOrphans: false, DateTimeOffset.UtcNow.AddMinutes(-10));
        var elsewhereView = await Client.GetGrain<IHostGrain>(elsewhere).GetAsync();
        var homeView = await Client.GetGrain<IHostGrain>(ready.Host!).GetAsync();
        Assert.Multiple(() =>
        {
            Assert.That(there.ReservationsReleased, Is.EqualTo(new[] { instanceId }));
            Assert.That(elsewhereView!.Instances.Select(static i => i.Id), Has.No.Member(instanceId), "CPUs, port and disk free again");
            Assert.That(home.ReservationsReleased, Is.Empty, "the host the instance lives on keeps it");
            Assert.That(homeView!.Instances.Select(static i => i.Id), Has.Member(instanceId));
        });
    }
}
