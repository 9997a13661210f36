using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.Cluster;
using DbProvisioner.Grains.Tests.TestData;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>
/// The hot path of <c>POST /instances</c> as grain calls: the API's pool check and request, then the instance's
/// placement through its shard to the reserved host. Counted with a call filter in the test silo.
/// </summary>
public sealed class ProvisioningPathTests : GrainTest
{
    private static readonly TimeSpan PathTimeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task A_standalone_provisioning_reaches_its_reserved_host_in_five_calls_without_waiting_for_the_catalog()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var id = TestFleet.NewId("i");
        var spec = TestFleet.Instance(Pool, cluster: "standalone", shard: id, role: "replica");

        using var trace = GrainCallRecorder.Start();
        var reserved = trace.Arrival(static c => c is { Interface: nameof(IHostGrain), Method: nameof(IHostGrain.ReserveAsync) });
        // The catalog entry of Requested is held until the host has reserved: the reservation must not wait for it.
        trace.Hold(static c => c.Interface == nameof(ICatalogGrain), reserved);

        // What InstancesApi.CreateAsync does: the pool check, then the request.
        Assert.That(await Client.PoolExistsAsync(Pool), Is.True, "the pool's placement index knows its host");
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
            "IPlacementGrain.HasHostsAsync",
            "IInstanceGrain.ProvisionAsync",
            "IShardGrain.PlaceMemberAsync",
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
    public async Task A_pool_exists_once_a_host_is_registered_in_it()
    {
        Assert.That(await Client.PoolExistsAsync(Pool), Is.False, "a pool nobody registered a host in");
        await RegisterAsync(TestFleet.Host(TestFleet.NewId("host"), Pool));
        Assert.That(await Client.PoolExistsAsync(Pool), Is.True);
        Assert.That(await Client.PoolExistsAsync(Pool + "-other"), Is.False);
    }
}
