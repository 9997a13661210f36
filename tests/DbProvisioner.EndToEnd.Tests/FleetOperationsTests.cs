using System.Diagnostics;
using System.Net;
using DbProvisioner.Api;
using DbProvisioner.EndToEnd.Tests.Support;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>
/// Issue 11, cordon, evacuate and inspect on the fleet's real engines: an instance on node-1 is evacuated through the API
/// onto node-2's engine and removed from node-1's through the gate, a shard member there onto this machine's engine (its
/// sibling holds node-2); a cpuset changed by hand on node-2's engine is the one drift its inspection lists. Each test
/// opens only the hosts it needs and removes its instances through the API.
/// </summary>
[TestFixture]
[Category("Fleet")]
public sealed class FleetOperationsTests : E2eFleetFixture
{
    private static readonly string Node1 = E2eFleet.HostId(1);
    private static readonly string Node2 = E2eFleet.HostId(2);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(150);

    [Test]
    public async Task An_instance_on_node_1_is_replaced_on_node_2s_engine_and_removed_from_node_1s_through_the_gate()
    {
        await OpenOnlyAsync(Node1);
        var old = await ReadyOnAsync(Node1);
        await OpenOnlyAsync(Node1, Node2);

        var watch = Stopwatch.StartNew();
        using (var evacuate = await E2e.Admin.PostAsync($"hosts/{Node1}/evacuate", new { }))
        {
            Assert.That(evacuate.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await evacuate.Content.ReadAsStringAsync());
            Assert.That((await ApiClient.ReadAsync<EvacuationView>(evacuate)).Instances.Single().ReplacementHost, Is.EqualTo(Node2), "planned onto the one open host");
        }

        var (item, replacement, credentials) = await Evacuations.GatedOneAsync(E2e, Node1, Timeout);
        var replacedIn = watch.Elapsed;

        // The replacement runs on node-2's engine and answers there with the password the appliance returns; the old one still runs on node-1's.
        Assert.Multiple(async () =>
        {
            Assert.That(replacement.State, Is.EqualTo("Ready"), E2eRequests.Describe(replacement));
            Assert.That(replacement.Host, Is.EqualTo(Node2));
            Assert.That(await ContainerOnAsync(2, item.ReplacementId), Is.EqualTo($"{Node2} running"), "the replacement's container on node-2's engine");
            Assert.That(credentials.Host, Is.EqualTo(FleetNodes.Address(2)));
            Assert.That(await E2eRequests.SelectOneAsync(credentials), Is.EqualTo(1), "the replacement's MySQL answers on node-2");
            Assert.That((await E2e.Admin.GetInstanceAsync(old)).State, Is.EqualTo("Ready"), "nothing is removed before approval");
            Assert.That(await ContainerOnAsync(1, old), Is.EqualTo($"{Node1} running"), "the old container still runs on node-1's engine");
        });

        // The gate: a risk report for the old instance; the admin who evacuated cannot approve, a second person can.
        var request = await E2e.Viewer.GetOkAsync<ScaleDownView>($"scale-downs/{item.ScaleDownId}");
        await TestContext.Progress.WriteLineAsync($"[fleet] risk report of {request.Id}: " + string.Join(" | ", request.Risks.Select(r => $"{r.Code} {r.Severity}: {r.Message}")));
        Assert.That((request.InstanceId, request.Host, request.State), Is.EqualTo((old, Node1, "Pending")));
        var blocking = request.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToArray();
        Assert.That(blocking, Does.Contain(RiskCode.LastMember), "a standalone instance's data does not move with it");
        using (var unacknowledged = await E2e.Approver.PostAsync($"scale-downs/{item.ScaleDownId}/approve", new ApproveScaleDownRequest([])))
        {
            var problem = await Problem.ReadAsync(unacknowledged);
            Assert.That((problem.Status, problem.Names("acknowledge")), Is.EqualTo((400, true)), problem.Body);
        }

        using (var own = await E2e.Admin.PostAsync($"scale-downs/{item.ScaleDownId}/approve", new ApproveScaleDownRequest(blocking)))
        {
            Assert.That(own.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), await own.Content.ReadAsStringAsync());
        }

        var approvedAt = watch.Elapsed;
        var (status, approved) = await ScaleDowns.ApproveAsync(E2e, request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), approved);
        var done = await Evacuations.WaitEndedAsync(E2e, Node1, Timeout);
        var removedIn = watch.Elapsed - approvedAt;
        await TestContext.Progress.WriteLineAsync(
            $"[fleet] evacuation of one instance {Node1} → {Node2}: evacuate → replacement Ready {replacedIn.TotalSeconds:F1} s; approval → old removed {removedIn.TotalSeconds:F1} s");

        var node1 = await E2e.Admin.GetHostAsync(Node1);
        Assert.Multiple(async () =>
        {
            Assert.That(done.State, Is.EqualTo("Evacuated"), Evacuations.Describe(done));
            Assert.That(done.Instances.Single().InstanceState, Is.EqualTo("Removed"));
            Assert.That(await ContainerOnAsync(1, old), Is.Null, "the old container is gone from node-1's engine");
            Assert.That(node1.Cordoned, Is.True, "the evacuated host stays cordoned");
            Assert.That(node1.Instances, Is.Empty, "no instance is held on node-1");
            Assert.That(node1.NumaNodes.SelectMany(n => n.Cores).Where(c => c.Instance is not null), Is.Empty, "no CPU is held on node-1");
            Assert.That(node1.Disks.Where(d => d.ClaimedBy is not null), Is.Empty, "no disk is held on node-1");
            Assert.That(await E2e.FindLeaksAsync(Node1, Node2), Is.Empty);
        });

        await RemoveThroughTheGateAsync(2, item.ReplacementId);
    }

    [Test]
    public async Task A_shard_member_on_node_1_is_replaced_on_another_engine_than_its_sibling_and_removed_through_the_gate()
    {
        // One disk per node for this suite: the 1×2 shard fills node-1 and node-2, and e2e-a (this machine's engine) is the one place left.
        await OpenOnlyAsync(Node1, Node2);
        using var created = await E2e.Requester.PostAsync("clusters",
            new CreateClusterRequest("e2e-fleet-evac", E2eLayout.Pool, 1, 2, SpreadSpec.HostHard, E2eRequests.Template()));
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await created.Content.ReadAsStringAsync());
        var members = (await ApiClient.ReadAsync<ClusterView>(created)).Members;
        Assert.That(members.Select(m => m.Host), Is.EquivalentTo(new[] { Node1, Node2 }));
        foreach (var m in members)
        {
            var settled = await ApiClient.WaitSettledAsync(E2e.Requester, m.InstanceId, Timeout);
            Assert.That(settled.State, Is.EqualTo("Ready"), E2eRequests.Describe(settled));
        }

        var old = members.Single(m => m.Host == Node1).InstanceId;
        var sibling = members.Single(m => m.Host == Node2).InstanceId;
        await OpenOnlyAsync(Node1, Node2, E2eLayout.HostA.Id);
        var watch = Stopwatch.StartNew();
        using (var evacuate = await E2e.Admin.PostAsync($"hosts/{Node1}/evacuate", new { }))
        {
            Assert.That(evacuate.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await evacuate.Content.ReadAsStringAsync());
        }

        var (item, replacement, credentials) = await Evacuations.GatedOneAsync(E2e, Node1, Timeout);
        var replacedIn = watch.Elapsed;
        Assert.Multiple(async () =>
        {
            Assert.That(item.InstanceId, Is.EqualTo(old));
            Assert.That((replacement.State, replacement.Host), Is.EqualTo(("Ready", E2eLayout.HostA.Id)), E2eRequests.Describe(replacement));
            Assert.That((await E2e.Docker.InspectAsync(item.ReplacementId)).State?.Running, Is.True, "the replacement's container on this machine's engine");
            Assert.That(await E2eRequests.SelectOneAsync(credentials), Is.EqualTo(1), "the replacement's MySQL answers");
        });

        var request = await E2e.Viewer.GetOkAsync<ScaleDownView>($"scale-downs/{item.ScaleDownId}");
        await TestContext.Progress.WriteLineAsync($"[fleet] risk report of {request.Id} (shard member): " + string.Join(" | ", request.Risks.Select(r => $"{r.Code} {r.Severity}: {r.Message}")));
        var approvedAt = watch.Elapsed;
        var (status, approved) = await ScaleDowns.ApproveAsync(E2e, request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), approved);
        var done = await Evacuations.WaitEndedAsync(E2e, Node1, Timeout);
        await TestContext.Progress.WriteLineAsync(
            $"[fleet] evacuation of a shard member {Node1} → {E2eLayout.HostA.Id}: evacuate → replacement Ready {replacedIn.TotalSeconds:F1} s; approval → old removed {(watch.Elapsed - approvedAt).TotalSeconds:F1} s");

        // GET /clusters/{name} lists the members placed at creation only, so the shard is read from the instance list.
        var shard = (await E2e.Admin.ListInstancesAsync()).Where(static i => i.Cluster == "e2e-fleet-evac" && i.State != "Removed");
        Assert.Multiple(async () =>
        {
            Assert.That(done.State, Is.EqualTo("Evacuated"), Evacuations.Describe(done));
            Assert.That(await ContainerOnAsync(1, old), Is.Null, "the old container is gone from node-1's engine");
            Assert.That(shard.Select(static i => (i.Id, i.Host)),
                Is.EquivalentTo(new[] { (sibling, (string?)Node2), (item.ReplacementId, (string?)E2eLayout.HostA.Id) }), "one member per host, on two engines");
            Assert.That((await E2e.Admin.GetHostAsync(Node1)).Instances, Is.Empty);
            Assert.That(await E2e.FindLeaksAsync(Node1, Node2), Is.Empty);
        });

        foreach (var id in new[] { item.ReplacementId, sibling })
        {
            var ended = await ScaleDowns.RemoveAllAsync(E2e, [id], Timeout);
            Assert.That(ended.Single().State, Is.EqualTo("Removed"), string.Join(", ", ended.Select(static r => $"{r.Id} {r.State}")));
        }

        Assert.That(await ContainerOnAsync(2, sibling), Is.Null, $"{sibling} is gone from node-2's engine");
    }

    [Test]
    public async Task A_cpuset_changed_by_hand_on_node_2s_engine_is_the_one_drift_and_a_clean_host_has_none()
    {
        await OpenOnlyAsync(Node2);
        var id = await ReadyOnAsync(Node2);
        var held = (await E2e.Admin.GetInstanceAsync(id)).CpuSet!;
        Assert.That((await E2e.Viewer.GetOkAsync<HostInspectionView>($"hosts/{Node2}/inspection")).Drifts, Is.Empty, "as provisioned, node-2's engine runs what the host holds");

        // The host has both of this machine's CPUs: move the container onto the other one on node-2's engine, as an operator might.
        var moved = held == "0" ? "1" : "0";
        var name = DockerEngine.ContainerName(id);
        var (exit, _, error) = await FleetNodes.DockerAsync(2, "update", "--cpuset-cpus", moved, name);
        Assert.That(exit, Is.Zero, error);

        var after = await E2e.Viewer.GetOkAsync<HostInspectionView>($"hosts/{Node2}/inspection");
        var clean = await E2e.Viewer.GetOkAsync<HostInspectionView>($"hosts/{Node1}/inspection");
        await TestContext.Progress.WriteLineAsync($"[fleet] inspection of {Node2} after docker update: " + string.Join(" | ", after.Drifts.Select(d => $"{d.Kind} {d.Subject}: {d.Fix}")));
        Assert.Multiple(() =>
        {
            Assert.That(after.Error, Is.Null);
            Assert.That((after.Instances, after.Containers), Is.EqualTo((1, 1)));
            Assert.That(after.Drifts, Has.Count.EqualTo(1), string.Join("\n", after.Drifts));
            Assert.That(after.Drifts.Select(d => (d.Kind, d.Instance, d.Subject, d.Found, d.Expected)), Has.Member((DriftCode.CpusetCpus, id, name, moved, held)));
            Assert.That(after.Drifts.Select(d => d.Fix), Has.Some.Contain($"docker update --cpuset-cpus {held} {name}"));
            Assert.That(clean.Error, Is.Null, $"{Node1}'s engine is read");
            Assert.That(clean.Drifts, Is.Empty, $"{Node1} holds nothing and runs nothing");
        });

        // The fix it suggests, run against node-2's engine, removes the drift.
        (exit, _, error) = await FleetNodes.DockerAsync(2, "update", "--cpuset-cpus", held, name);
        Assert.That(exit, Is.Zero, error);
        Assert.That((await E2e.Viewer.GetOkAsync<HostInspectionView>($"hosts/{Node2}/inspection")).Drifts, Is.Empty);

        await RemoveThroughTheGateAsync(2, id);
    }

    /// <summary>What a failed test left is removed through the gate too, so that the next test finds the hosts empty.</summary>
    [TearDown]
    public async Task RemoveLeftInstancesAsync()
    {
        var left = (await E2e.Admin.ListInstancesAsync()).Where(static i => i.State == "Ready").Select(static i => i.Id).ToList();
        foreach (var id in left) await ScaleDowns.RemoveAllAsync(E2e, [id], Timeout);
        if (left.Count > 0) await TestContext.Progress.WriteLineAsync($"[fleet] removed through the gate after the test: {string.Join(", ", left)}");
    }

    /// <summary>A new instance, Ready on <paramref name="host"/> (the only open host) with its container on that node's engine.</summary>
    private async Task<string> ReadyOnAsync(string host)
    {
        var id = await E2eRequests.CreateInstanceAsync(E2e.Requester, E2eRequests.Instance());
        var ready = await ApiClient.WaitSettledAsync(E2e.Requester, id, Timeout);
        Assert.That((ready.State, ready.Host), Is.EqualTo(("Ready", host)), E2eRequests.Describe(ready));
        Assert.That(await ContainerOnAsync(E2eFleet.NodeOf(host)!.Value, id), Is.EqualTo($"{host} running"));
        return id;
    }

    /// <summary>Removes the instance through the API (request, second person's approval) and checks its container is gone from the node.</summary>
    private async Task RemoveThroughTheGateAsync(int node, string id)
    {
        var ended = await ScaleDowns.RemoveAllAsync(E2e, [id], Timeout);
        Assert.That(ended.Single().State, Is.EqualTo("Removed"), string.Join(", ", ended.Select(static r => $"{r.Id} {r.State}")));
        Assert.That(await ContainerOnAsync(node, id), Is.Null, $"{id} is gone from node-{node}'s engine");
    }

    /// <summary>"HOST STATE" (e.g. "e2e-node-1 running") of the instance's container on node-K's engine (its dbprov.host label), or null when there is none.</summary>
    private static async Task<string?> ContainerOnAsync(int node, string instanceId)
    {
        var (exit, output, error) = await FleetNodes.DockerAsync(node, "ps", "-a", "--filter", $"name=^{DockerEngine.ContainerName(instanceId)}$",
            "--format", "{{.Label \"dbprov.host\"}} {{.State}}");
        Assert.That(exit, Is.Zero, error);
        return output.Length == 0 ? null : output;
    }
}
