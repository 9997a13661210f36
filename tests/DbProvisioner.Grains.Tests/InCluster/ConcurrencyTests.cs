using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Grains.Tests.TestData;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>Many requests at once: the host grain has the last word, so nothing is ever given twice.</summary>
public sealed class ConcurrencyTests : GrainTest
{
    [Test]
    public async Task FiftyConcurrentRequests_OnASimulatedFleet_NeverGiveACpuDiskOrPortTwice_AndFailWithAReasonOnceFull()
    {
        // 6 hosts × 2 NUMA × 4 cores × 2 threads, 4 disks and 8 ports each: 24 disks bound the fleet.
        const int hosts = 6, disksPerHost = 4, requests = 50;
        var hostIds = Enumerable.Range(0, hosts).Select(_ => TestFleet.NewId("host")).ToList();
        foreach (var hostId in hostIds)
            await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: disksPerHost, ports: 8));

        var ids = Enumerable.Range(0, requests).Select(_ => TestFleet.NewId("i")).ToList();
        var settled = await Task.WhenAll(ids.Select(id => ProvisionAndSettleAsync(id, TestFleet.Instance(Pool, cpus: 2, memoryMiB: 1024))));

        var ready = settled.Where(s => s.IsReady).ToList();
        var failed = settled.Where(s => !s.IsReady).ToList();
        var summary = string.Join("\n", settled.Select(s => s.ToString()));
        await TestContext.Out.WriteLineAsync($"{ready.Count} Ready, {failed.Count} not; first refusal: {failed.FirstOrDefault()}");
        Assert.Multiple(() =>
        {
            Assert.That(settled.Where(s => s.Outcome.Ok).Select(s => s.View?.State), Is.All.AnyOf("Ready", "Failed"), "every accepted request settles\n" + summary);
            Assert.That(ready, Has.Count.EqualTo(hosts * disksPerHost), "every disk of the fleet is used, none twice\n" + summary);
            Assert.That(failed.Select(f => f.FailureReason), Has.All.Matches<string?>(IsClearCapacityReason), "a full fleet answers with the resource that ran out\n" + summary);
            Assert.That(failed.Where(f => !f.Outcome.Ok).Select(f => f.Outcome.Kind), Is.All.EqualTo(OutcomeKind.Unplaceable), "a refusal is Unplaceable, not an error\n" + summary);
        });

        // Across the instances' own views: no (host, CPU), (host, disk) or (host, port) twice.
        var views = ready.Select(r => r.View!).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(views.Select(v => (v.Host, v.Device)), Is.Unique, "a disk given twice");
            Assert.That(views.Select(v => (v.Host, v.Endpoint?.Port)), Is.Unique, "a port given twice");
            Assert.That(views.SelectMany(v => CpuSet.Parse(v.CpuSet ?? "").Cpus().Select(c => (v.Host, c))), Is.Unique, "a CPU given twice");
            Assert.That(views.Select(v => v.Host), Is.All.AnyOf(hostIds.Cast<object>().ToArray()));
        });

        // Each host's own view agrees with itself and with the instances that say they run there.
        foreach (var hostId in hostIds)
        {
            var host = await HostViewAsync(hostId);
            AssertHostViewConsistent(host);
            Assert.That(host.Instances.Select(i => i.Id), Is.EquivalentTo(views.Where(v => v.Host == hostId).Select(v => v.Id)), $"instances on {hostId}");
            Assert.That(Runtime.Host(hostId).Running.Keys, Is.EquivalentTo(host.Instances.Select(i => i.Id)), $"containers on {hostId}");
        }
        foreach (var f in failed)
            foreach (var hostId in hostIds)
                AssertNothingReservedFor(await HostViewAsync(hostId), f.InstanceId);

        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task ConcurrentMembersOfOneShard_WithHardHostSpread_NeverShareAHost()
    {
        var hostIds = new[] { TestFleet.NewId("host"), TestFleet.NewId("host") };
        foreach (var hostId in hostIds)
            await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var cluster = TestFleet.NewId("c");

        var settled = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            ProvisionAndSettleAsync(TestFleet.NewId("m"), TestFleet.Instance(Pool, cluster: cluster, shard: "s0", role: i == 0 ? "primary" : "replica", spread: SpreadSpec.HostHard))));

        var summary = string.Join("\n", settled.Select(s => s.ToString()));
        var ready = settled.Where(s => s.IsReady).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(ready, Has.Count.EqualTo(2), "one member per host on two hosts\n" + summary);
            Assert.That(ready.Select(r => r.View!.Host), Is.Unique, "two members of one shard on one host\n" + summary);
            Assert.That(settled.Where(s => !s.IsReady).Select(s => s.FailureReason), Has.All.Contains("spread").IgnoreCase, summary);
        });

        var members = await Client.GetGrain<IShardGrain>($"{cluster}/s0").GetMembersAsync();
        Assert.That(members.Select(m => m.InstanceId), Is.EquivalentTo(ready.Select(r => r.InstanceId)), "the shard knows exactly its placed members");
        AssertNoDoubleUseOnEngines();
    }
}
