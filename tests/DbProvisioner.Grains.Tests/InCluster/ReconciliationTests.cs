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
}
