using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.TestData;
using DbProvisioner.Testing;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>
/// Heartbeats of a simulated host whose engine goes down and comes back: unhealthy after the threshold with a reason,
/// skipped by placement with that reason, healthy again when the engine answers. The heartbeat is called by hand here
/// (the server's HostHeartbeatService calls it on its clock; see HostHeartbeatTests in Server.Tests).
/// </summary>
public sealed class HostHealthTests : GrainTest
{
    private static readonly int Threshold = new HostHealthOptions().FailureThreshold;

    [Test]
    public async Task A_host_whose_engine_stops_answering_is_unhealthy_after_the_threshold_and_placement_refuses_it_with_the_reason()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 2, minSeeded: 0));
        var host = HostGrain(hostId);
        var seen = await host.HeartbeatAsync();
        Assert.That(seen?.Healthy, Is.True);
        var lastSeen = (await HostViewAsync(hostId)).LastSeen;
        Assert.That(lastSeen, Is.Not.Null, "an answered heartbeat sets last seen");

        Runtime.Host(hostId).EngineDown = true;
        for (var beat = 1; beat < Threshold; beat++)
        {
            await host.HeartbeatAsync();
            Assert.That((await HostViewAsync(hostId)).Healthy, Is.True, $"after {beat} failed heartbeat(s) of {Threshold} the host is still healthy");
        }
        await host.HeartbeatAsync();

        var down = await HostViewAsync(hostId);
        Assert.Multiple(() =>
        {
            Assert.That(down.Healthy, Is.False, $"after {Threshold} failed heartbeats");
            Assert.That(down.Reason, Does.Contain("does not answer"), "the reason says the engine does not answer");
            Assert.That(down.LastSeen, Is.EqualTo(lastSeen), "last seen stays at the engine's last answer");
        });
        var listed = await Eventually.UntilAsync(async () => (await Client.ListHostsAsync()).Single(h => h.Id == hostId),
            static h => !h.Healthy, TimeSpan.FromSeconds(10), "the host list to show the host unhealthy");
        Assert.That(listed.Reason, Is.EqualTo(down.Reason));

        // Placement hears of it by a one-way message: wait until its index has it, then ask.
        var placement = Client.GetGrain<IPlacementGrain>(Pool);
        await Eventually.UntilAsync(async () => (await placement.SnapshotAsync()).Single(h => h.HostId == hostId).Healthy,
            static healthy => !healthy, TimeSpan.FromSeconds(10), "the placement index to see the host unhealthy");
        var refused = await ProvisionAndSettleAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool));
        Assert.That(refused.FailureReason, Does.Contain("unhealthy").And.Contain(down.Reason!), refused.ToString());

        Runtime.Host(hostId).EngineDown = false;
        var back = await host.HeartbeatAsync();
        var view = await HostViewAsync(hostId);
        Assert.Multiple(() =>
        {
            Assert.That(back?.Healthy, Is.True);
            Assert.That(view.Healthy, Is.True, "one answer clears the unhealthy state");
            Assert.That(view.Reason, Is.Null);
            Assert.That(view.LastSeen, Is.GreaterThanOrEqualTo(lastSeen!.Value));
        });
        await Eventually.UntilAsync(async () => (await placement.SnapshotAsync()).Single(h => h.HostId == hostId).Healthy,
            static healthy => healthy, TimeSpan.FromSeconds(10), "the placement index to see the host healthy again");
        await ProvisionReadyAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool));
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task A_failed_heartbeat_below_the_threshold_changes_nothing()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        Runtime.Host(hostId).EngineDown = true;
        var health = await HostGrain(hostId).HeartbeatAsync();
        Assert.That(health, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(health!.Healthy, Is.EqualTo(Threshold > 1), "one lost ping is not a dead engine");
            Assert.That(health.Failures, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_host_not_registered_has_no_heartbeat() =>
        Assert.That(await HostGrain(TestFleet.NewId("ghost")).HeartbeatAsync(), Is.Null);
}
