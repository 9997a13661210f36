using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.TestData;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>ClusterGrain and ShardGrain: a whole cluster placed at once, with its spread rule kept.</summary>
public sealed class ClusterSpreadTests : GrainTest
{
    [Test]
    public async Task OneShardTwoReplicas_HardHostSpread_LandsOnBothHosts_AndAThirdMemberFailsNamingSpread_LeavingNothingReserved()
    {
        var hostIds = new[] { TestFleet.NewId("host"), TestFleet.NewId("host") };
        foreach (var hostId in hostIds)
            await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var name = TestFleet.NewId("c");
        var template = TestFleet.Instance(Pool, cluster: name);
        var request = new CreateClusterRequest(name, Pool, 1, 2, SpreadSpec.HostHard, new InstanceTemplateSpec(2, 2048, 512, 50, TestFleet.DiskClass, NumaPolicy.Required, 1));

        var created = await Client.GetGrain<IClusterGrain>(name).CreateAsync(request, template, "tester");

        Assert.That(created.Ok, Is.True, $"{created.Kind} {created.Error}");
        var members = created.Value!.Members;
        Assert.That(members, Has.Count.EqualTo(2), "1 shard × 2 replicas = 2 members");
        var memberViews = new List<InstanceView>();
        foreach (var member in members)
        {
            var view = await InstanceGrain(member.InstanceId).WaitSettledAsync(SettleTimeout);
            Assert.That(view?.State, Is.EqualTo("Ready"), $"{member.InstanceId}: {view?.Reason}");
            memberViews.Add(view!);
        }
        Assert.Multiple(() =>
        {
            Assert.That(memberViews.Select(v => v.Host), Is.EquivalentTo(hostIds), "hard host spread: one member on each host");
            Assert.That(members.Select(m => m.Shard).Distinct().Count(), Is.EqualTo(1));
            Assert.That(memberViews.Select(v => v.Spec.Cluster), Is.All.EqualTo(name));
            Assert.That(members.Select(m => m.Role), Has.Exactly(1).EqualTo("primary").IgnoreCase, "one primary per shard");
        });

        var cluster = await Client.GetGrain<IClusterGrain>(name).GetAsync();
        Assert.That(cluster?.Members.Select(m => m.Host), Is.EquivalentTo(hostIds), "GET of the cluster shows where its members run");

        // A third member of the same shard has nowhere to go without breaking the rule.
        var shard = members[0].Shard;
        var thirdId = TestFleet.NewId("m");
        var third = await ProvisionAndSettleAsync(thirdId, TestFleet.Instance(Pool, cluster: name, shard: shard, role: "replica", spread: SpreadSpec.HostHard));

        Assert.That(third.IsReady, Is.False, third.ToString());
        Assert.That(third.FailureReason, Does.Contain("spread").IgnoreCase, third.ToString());
        foreach (var hostId in hostIds)
        {
            var host = await HostViewAsync(hostId);
            AssertHostViewConsistent(host);
            AssertNothingReservedFor(host, thirdId);
            Assert.Multiple(() =>
            {
                Assert.That(host.Instances, Has.Count.EqualTo(1), $"{hostId} runs one member only");
                Assert.That(host.Disks.Count(d => d.State == "Claimed"), Is.EqualTo(1), $"{hostId}: one disk claimed");
                Assert.That(host.FreeCores, Is.EqualTo(7), $"{hostId}: one core taken");
            });
            Assert.That(Runtime.Host(hostId).Starts.Select(s => s.InstanceId), Has.No.Member(thirdId));
        }
        var shardMembers = await Client.GetGrain<IShardGrain>($"{name}/{shard}").GetMembersAsync();
        Assert.That(shardMembers.Select(m => m.InstanceId), Is.EquivalentTo(members.Select(m => m.InstanceId)), "the failed member is not left in the shard");
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task ACluster_ThatCannotBePlacedWhole_PlacesNothing()
    {
        var hostIds = new[] { TestFleet.NewId("host"), TestFleet.NewId("host") };
        foreach (var hostId in hostIds)
            await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var name = TestFleet.NewId("c");
        // 3 members, at most 1 per host, 2 hosts: all together or not at all.
        var request = new CreateClusterRequest(name, Pool, 1, 3, SpreadSpec.HostHard, new InstanceTemplateSpec(2, 2048, 512, 50, TestFleet.DiskClass, NumaPolicy.Required, 1));

        var created = await Client.GetGrain<IClusterGrain>(name).CreateAsync(request, TestFleet.Instance(Pool, cluster: name), "tester");

        var failedView = created.Ok ? created.Value : await Client.GetGrain<IClusterGrain>(name).GetAsync();
        var reason = created.Ok ? created.Value?.Reason : created.Error;
        Assert.Multiple(() =>
        {
            Assert.That(created.Ok ? created.Value!.State : "refused", Is.AnyOf("Failed", "refused"), $"{created.Kind} {reason}");
            Assert.That(reason, Does.Contain("spread").IgnoreCase);
        });
        foreach (var hostId in hostIds)
        {
            var host = await HostViewAsync(hostId);
            Assert.That(host.Instances, Is.Empty, $"{hostId}: a cluster that cannot be placed whole leaves nothing behind ({failedView?.State})");
            Assert.That(host.Disks.Select(d => d.State), Is.All.EqualTo("Ready"));
        }
    }

    [Test]
    public async Task AClusterMember_PlannedOntoAHostHoldingAMemberOfItsShard_IsRefusedByTheShard_AndNothingStaysReserved()
    {
        var hostIds = new[] { TestFleet.NewId("host"), TestFleet.NewId("host") };
        foreach (var hostId in hostIds)
            await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var name = TestFleet.NewId("c");
        // A member of shard s1 requested on its own: the cluster's plan, made from the pool's index, does not know it.
        var loneId = TestFleet.NewId("m");
        var lone = await ProvisionReadyAsync(loneId, TestFleet.Instance(Pool, cluster: name, shard: "s1", role: "primary"));
        var request = new CreateClusterRequest(name, Pool, 1, 2, SpreadSpec.HostHard, new InstanceTemplateSpec(2, 2048, 512, 50, TestFleet.DiskClass, NumaPolicy.Required, 1));

        var created = await Client.GetGrain<IClusterGrain>(name).CreateAsync(request, TestFleet.Instance(Pool, cluster: name), "tester");

        Assert.That(created.Ok, Is.False, "two hosts, hard host spread, one already holding a member of s1: a cluster of 2 more cannot fit");
        Assert.That(created.Error, Does.Contain($"host {lone.Host} already holds a member of shard {name}/s1"), "the shard names the rule its member would break");
        var shardMembers = await Client.GetGrain<IShardGrain>($"{name}/s1").GetMembersAsync();
        Assert.That(shardMembers.Select(m => m.InstanceId), Is.EqualTo(new[] { loneId }), "the shard keeps only its own member");
        foreach (var hostId in hostIds)
        {
            var host = await HostViewAsync(hostId);
            AssertHostViewConsistent(host);
            Assert.That(host.Instances.Select(i => i.Id), Is.EqualTo(hostId == lone.Host ? new[] { loneId } : Array.Empty<string>()),
                $"{hostId}: no member of the refused cluster stays reserved");
        }
        AssertNoDoubleUseOnEngines();
    }
}
