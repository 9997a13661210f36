using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.Cluster;
using DbProvisioner.Grains.Tests.TestData;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>
/// The hot path of <c>POST /instances</c> as grain calls: the request, then the instance's placement to the reserved host
/// (the API's pool check is answered by its memory of known pools once the pool was seen: KnownPoolsTests). Counted with
/// a call filter in the test silo.
/// </summary>
public sealed class ProvisioningPathTests : GrainTest
{
    private static readonly TimeSpan PathTimeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task A_standalone_provisioning_reaches_its_reserved_host_in_three_calls_without_waiting_for_the_catalog()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var id = TestFleet.NewId("i");
        var spec = TestFleet.Instance(Pool, cluster: "standalone", shard: id, role: "replica");

        using var trace = GrainCallRecorder.Start();
        var reserved = trace.Arrival(static c => c is { Interface: nameof(IHostGrain), Method: nameof(IHostGrain.ReserveAsync) });
        // The catalog entry of Requested is held until the host has reserved: the reservation must not wait for it.
        trace.Hold(static c => c.Interface == nameof(ICatalogGrain), reserved);

        // What InstancesApi.CreateAsync does in a pool it has seen: the request.
        var accepted = InstanceGrain(id).ProvisionAsync(spec, "tester");
        Assert.That(await Task.WhenAny(reserved, Task.Delay(PathTimeout)), Is.SameAs(reserved),
            $"the host did not reserve within {PathTimeout.TotalSeconds} s while the catalog was held; calls: {string.Join(", ", trace.Calls)}");
        var outcome = await accepted;
        Assert.That(outcome.Ok, Is.True, outcome.Error);
        Assert.That(outcome.Value!.State, Is.EqualTo("Requested"), "the answer is the request as stored, whatever placement did meanwhile");

        var calls = trace.Calls.ToList();
        var path = calls.Take(calls.FindIndex(static c => c.Method == nameof(IHostGrain.ReserveAsync)) + 1)
            .Where(static c => c.Interface != nameof(ICatalogGrain)).Select(static c => c.ToString()).ToList();
        Assert.That(path, Is.EqualTo(new[]
        {
            "IInstanceGrain.ProvisionAsync",
            "IPlacementGrain.PlaceAsync",
            "IHostGrain.ReserveAsync",
        }), "the calls up to the reservation, in order (catalog writes held, off the path)");
        Assert.That(calls, Has.None.Matches<RecordedCall>(static c => c.Method is nameof(IHostGrain.GetLocationAsync) or nameof(ICatalogGrain.GetHostsAsync)),
            "no location lookup after the reservation answered it, no pool check over every catalog bucket");

        var settled = await InstanceGrain(id).WaitSettledAsync(SettleTimeout);
        Assert.That(settled?.State, Is.EqualTo("Ready"), settled?.Reason);
        Assert.That((await Client.ListInstancesAsync()).Select(i => i.Id), Has.Member(id), "the catalog entry was written once released");
    }

    [Test]
    public async Task A_member_of_a_shared_shard_is_placed_through_its_shard_so_its_spread_rule_holds()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var cluster = TestFleet.NewId("c");
        var first = TestFleet.NewId("i");
        var second = TestFleet.NewId("i");

        using var trace = GrainCallRecorder.Start();
        var placed = await InstanceGrain(first).ProvisionAsync(TestFleet.Instance(Pool, cluster: cluster, shard: "s0", role: "primary"), "tester");
        Assert.That(placed.Ok, Is.True, placed.Error);
        var settled = await InstanceGrain(first).WaitSettledAsync(SettleTimeout);
        Assert.That(settled?.State, Is.EqualTo("Ready"), settled?.Reason);
        Assert.That(trace.Calls.Select(static c => c.ToString()), Has.Member("IShardGrain.PlaceMemberAsync"));

        // One host, hard host spread: the shard knows the first member, so the second has nowhere to go.
        var refused = await InstanceGrain(second).ProvisionAsync(TestFleet.Instance(Pool, cluster: cluster, shard: "s0", role: "replica"), "tester");
        Assert.That(refused.Ok, Is.True, refused.Error);
        var failed = await InstanceGrain(second).WaitSettledAsync(SettleTimeout);
        Assert.That(failed?.State, Is.EqualTo("Failed"), "a second member of the shard on the only host breaks the hard spread rule");
    }

    [Test]
    public async Task A_pool_exists_once_a_host_is_registered_in_it()
    {
        Assert.That(await Client.PoolExistsAsync(Pool), Is.False, "a pool nobody registered a host in");
        await RegisterAsync(TestFleet.Host(TestFleet.NewId("host"), Pool));
        Assert.That(await Client.PoolExistsAsync(Pool), Is.True);
        Assert.That(await Client.PoolExistsAsync(Pool + "-other"), Is.False);
    }
}
