using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Runtime.Kubernetes.Tests.Fake;
using DbProvisioner.Runtime.Kubernetes.Tests.Runtime;
using DbProvisioner.Testing;
using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Grains;

/// <summary>
/// The real grains provisioning on Kubernetes nodes (and on a simulated Docker host next to them): one instance, a
/// cluster spread across nodes, removal through the scale-down gate, a node lost mid-step. ONE suite over two targets
/// (<see cref="ClusterTarget"/>): the fake API server, and a real cluster when DBPROV_KUBECONFIG is set (otherwise that
/// fixture is ignored with one printed line). Tests that need the fake's powers say so and stay fake-only.
/// Each test has its own pool, hosts and port range.
/// </summary>
[TestFixtureSource(typeof(ClusterTarget), nameof(ClusterTarget.Names))]
public sealed class KubernetesGrainTests(string target)
{
    private const string DiskClass = "ssd";
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private static int _nextPort = 3400;
    private string _pool = "";
    private ClusterTarget _target = null!;
    private readonly List<(HostView Host, string InstanceId)> _made = [];

    private IClusterClient Client => _target.Client;
    private TimeSpan SettleTime => _target.Fake is null ? TimeSpan.FromMinutes(5) : Settle;

    [OneTimeSetUp]
    public async Task UseTargetAsync() => _target = target == ClusterTarget.FakeName ? KubernetesSilo.FakeTarget : await KubernetesSilo.RealTargetAsync();

    /// <summary>On a real cluster every pod a test made goes, so that the next test finds its nodes' disks and ports free.</summary>
    [TearDown]
    public async Task RemoveWhatTheTestMadeAsync()
    {
        if (_target.Fake is null && KubernetesSilo.RealFactory is { } real)
            foreach (var (host, id) in _made)
                await real.For(new HostConnection(host.Id, new Uri(host.EngineEndpoint), (await Client.GetGrain<IHostGrain>(host.Id).GetLocationAsync())!.MySqlAddress, RealCluster.RealClusterEnvironment.Image))
                    .RemoveInstanceAsync(id, CancellationToken.None);
        _made.Clear();
    }

    [SetUp]
    public void FreshPool() => _pool = NewId("pool");

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>A node of the fake cluster as a host: its topology is discovered from the node, its disks are formatted by Jobs.</summary>
    private async Task<HostView> RegisterNodeAsync(string node, int disks = 2, string? endpoint = null)
    {
        var id = NewId(node);
        var first = Interlocked.Add(ref _nextPort, 10);
        var name = _target.Node(node);
        var request = new RegisterHostRequest(id, endpoint ?? $"k8s://{_target.Cluster}/{name}", "zone-a", $"rack-{id}", _pool,
            [.. _target.Devices(id, disks).Select(d => new DiskSpec(d, 100, DiskClass))], null, new PortRangeSpec(first, first + 9),
            MySqlAddress: await _target.MySqlAddressAsync(name), Watermarks: [new WatermarkSpec(DiskClass, disks, 0)]);
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

    private async Task<HostView> RegisterAsync(RegisterHostRequest request)
    {
        if (request.Topology is { } t) KubernetesSilo.Docker.SetTopology(request.Id!, Domain.Topology.TopologyBuilder.Uniform(t.NumaNodes, t.CoresPerNode, t.ThreadsPerCore, t.MemoryMiBPerNode));
        var outcome = await Client.GetGrain<IHostGrain>(request.Id!).RegisterAsync(request);
        Assert.That(outcome.Ok, Is.True, $"register {request.Id}: {outcome.Error}");
        if (request.Topology is not null)
        {
            // A described host learns its image at its first answered heartbeat (the server beats every few seconds): beat once.
            await Client.GetGrain<IHostGrain>(request.Id!).HeartbeatAsync();
            await Client.GetGrain<IImagePullGrain>(request.Id!).PullAsync();
        }
        await Client.GetGrain<IDiskPoolGrain>(request.Id!).RunUntilIdleAsync();
        var placement = Client.GetGrain<IPlacementGrain>(request.Pool!);
        await Eventually.UntilAsync(async () => (await placement.SnapshotAsync()).SingleOrDefault(h => h.HostId == request.Id)?.ReadyDisks.Sum(static d => d.Count),
            ready => ready == request.Disks!.Count, SettleTime, $"the placement index to see the Ready disks of {request.Id}");
        return (await Client.GetGrain<IHostGrain>(request.Id!).GetAsync())!;
    }

    private InstanceSpec Instance(string cluster, long swapMiB = 0, NumaPolicy numa = NumaPolicy.Preferred) =>
        new(cluster, "s0", "primary", 2, 2048, swapMiB, 1, 50, DiskClass, numa, _pool, SpreadSpec.HostHard);

    private async Task<InstanceView> ProvisionAsync(string instanceId, InstanceSpec spec, HostView? on = null)
    {
        var outcome = await Client.GetGrain<IInstanceGrain>(instanceId).ProvisionAsync(spec, "tester");
        Assert.That(outcome.Ok, Is.True, $"provision {instanceId}: {outcome.Kind} {outcome.Error}");
        var view = (await Client.GetGrain<IInstanceGrain>(instanceId).WaitSettledAsync(SettleTime))!;
        if (on is not null) _made.Add((on, instanceId));
        return view;
    }

    private async Task<InstanceView> SettledAsync(string instanceId) => (await Client.GetGrain<IInstanceGrain>(instanceId).WaitSettledAsync(SettleTime))!;

    private Task<V1Pod?> PodOf(string instanceId) => _target.PodAsync(instanceId);

    /// <summary>The pod's node of each member (null when it has no pod), and the members noted for the real target's cleanup.</summary>
    private async Task<List<string?>> NodesOfAsync(IEnumerable<ClusterMemberView> members, IEnumerable<HostView> hosts)
    {
        var nodes = new List<string?>();
        foreach (var member in members)
        {
            if (hosts.FirstOrDefault(h => h.Id == member.Host) is { } host) _made.Add((host, member.InstanceId));
            nodes.Add((await PodOf(member.InstanceId))?.Spec.NodeName);
        }
        return nodes;
    }

    [Test]
    public async Task An_instance_on_a_node_is_a_bound_guaranteed_pod_on_its_claimed_disk_and_is_Ready()
    {
        var host = await RegisterNodeAsync("node-a");
        var id = NewId("i");

        var view = await ProvisionAsync(id, Instance(NewId("c")), host);

        var pod = await PodOf(id);
        var disk = (await Client.GetGrain<IHostGrain>(host.Id).GetAsync())!.Disks.Single(d => d.ClaimedBy == id);
        var node = _target.Node("node-a");
        var cpus = await _target.AllocatableCpusAsync(node);
        var volumes = await _target.VolumesAsync();
        var devices = host.Disks.Select(d => d.Device).ToHashSet();
        var jobs = await _target.JobsAsync();
        Assert.Multiple(() =>
        {
            Assert.That(view.State, Is.EqualTo("Ready"), view.Reason);
            Assert.That(host.NumaNodes.SelectMany(n => n.Cores).Count(), Is.EqualTo(cpus), "the topology is the node's allocatable CPUs");
            Assert.That(pod, Is.Not.Null);
            Assert.That(pod!.Spec.NodeName, Is.EqualTo(node));
            Assert.That(pod.Spec.Containers[0].Resources.Limits["cpu"].ToDecimal(), Is.EqualTo(2));
            Assert.That(pod.Spec.Containers[0].Ports[0].HostPort, Is.EqualTo(view.Endpoint!.Port));
            Assert.That(volumes.Single(v => v.Spec.ClaimRef?.Name == $"dbprov-data-{id}").Spec.Local.Path, Is.EqualTo(disk.Device));
            Assert.That(jobs.Count(j => j.Spec.Template.Spec.NodeName == node && devices.Contains(j.Spec.Template.Spec.Volumes[0].HostPath.Path)), Is.EqualTo(2),
                "each disk was formatted by a Job on the node");
        });
    }

    [Test]
    public async Task A_node_with_two_numa_zones_is_registered_with_them_and_a_numa_bound_instance_lands_inside_one_zone()
    {
        _target.FakeOnly("the fake serves node-numa's NodeResourceTopology object");
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
        _target.FakeOnly("the fake kubelet is made to choose other CPUs than the appliance; a real one may choose the same");
        await RegisterNodeAsync("node-cpus");
        var id = NewId("i");

        var view = await ProvisionAsync(id, Instance(NewId("c")));

        var kubelet = _target.Fake!.CpusetOf("dbprov", $"dbprov-{id}");
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
        _target.FakeOnly("node-none's fake kubelet runs the CPU manager policy none");
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
        var settled = outcome.Ok ? await SettledAsync(id) : null;

        var reason = outcome.Ok ? settled!.Reason : outcome.Error;
        Assert.That(reason, Does.Contain("a Kubernetes node cannot hold an instance to its own swap allowance (512 MiB asked)"));
        Assert.That(await PodOf(id), Is.Null);
    }

    [Test]
    public async Task A_cluster_spreads_its_members_across_nodes_one_pod_per_node()
    {
        var hosts = new[] { await RegisterNodeAsync("node-a"), await RegisterNodeAsync("node-b"), await RegisterNodeAsync("node-c") };
        var name = NewId("c");
        var request = new CreateClusterRequest(name, _pool, 1, 3, SpreadSpec.HostHard, new InstanceTemplateSpec(1, 1024, 0, 50, DiskClass, NumaPolicy.None, 1));

        var created = await Client.GetGrain<IClusterGrain>(name).CreateAsync(request, Instance(name, numa: NumaPolicy.None), "tester");
        Assert.That(created.Ok, Is.True, created.Error);
        var nodes = await NodesOfAsync(created.Value!.Members, hosts);
        foreach (var member in created.Value.Members)
        {
            var view = await SettledAsync(member.InstanceId);
            Assert.That(view.State, Is.EqualTo("Ready"), $"{member.InstanceId}: {view.Reason}");
        }

        var members = created.Value.Members;
        Assert.Multiple(() =>
        {
            Assert.That(members.Select(m => m.Host), Is.EquivalentTo(hosts.Select(h => h.Id)), "hard spread by host: one member per node");
            Assert.That(nodes, Is.EquivalentTo(new[] { "node-a", "node-b", "node-c" }.Select(_target.Node)));
        });
    }

    [Test]
    public async Task Removal_through_the_gate_deletes_the_pod_and_wipes_the_disk_by_a_job_before_it_is_Ready_again()
    {
        var host = await RegisterNodeAsync("node-b", disks: 1);
        var id = NewId("i");
        Assert.That((await ProvisionAsync(id, Instance(NewId("c")), host)).State, Is.EqualTo("Ready"));
        var device = host.Disks.Single().Device;
        var jobBefore = (await _target.JobsAsync()).Single(j => j.Metadata.Name == KubernetesNames.DiskJob(_target.Node("node-b"), device)).Metadata.Uid;
        var request = Client.GetGrain<IScaleDownGrain>(NewId("sd"));

        var created = await request.CreateAsync(id, "requester-key");
        Assert.That(created.Ok, Is.True, created.Error);
        Assert.That(await PodOf(id), Is.Not.Null, "a request alone removes nothing");
        var risks = created.Value!.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToList();
        Assert.That((await request.ApproveAsync("approver-key", risks)).Ok, Is.True);
        var settled = await request.WaitSettledAsync(SettleTime);
        Assert.That(settled!.State, Is.EqualTo("Removed"), string.Join(" | ", settled.Steps.Select(static s => $"{s.Step}: {s.Outcome}")));

        await Eventually.UntilAsync(async () => (await Client.GetGrain<IHostGrain>(host.Id).GetAsync())!.Disks.Single().State, s => s == "Ready", SettleTime, "the released disk to be Ready again");
        var pod = await PodOf(id);
        var claims = await _target.ClaimsAsync();
        var secrets = await _target.SecretsAsync();
        var jobAfter = (await _target.JobsAsync()).Single(j => j.Metadata.Name == KubernetesNames.DiskJob(_target.Node("node-b"), device)).Metadata.Uid;
        Assert.Multiple(() =>
        {
            Assert.That(pod, Is.Null);
            Assert.That(claims.Where(c => c.Metadata.Name == $"dbprov-data-{id}"), Is.Empty);
            Assert.That(secrets.Where(s => s.Metadata.Name == $"dbprov-secret-{id}"), Is.Empty);
            Assert.That(jobAfter, Is.Not.EqualTo(jobBefore), "the disk was wiped by a new Job");
        });
    }

    [Test]
    public async Task A_node_lost_while_its_pod_starts_fails_the_instance_and_gives_everything_back()
    {
        _target.FakeOnly("a node is lost on purpose only in the fake");
        var server = _target.Fake!;
        var host = await RegisterNodeAsync("node-lost", disks: 1);
        var id = NewId("i");
        server.PodFates = name => name == $"dbprov-{id}" ? PodFate.Held : PodFate.Ready;
        try
        {
            var outcome = await Client.GetGrain<IInstanceGrain>(id).ProvisionAsync(Instance(NewId("c")), "tester");
            Assert.That(outcome.Ok, Is.True, outcome.Error);
            await Eventually.UntilAsync(async () => await PodOf(id) is not null, Settle, "the pod to be created");
            server.LoseNode("node-lost");
            await server.StartHeldPod("dbprov", $"dbprov-{id}");

            var view = await SettledAsync(id);
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
            server.PodFates = _ => PodFate.Ready;
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
            var view = await SettledAsync(member.InstanceId);
            Assert.That(view.State, Is.EqualTo("Ready"), $"{member.InstanceId}: {view.Reason}");
        }

        var onNodes = await NodesOfAsync(created.Value.Members.Where(m => m.Host != docker.Id), nodes);
        var onDocker = created.Value.Members.Single(m => m.Host == docker.Id);
        var dockerPod = await PodOf(onDocker.InstanceId);
        Assert.Multiple(() =>
        {
            Assert.That(created.Value.Members.Select(m => m.Host), Is.EquivalentTo(nodes.Select(n => n.Id).Append(docker.Id)));
            Assert.That(KubernetesSilo.Docker.Host(docker.Id).Running.Keys, Is.EquivalentTo(new[] { onDocker.InstanceId }), "one member is a container on the Docker host");
            Assert.That(onNodes, Is.EquivalentTo(new[] { "node-a", "node-c" }.Select(_target.Node)),
                "two members are pods bound to the nodes");
            Assert.That(dockerPod, Is.Null);
        });
    }
}
