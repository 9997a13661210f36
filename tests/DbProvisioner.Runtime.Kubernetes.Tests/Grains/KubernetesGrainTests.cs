using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Runtime.Kubernetes.Tests.Fake;
using DbProvisioner.Runtime.Kubernetes.Tests.Runtime;
using DbProvisioner.Testing;
using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Grains;

/// <summary>
/// The real grains provisioning on Kubernetes nodes of the fake API server (and on a simulated Docker host next to
/// them): one instance, a cluster spread across nodes, removal through the scale-down gate, a node lost mid-step.
/// Each test has its own pool, hosts and port range.
/// </summary>
public sealed class KubernetesGrainTests
{
    private const string DiskClass = "ssd";
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private static int _nextPort = 3400;
    private string _pool = "";

    private static IClusterClient Client => KubernetesSilo.Client;
    private static FakeKubernetesApiServer Server => KubernetesSilo.Fake.Server;

    [SetUp]
    public void FreshPool() => _pool = NewId("pool");

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>A node of the fake cluster as a host: its topology is discovered from the node, its disks are formatted by Jobs.</summary>
    private async Task<HostView> RegisterNodeAsync(string node, int disks = 2, string? endpoint = null)
    {
        var id = NewId(node);
        var first = Interlocked.Add(ref _nextPort, 10);
        var request = new RegisterHostRequest(id, endpoint ?? $"k8s://{FakeCluster.Name}/{node}", "zone-a", $"rack-{id}", _pool,
            [.. Enumerable.Range(0, disks).Select(i => new DiskSpec($"/dev/{id}-{i}", 100, DiskClass))], null, new PortRangeSpec(first, first + 9),
            MySqlAddress: "10.0.0.7", Watermarks: [new WatermarkSpec(DiskClass, disks, 0)]);
        return await RegisterAsync(request);
    }

    private async Task<HostView> RegisterDockerAsync()
    {
        var id = NewId("local");
        var first = Interlocked.Add(ref _nextPort, 10);
        return await RegisterAsync(new RegisterHostRequest(id, $"tcp://{id}.sim:2375", "zone-a", $"rack-{id}", _pool,
            [new DiskSpec($"/dev/sim-{id}", 100, DiskClass)], null, new PortRangeSpec(first, first + 9), MySqlAddress: "127.0.0.1",
            Topology: new TopologySpec(1, 4, 1, 16384), Watermarks: [new WatermarkSpec(DiskClass, 1, 0)], SwapMiB: 2048));
    }

    private static async Task<HostView> RegisterAsync(RegisterHostRequest request)
    {
        if (request.Topology is { } t) KubernetesSilo.Docker.SetTopology(request.Id!, Domain.Topology.TopologyBuilder.Uniform(t.NumaNodes, t.CoresPerNode, t.ThreadsPerCore, t.MemoryMiBPerNode));
        var outcome = await Client.GetGrain<IHostGrain>(request.Id!).RegisterAsync(request);
        Assert.That(outcome.Ok, Is.True, $"register {request.Id}: {outcome.Error}");
        await Client.GetGrain<IDiskPoolGrain>(request.Id!).RunUntilIdleAsync();
        var placement = Client.GetGrain<IPlacementGrain>(request.Pool!);
        await Eventually.UntilAsync(async () => (await placement.SnapshotAsync()).SingleOrDefault(h => h.HostId == request.Id)?.ReadyDisks.Sum(static d => d.Count),
            ready => ready == request.Disks!.Count, Settle, $"the placement index to see the Ready disks of {request.Id}");
        return (await Client.GetGrain<IHostGrain>(request.Id!).GetAsync())!;
    }

    private InstanceSpec Instance(string cluster, long swapMiB = 0, NumaPolicy numa = NumaPolicy.Preferred) =>
        new(cluster, "s0", "primary", 2, 2048, swapMiB, 1, 50, DiskClass, numa, _pool, SpreadSpec.HostHard);

    private static async Task<InstanceView> ProvisionAsync(string instanceId, InstanceSpec spec)
    {
        var outcome = await Client.GetGrain<IInstanceGrain>(instanceId).ProvisionAsync(spec, "tester");
        Assert.That(outcome.Ok, Is.True, $"provision {instanceId}: {outcome.Kind} {outcome.Error}");
        return (await Client.GetGrain<IInstanceGrain>(instanceId).WaitSettledAsync(Settle))!;
    }

    private static V1Pod? PodOf(string instanceId) => Server.Objects<V1Pod>("pods").SingleOrDefault(p => p.Metadata.Name == $"dbprov-{instanceId}");

    [Test]
    public async Task An_instance_on_a_node_is_a_bound_guaranteed_pod_on_its_claimed_disk_and_is_Ready()
    {
        var host = await RegisterNodeAsync("node-a");
        var id = NewId("i");

        var view = await ProvisionAsync(id, Instance(NewId("c")));

        var pod = PodOf(id);
        var disk = (await Client.GetGrain<IHostGrain>(host.Id).GetAsync())!.Disks.Single(d => d.ClaimedBy == id);
        Assert.Multiple(() =>
        {
            Assert.That(view.State, Is.EqualTo("Ready"), view.Reason);
            Assert.That(host.NumaNodes.SelectMany(n => n.Cores).Count(), Is.EqualTo(4), "the topology is the node's allocatable CPUs");
            Assert.That(pod, Is.Not.Null);
            Assert.That(pod!.Spec.NodeName, Is.EqualTo("node-a"));
            Assert.That(pod.Spec.Containers[0].Resources.Limits["cpu"].ToDecimal(), Is.EqualTo(2));
            Assert.That(pod.Spec.Containers[0].Ports[0].HostPort, Is.EqualTo(view.Endpoint!.Port));
            Assert.That(Server.Objects<V1PersistentVolume>("persistentvolumes").Single(v => v.Spec.ClaimRef.Name == $"dbprov-data-{id}").Spec.Local.Path, Is.EqualTo(disk.Device));
            Assert.That(Server.Objects<V1Job>("jobs").Count(j => j.Spec.Template.Spec.Volumes[0].HostPath.Path.StartsWith($"/dev/{host.Id}-", StringComparison.Ordinal)), Is.EqualTo(2),
                "each disk was formatted by a Job on the node");
        });
    }

    [Test]
    public async Task A_node_with_two_numa_zones_is_registered_with_them_and_a_numa_bound_instance_lands_inside_one_zone()
    {
        var host = await RegisterNodeAsync("node-numa");
        var first = NewId("i");
        var second = NewId("i");

        Assert.That((await ProvisionAsync(first, Instance(NewId("c")))).State, Is.EqualTo("Ready"));
        // Zone 0 has one CPU left: a node-blind allocator would give CPUs 2-3, across both zones.
        Assert.That((await ProvisionAsync(second, Instance(NewId("c")))).State, Is.EqualTo("Ready"));

        var after = (await Client.GetGrain<IHostGrain>(host.Id).GetAsync())!;
        var zones = after.NumaNodes.Select(n => n.Cores.Select(c => c.Cpus).ToHashSet()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(host.NumaNodes.Select(n => n.Cores.Count), Is.EqualTo(new[] { 3, 3 }), "one NUMA node per zone of the node's NodeResourceTopology");
            foreach (var id in new[] { first, second })
            {
                var cpus = after.Instances.Single(i => i.Id == id).Cpus;
                Assert.That(zones.Count(z => Domain.Topology.CpuSet.Parse(cpus).Cpus().All(c => z.Contains(c.ToString(System.Globalization.CultureInfo.InvariantCulture)))), Is.EqualTo(1),
                    $"{id}'s CPUs {cpus} inside one zone");
            }
        });
    }

    [Test]
    public async Task The_cpuset_the_kubelet_chose_is_read_back_and_shown_next_to_the_decided_one()
    {
        await RegisterNodeAsync("node-cpus");
        var id = NewId("i");

        var view = await ProvisionAsync(id, Instance(NewId("c")));

        var kubelet = Server.CpusetOf("dbprov", $"dbprov-{id}");
        Assert.Multiple(() =>
        {
            Assert.That(view.State, Is.EqualTo("Ready"), view.Reason);
            Assert.That(kubelet, Is.Not.Null.And.Not.EqualTo(view.CpuSet), "the fake kubelet chose other CPUs than the appliance decided");
            Assert.That(view.ObservedCpuSet, Is.EqualTo(kubelet), "the view shows what the kubelet gave");
            Assert.That(view.CpuSet, Is.Not.Null, "and still what the appliance decided");
            Assert.That(view.CpuSetNote, Is.EqualTo($"its node chose CPUs {kubelet}; the appliance counts {view.CpuSet} for it (this runtime cannot honour an exact cpuset)"));
            Assert.That(view.Steps.Single(s => s.Step == "Ready").Outcome, Does.Contain($"its node chose CPUs {kubelet}"));
        });
    }

    [Test]
    public async Task A_node_without_the_static_cpu_manager_gives_all_its_cpus_and_the_inspection_reports_it()
    {
        var host = await RegisterNodeAsync("node-none");
        var id = NewId("i");

        var view = await ProvisionAsync(id, Instance(NewId("c")));
        var inspection = await Client.GetGrain<IHostInspectorGrain>(host.Id).InspectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(view.State, Is.EqualTo("Ready"), "a count mismatch is recorded, not an error");
            Assert.That(view.ObservedCpuSet, Is.EqualTo("0-3"));
            Assert.That(view.CpuSetNote, Does.StartWith("runs on 4 CPUs (0-3) but 2 are reserved for it"));
            Assert.That(inspection!.Error, Is.Null);
            Assert.That(inspection.Drifts.Select(d => (d.Kind, d.Instance, d.Found, d.Expected)), Is.EqualTo(new[] { (DriftCode.CpuCount, id, "0-3", "2 exclusive CPUs") }),
                string.Join(" | ", inspection.Drifts));
        });
    }

    [Test]
    public async Task What_a_node_cannot_honour_is_refused_with_the_reason_and_nothing_is_reserved()
    {
        await RegisterNodeAsync("node-a");
        var id = NewId("i");

        var outcome = await Client.GetGrain<IInstanceGrain>(id).ProvisionAsync(Instance(NewId("c"), swapMiB: 512), "tester");
        var settled = outcome.Ok ? await Client.GetGrain<IInstanceGrain>(id).WaitSettledAsync(Settle) : null;

        var reason = outcome.Ok ? settled!.Reason : outcome.Error;
        Assert.That(reason, Does.Contain("a Kubernetes node cannot hold an instance to its own swap allowance (512 MiB asked)"));
        Assert.That(PodOf(id), Is.Null);
    }

    [Test]
    public async Task A_cluster_spreads_its_members_across_nodes_one_pod_per_node()
    {
        var hosts = new[] { await RegisterNodeAsync("node-a"), await RegisterNodeAsync("node-b"), await RegisterNodeAsync("node-c") };
        var name = NewId("c");
        var request = new CreateClusterRequest(name, _pool, 1, 3, SpreadSpec.HostHard, new InstanceTemplateSpec(1, 1024, 0, 50, DiskClass, NumaPolicy.None, 1));

        var created = await Client.GetGrain<IClusterGrain>(name).CreateAsync(request, Instance(name, numa: NumaPolicy.None), "tester");
        Assert.That(created.Ok, Is.True, created.Error);
        foreach (var member in created.Value!.Members)
        {
            var view = await Client.GetGrain<IInstanceGrain>(member.InstanceId).WaitSettledAsync(Settle);
            Assert.That(view!.State, Is.EqualTo("Ready"), $"{member.InstanceId}: {view.Reason}");
        }

        var members = created.Value.Members;
        Assert.Multiple(() =>
        {
            Assert.That(members.Select(m => m.Host), Is.EquivalentTo(hosts.Select(h => h.Id)), "hard spread by host: one member per node");
            Assert.That(members.Select(m => PodOf(m.InstanceId)?.Spec.NodeName), Is.EquivalentTo(new[] { "node-a", "node-b", "node-c" }));
        });
    }

    [Test]
    public async Task Removal_through_the_gate_deletes_the_pod_and_wipes_the_disk_by_a_job_before_it_is_Ready_again()
    {
        var host = await RegisterNodeAsync("node-b", disks: 1);
        var id = NewId("i");
        Assert.That((await ProvisionAsync(id, Instance(NewId("c")))).State, Is.EqualTo("Ready"));
        var jobsBefore = Server.Requests.Count(r => r == "POST /apis/batch/v1/namespaces/dbprov/jobs");
        var request = Client.GetGrain<IScaleDownGrain>(NewId("sd"));

        var created = await request.CreateAsync(id, "requester-key");
        Assert.That(created.Ok, Is.True, created.Error);
        Assert.That(PodOf(id), Is.Not.Null, "a request alone removes nothing");
        var risks = created.Value!.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToList();
        Assert.That((await request.ApproveAsync("approver-key", risks)).Ok, Is.True);
        var settled = await request.WaitSettledAsync(Settle);
        Assert.That(settled!.State, Is.EqualTo("Removed"), string.Join(" | ", settled.Steps.Select(static s => $"{s.Step}: {s.Outcome}")));

        await Eventually.UntilAsync(async () => (await Client.GetGrain<IHostGrain>(host.Id).GetAsync())!.Disks.Single().State, s => s == "Ready", Settle, "the released disk to be Ready again");
        Assert.Multiple(() =>
        {
            Assert.That(PodOf(id), Is.Null);
            Assert.That(Server.Objects<V1PersistentVolumeClaim>("persistentvolumeclaims").Where(c => c.Metadata.Name == $"dbprov-data-{id}"), Is.Empty);
            Assert.That(Server.Objects<V1Secret>("secrets").Where(s => s.Metadata.Name == $"dbprov-secret-{id}"), Is.Empty);
            Assert.That(Server.Requests.Count(r => r == "POST /apis/batch/v1/namespaces/dbprov/jobs"), Is.GreaterThan(jobsBefore), "the disk was wiped by a new Job");
        });
    }

    [Test]
    public async Task A_node_lost_while_its_pod_starts_fails_the_instance_and_gives_everything_back()
    {
        var host = await RegisterNodeAsync("node-lost", disks: 1);
        var id = NewId("i");
        Server.PodFates = name => name == $"dbprov-{id}" ? PodFate.Held : PodFate.Ready;
        try
        {
            var outcome = await Client.GetGrain<IInstanceGrain>(id).ProvisionAsync(Instance(NewId("c")), "tester");
            Assert.That(outcome.Ok, Is.True, outcome.Error);
            await Eventually.UntilAsync(() => Task.FromResult(PodOf(id) is not null), Settle, "the pod to be created");
            Server.LoseNode("node-lost");
            await Server.StartHeldPod("dbprov", $"dbprov-{id}");

            var view = await Client.GetGrain<IInstanceGrain>(id).WaitSettledAsync(Settle);
            var after = (await Client.GetGrain<IHostGrain>(host.Id).GetAsync())!;
            Assert.Multiple(() =>
            {
                Assert.That(view!.State, Is.EqualTo("Failed"));
                Assert.That(view.Reason, Does.Contain("not Ready"));
                Assert.That(after.Instances.Select(i => i.Id), Has.No.Member(id), "CPUs and port given back");
                Assert.That(after.Disks.Select(d => d.ClaimedBy), Has.No.Member(id), "the disk given back");
            });
        }
        finally
        {
            Server.PodFates = _ => PodFate.Ready;
        }
    }

    [Test]
    public async Task A_pool_of_a_docker_host_and_two_nodes_serves_one_cluster_with_members_on_both_runtimes()
    {
        var docker = await RegisterDockerAsync();
        var nodes = new[] { await RegisterNodeAsync("node-a"), await RegisterNodeAsync("node-c") };
        var name = NewId("c");
        var request = new CreateClusterRequest(name, _pool, 1, 3, SpreadSpec.HostHard, new InstanceTemplateSpec(1, 1024, 0, 50, DiskClass, NumaPolicy.Preferred, 1));

        var created = await Client.GetGrain<IClusterGrain>(name).CreateAsync(request, Instance(name), "tester");
        Assert.That(created.Ok, Is.True, created.Error);
        foreach (var member in created.Value!.Members)
        {
            var view = await Client.GetGrain<IInstanceGrain>(member.InstanceId).WaitSettledAsync(Settle);
            Assert.That(view!.State, Is.EqualTo("Ready"), $"{member.InstanceId}: {view.Reason}");
        }

        var onDocker = created.Value.Members.Single(m => m.Host == docker.Id);
        Assert.Multiple(() =>
        {
            Assert.That(created.Value.Members.Select(m => m.Host), Is.EquivalentTo(nodes.Select(n => n.Id).Append(docker.Id)));
            Assert.That(KubernetesSilo.Docker.Host(docker.Id).Running.Keys, Is.EquivalentTo(new[] { onDocker.InstanceId }), "one member is a container on the Docker host");
            Assert.That(created.Value.Members.Where(m => m.Host != docker.Id).Select(m => PodOf(m.InstanceId)?.Spec.NodeName), Is.EquivalentTo(new[] { "node-a", "node-c" }),
                "two members are pods bound to the nodes");
            Assert.That(PodOf(onDocker.InstanceId), Is.Null);
        });
    }
}
