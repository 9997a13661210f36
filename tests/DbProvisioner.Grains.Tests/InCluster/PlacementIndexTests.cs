using DbProvisioner.Contracts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Grains.Tests.Cluster;
using DbProvisioner.Grains.Tests.TestData;
using DbProvisioner.Testing;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>
/// The pool's placement index after a member's placement: a host tells it its capacity only when the index's own
/// assumption was wrong, and a wrong (stale) entry is still corrected by the host that refuses.
/// </summary>
public sealed class PlacementIndexTests : GrainTest
{
    private static readonly TimeSpan IndexTimeout = TimeSpan.FromSeconds(10);

    private IPlacementGrain Index => Client.GetGrain<IPlacementGrain>(Pool);

    [Test]
    public async Task A_reservation_the_index_assumed_sends_it_no_update_and_the_index_shows_the_host_as_it_is()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var spec = TestFleet.Instance(Pool);
        var id = TestFleet.NewId("i");

        using var trace = GrainCallRecorder.Start();
        var outcome = await Client.GetGrain<IShardGrain>(Mapping.ShardKey(spec.Cluster, spec.Shard)).PlaceMemberAsync(id, spec, Mapping.ToRequest(id, spec));
        Assert.That(outcome.Reservation, Is.Not.Null, outcome.Reason);

        var actual = await HostGrain(hostId).GetCapacityAsync();
        var indexed = (await Index.SnapshotAsync()).Single(h => h.HostId == hostId);
        Assert.Multiple(() =>
        {
            Assert.That(trace.Calls.Select(static c => c.ToString()), Has.None.EqualTo("IPlacementGrain.UpdateAsync"),
                "the index already assumed what the host reserved: no message to tell it again");
            Assert.That(indexed.Nodes, Is.EqualTo(actual!.Nodes), "free cores and memory per node as the host has them");
            Assert.That(indexed.ReadyDisks, Is.EqualTo(actual.ReadyDisks));
            Assert.That(indexed.FreePorts, Is.EqualTo(actual.FreePorts));
            Assert.That(indexed.FreeSwapMiB, Is.EqualTo(actual.FreeSwapMiB));
        });
    }

    [Test]
    public async Task A_host_whose_capacity_differs_from_what_the_index_assumed_corrects_the_index()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var before = await HostGrain(hostId).GetCapacityAsync();
        var spec = TestFleet.Instance(Pool);
        var id = TestFleet.NewId("i");

        // An assumption that missed: the index thinks the host is as it was before the reservation.
        var outcome = await HostGrain(hostId).ReserveAssumedAsync(Mapping.ToRequest(id, spec), before);
        Assert.That(outcome.Reservation, Is.Not.Null, outcome.Reason);

        var actual = await HostGrain(hostId).GetCapacityAsync();
        await Eventually.UntilAsync(async () => (await Index.SnapshotAsync()).Single(h => h.HostId == hostId).FreeCores,
            free => free == actual!.FreeCores, IndexTimeout, $"the index to show the {actual!.FreeCores} free cores of {hostId} after its reservation");
    }

    [Test]
    public async Task A_stale_index_entry_is_corrected_by_the_host_that_refuses_before_the_refusal_is_answered()
    {
        var full = TestFleet.NewId("host");
        var other = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(full, Pool));
        await RegisterWithReadyDisksAsync(TestFleet.Host(other, Pool));
        var real = await HostGrain(full).GetCapacityAsync();
        // The index believes the first host has twice its memory on every node, so it ranks it first for a large member.
        await Index.RefreshAsync(real! with { Nodes = [.. real.Nodes.Select(static n => n with { FreeMemoryMiB = n.FreeMemoryMiB * 2, TotalMemoryMiB = n.TotalMemoryMiB * 2 })] });
        var spec = TestFleet.Instance(Pool, memoryMiB: real.Nodes[0].FreeMemoryMiB + 1024);
        var id = TestFleet.NewId("i");

        var outcome = await Client.GetGrain<IShardGrain>(Mapping.ShardKey(spec.Cluster, spec.Shard)).PlaceMemberAsync(id, spec, Mapping.ToRequest(id, spec));

        // Read at once, not eventually: the next attempt of a requester comes straight after the refusal, and an index still
        // holding its own assumption of this request would refuse it for capacity the host never gave.
        var indexed = (await Index.SnapshotAsync()).Single(h => h.HostId == full);
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Reservation, Is.Null, "no host has the memory on one node, whatever the index believed");
            Assert.That(indexed.Nodes.Select(static n => n.FreeMemoryMiB), Is.EqualTo(real.Nodes.Select(static n => n.FreeMemoryMiB)),
                $"the index shows the real free memory of {full} when its refusal is answered");
            Assert.That(indexed.FreeCores, Is.EqualTo(real.FreeCores), "nor does it keep the cores it assumed for the refused member");
            Assert.That(outcome.Reason, Does.Contain($"host {full}"), "the refusal names the host that refused first");
        });
    }
    [Test]
    public async Task Capacity_the_index_assumed_for_requesters_that_never_reached_the_host_is_read_again_before_a_refusal()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var cpus = (await HostGrain(hostId).GetCapacityAsync())!.Nodes.Select(static n => n.FreeCpus).Min();
        // Two whole-node members answered by the index, whose requesters died before they asked the host: the index
        // now assumes both nodes taken, and the host holds nothing.
        foreach (var _ in Enumerable.Range(0, 2))
        {
            var lost = TestFleet.Instance(Pool, cpus: cpus, memoryMiB: 1024);
            var lostId = TestFleet.NewId("i");
            var answered = await Index.PlaceAsync(new PlacementRequest(Mapping.ToRequest(lostId, lost), Pool,
                new ShardContext(lost.Cluster, lost.Shard, Mapping.ToRule(lost.Spread), [])));
            Assert.That(answered.Decision.HostId, Is.EqualTo(hostId), answered.Decision.Reason);
        }

        var spec = TestFleet.Instance(Pool, cpus: cpus, memoryMiB: 1024);
        var id = TestFleet.NewId("i");
        var outcome = await Client.GetGrain<IShardGrain>(Mapping.ShardKey(spec.Cluster, spec.Shard)).PlaceMemberAsync(id, spec, Mapping.ToRequest(id, spec));

        var actual = await HostGrain(hostId).GetCapacityAsync();
        var indexed = (await Index.SnapshotAsync()).Single(h => h.HostId == hostId);
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Reservation?.HostId, Is.EqualTo(hostId), $"placed on the host that has the room: {outcome.Reason}");
            Assert.That(indexed.Nodes.Select(static n => n.FreeCores), Is.EqualTo(actual!.Nodes.Select(static n => n.FreeCores)),
                "the index shows the host as it is, one node taken");
        });
    }
}
