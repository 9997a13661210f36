using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Grains.Tests.TestData;
using DbProvisioner.Runtime;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>Swap as a host resource: discovered at registration, reserved with the instance, refused where there is none.</summary>
public sealed class SwapTests : GrainTest
{
    [Test]
    public async Task ASwapRequest_OnAPoolWhoseHostsHaveNoSwap_FailsWithTheSwapReason_AndReservesNothing()
    {
        var hostIds = new[] { TestFleet.NewId("host"), TestFleet.NewId("host") };
        foreach (var hostId in hostIds)
            await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, swapMiB: 0));

        var withSwap = await ProvisionAndSettleAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool, swapMiB: 512));
        var withoutSwap = await ProvisionAndSettleAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool, swapMiB: 0));

        Assert.Multiple(() =>
        {
            Assert.That(withSwap.IsReady, Is.False, withSwap.ToString());
            Assert.That(withSwap.FailureReason, Does.Contain("2 hosts: no swap for instances (512 MiB asked)"), withSwap.ToString());
            Assert.That(withoutSwap.IsReady, Is.True, $"the same request without swap fits: {withoutSwap}");
        });
        foreach (var hostId in hostIds)
        {
            var host = await HostViewAsync(hostId);
            AssertHostViewConsistent(host);
            AssertNothingReservedFor(host, withSwap.InstanceId);
            Assert.That(host.Swap, Is.EqualTo(new HostSwapView(0, 0, 0, 0)), $"{hostId} has no swap and lends none");
            Assert.That(Runtime.Host(hostId).Starts.Select(s => s.InstanceId), Has.No.Member(withSwap.InstanceId));
        }
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task AnInstance_HoldsItsSwap_UntilItIsRemoved_AndNoMoreThanTheHostLends()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, swapMiB: 1024));
        var first = TestFleet.NewId("i");
        var second = TestFleet.NewId("i");
        await ProvisionReadyAsync(first, TestFleet.Instance(Pool, swapMiB: 768));

        var refused = await ProvisionAndSettleAsync(second, TestFleet.Instance(Pool, swapMiB: 512));
        var full = await HostViewAsync(hostId);
        Assert.Multiple(() =>
        {
            Assert.That(refused.IsReady, Is.False, refused.ToString());
            Assert.That(refused.FailureReason, Does.Contain("less than 512 MiB free swap"), refused.ToString());
            Assert.That(full.Swap, Is.EqualTo(new HostSwapView(1024, 1024, 768, 256)));
            Assert.That(full.Instances.Single().SwapMiB, Is.EqualTo(768));
            Assert.That(Runtime.Host(hostId).Running[first].SwapMiB, Is.EqualTo(768), "the container got the swap the host booked");
        });
        AssertHostViewConsistent(full);

        await RemoveAsync(first);

        var freed = await HostViewAsync(hostId);
        Assert.That(freed.Swap, Is.EqualTo(new HostSwapView(1024, 1024, 0, 1024)), "removal gives the swap back");
        await ProvisionReadyAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool, swapMiB: 1024));
        AssertHostViewConsistent(await HostViewAsync(hostId));
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task ACluster_AskingForSwap_OnAPoolWithoutSwap_IsRefusedWithTheSwapReason()
    {
        await RegisterWithReadyDisksAsync(TestFleet.Host(TestFleet.NewId("host"), Pool, swapMiB: 0));
        await RegisterWithReadyDisksAsync(TestFleet.Host(TestFleet.NewId("host"), Pool, swapMiB: 0));
        var name = TestFleet.NewId("c");
        var request = new CreateClusterRequest(name, Pool, 1, 2, SpreadSpec.HostHard, new InstanceTemplateSpec(2, 2048, 512, 50, TestFleet.DiskClass, NumaPolicy.Required, 1));

        var created = await Client.GetGrain<IClusterGrain>(name).CreateAsync(request, TestFleet.Instance(Pool, cluster: name, swapMiB: 512), "tester");

        Assert.Multiple(() =>
        {
            Assert.That(created.Kind, Is.EqualTo(OutcomeKind.Unplaceable), created.Error);
            Assert.That(created.Error, Does.Contain("no swap for instances (512 MiB asked)"));
        });
        foreach (var hostId in Hosts)
            Assert.That((await HostViewAsync(hostId)).Instances, Is.Empty, "nothing was reserved");
    }

    [Test]
    public async Task ADiscoveredHost_ReportsItsSwap_AndLendsAllOfIt_OrWhatItsRegistrationAsks()
    {
        var (_, all) = await RegisterDiscoveredAsync(new HostSwapInfo(2048, true), swapMiB: null);
        var (_, part) = await RegisterDiscoveredAsync(new HostSwapInfo(2048, true), swapMiB: 1024);
        var (_, none) = await RegisterDiscoveredAsync(new HostSwapInfo(0, true), swapMiB: null);
        var (_, unlimited) = await RegisterDiscoveredAsync(new HostSwapInfo(2048, false), swapMiB: null);

        Assert.Multiple(() =>
        {
            Assert.That(all.Value?.Swap, Is.EqualTo(new HostSwapView(2048, 2048, 0, 2048)), all.Error);
            Assert.That(part.Value?.Swap, Is.EqualTo(new HostSwapView(2048, 1024, 0, 1024)), part.Error);
            Assert.That(none.Value?.Swap, Is.EqualTo(new HostSwapView(0, 0, 0, 0)), none.Error);
            Assert.That(unlimited.Value?.Swap, Is.EqualTo(new HostSwapView(2048, 0, 0, 0)), $"an engine that cannot limit swap lends none: {unlimited.Error}");
        });
    }

    [TestCase(2048L, true, 4096L, "has only 2048 MiB of swap (4096 MiB asked)")]
    [TestCase(0L, true, 512L, "has no swap (512 MiB asked); enable swap on it first")]
    [TestCase(2048L, false, 1024L, "cannot limit an instance's swap")]
    public async Task ARegistration_AskingForSwapTheHostCannotLend_IsRefused_AndRegistersNothing(long totalMiB, bool engineLimitsSwap, long askedMiB, string reason)
    {
        var (hostId, outcome) = await RegisterDiscoveredAsync(new HostSwapInfo(totalMiB, engineLimitsSwap), askedMiB);

        Assert.Multiple(() =>
        {
            Assert.That(outcome.Kind, Is.EqualTo(OutcomeKind.Invalid));
            Assert.That(outcome.Field, Is.EqualTo("swapMiB"));
            Assert.That(outcome.Error, Does.Contain(reason));
        });
        Assert.That(await HostGrain(hostId).GetAsync(), Is.Null, "a refused registration leaves no host behind");
    }

    /// <summary>Registers a host whose topology and swap the (simulated) engine reports.</summary>
    private async Task<(string HostId, Outcome<HostView> Outcome)> RegisterDiscoveredAsync(HostSwapInfo swap, long? swapMiB)
    {
        var id = TestFleet.NewId("host");
        Runtime.SetTopology(id, TopologyBuilder.Uniform(2, 4, 2, 16384));
        Runtime.Host(id).Swap = swap;
        return (id, await HostGrain(id).RegisterAsync(TestFleet.Host(id, Pool, swapMiB: swapMiB) with { Topology = null }));
    }

    private static async Task RemoveAsync(string instanceId)
    {
        var request = Client.GetGrain<IScaleDownGrain>(TestFleet.NewId("sd"));
        var created = await request.CreateAsync(instanceId, "requester-key");
        Assert.That(created.Ok, Is.True, created.Error);
        var risks = created.Value!.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToList();
        Assert.That((await request.ApproveAsync("approver-key", risks)).Ok, Is.True);
        var settled = await request.WaitSettledAsync(SettleTimeout);
        Assert.That(settled?.State, Is.EqualTo("Removed"), string.Join(" | ", settled?.Steps.Select(static s => $"{s.Step}: {s.Outcome}") ?? []));
    }
}
