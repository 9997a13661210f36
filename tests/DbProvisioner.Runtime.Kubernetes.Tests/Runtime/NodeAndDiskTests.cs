using DbProvisioner.Runtime.Kubernetes.Tests.Fake;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Runtime;

/// <summary>A node as a host (topology, ping, endpoint), its disks' format Jobs, and the fake's own API semantics the runtime relies on.</summary>
public sealed class NodeAndDiskTests
{
    [Test]
    public async Task The_topology_is_the_nodes_allocatable_cpus_and_memory_and_there_is_no_swap_for_instances()
    {
        using var cluster = new FakeCluster();
        var runtime = cluster.Runtime();

        var topology = await runtime.DiscoverTopologyAsync(CancellationToken.None);
        var swap = await runtime.DiscoverSwapAsync(CancellationToken.None);
        var facts = await runtime.PingAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(topology.LogicalCpuCount, Is.EqualTo(4));
            Assert.That(topology.MemoryMiB, Is.EqualTo(16384));
            Assert.That(swap, Is.EqualTo(new HostSwapInfo(0, false)));
            Assert.That(facts, Is.EqualTo(new EngineFacts(4, 16384)));
        });
    }

    [TestCase("k8s://prod/node-a", null)]
    [TestCase("k8s://prod/node-a.example.com", null)]
    [TestCase("k8s://staging/node-a", "cluster staging is not configured (Kubernetes:Clusters:staging:Kubeconfig)")]
    [TestCase("k8s://prod", "k8s://prod/ must be k8s://<cluster>/<node>: a cluster of Kubernetes:Clusters and one node's name")]
    [TestCase("k8s://prod/a/b", "k8s://prod/a/b must be k8s://<cluster>/<node>: a cluster of Kubernetes:Clusters and one node's name")]
    [TestCase("k8s://prod/Node_A", "k8s://prod/Node_A: the cluster must be a DNS label and the node a Kubernetes node name")]
    public void Registration_takes_a_node_of_a_configured_cluster_only(string endpoint, string? refusal)
    {
        using var cluster = new FakeCluster();
        Assert.That(cluster.Factory.EndpointRefusal(new Uri(endpoint)), Is.EqualTo(refusal));
    }

    [Test]
    public async Task A_lost_node_does_not_answer_the_heartbeat_and_an_api_server_restart_is_retried()
    {
        using var cluster = new FakeCluster(null, "node-a", "node-b");
        cluster.Server.FailNext(2);
        var facts = await cluster.Runtime("node-b").PingAsync(CancellationToken.None);
        cluster.Server.LoseNode("node-a");

        Assert.Multiple(() =>
        {
            Assert.That(facts, Is.Not.Null, "two 503s are retried by the cluster's pipeline");
            Assert.ThrowsAsync<EngineUnavailableException>(() => cluster.Runtime("node-a").PingAsync(CancellationToken.None));
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_format_runs_a_job_pinned_to_the_node_and_the_check_reports_it(bool seed)
    {
        using var cluster = new FakeCluster(null, "node-a", "node-b");
        var runtime = cluster.Runtime("node-b");

        var before = await runtime.CheckDiskAsync("/dev/loop4", CancellationToken.None);
        await runtime.FormatDiskAsync("/dev/loop4", seed, CancellationToken.None);
        var after = await runtime.CheckDiskAsync("/dev/loop4", CancellationToken.None);

        var job = cluster.Server.Objects<V1Job>("jobs").Single();
        Assert.Multiple(() =>
        {
            Assert.That(before.FileSystem, Is.Null);
            Assert.That(after, Is.EqualTo(new DiskCheck("/dev/loop4", "xfs", seed)));
            Assert.That(job.Spec.Template.Spec.NodeName, Is.EqualTo("node-b"));
            Assert.That(job.Spec.Template.Spec.Volumes.Single().HostPath.Path, Is.EqualTo("/dev/loop4"));
        });
    }

    [Test]
    public async Task Formatting_again_runs_a_new_job_which_is_how_a_released_disk_is_wiped()
    {
        using var cluster = new FakeCluster();
        var runtime = cluster.Runtime();

        await runtime.FormatDiskAsync("/dev/loop4", seed: true, CancellationToken.None);
        await runtime.FormatDiskAsync("/dev/loop4", seed: false, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(cluster.Server.Requests.Count(r => r == "POST /apis/batch/v1/namespaces/dbprov/jobs"), Is.EqualTo(2));
            Assert.That(cluster.Server.Requests, Has.Some.StartsWith("DELETE /apis/batch/v1/namespaces/dbprov/jobs/dbprov-format-node-a-dev-loop4"));
        });
        Assert.That(await runtime.CheckDiskAsync("/dev/loop4", CancellationToken.None), Is.EqualTo(new DiskCheck("/dev/loop4", "xfs", false)));
    }

    [Test]
    public void A_failed_job_fails_the_format_with_its_words()
    {
        using var cluster = new FakeCluster();
        cluster.Server.JobFailures = _ => "mkfs.xfs: cannot open /dev/dbprov-disk: Device or resource busy";

        var e = Assert.ThrowsAsync<EngineRejectedException>(() => cluster.Runtime().FormatDiskAsync("/dev/loop4", false, CancellationToken.None));

        Assert.That(e!.Message, Does.Contain("Device or resource busy"));
    }

    [Test]
    public async Task A_disk_whose_pv_exists_is_an_instances_and_is_never_formatted()
    {
        using var cluster = new FakeCluster();
        var runtime = cluster.Runtime();
        await runtime.StartInstanceAsync(new InstanceContainerSpec("i-1", "/dev/loop4", Domain.Topology.CpuSet.Of([1]), [], 1024, 0, 1, 3310, "[mysqld]\n", InstanceCredentials.Generate()), CancellationToken.None);

        var e = Assert.ThrowsAsync<EngineRejectedException>(() => runtime.FormatDiskAsync("/dev/loop4", false, CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Message, Does.Contain("in use"));
            Assert.That(cluster.Server.Objects<V1Job>("jobs"), Is.Empty);
        });
    }

    [Test]
    public async Task The_fake_refuses_a_write_with_a_stale_resource_version_and_a_watch_from_a_compacted_one()
    {
        using var server = new FakeKubernetesApiServer();
        var client = server.Client();
        var created = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" }, Data = new Dictionary<string, string> { ["a"] = "1" } }, "dbprov");
        var updated = await client.CoreV1.ReplaceNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c", ResourceVersion = created.Metadata.ResourceVersion }, Data = new Dictionary<string, string> { ["a"] = "2" } }, "c", "dbprov");

        var stale = Assert.ThrowsAsync<HttpOperationException>(() => client.CoreV1.ReplaceNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c", ResourceVersion = created.Metadata.ResourceVersion }, Data = new Dictionary<string, string> { ["a"] = "3" } }, "c", "dbprov"));
        server.CompactHistory();
        var errors = new List<Exception>();
        var events = new List<WatchEventType>();
        await foreach (var (type, _) in client.CoreV1.WatchListNamespacedConfigMapAsync("dbprov", resourceVersion: created.Metadata.ResourceVersion, onError: errors.Add))
            events.Add(type);

        Assert.Multiple(() =>
        {
            Assert.That(updated.Data["a"], Is.EqualTo("2"));
            Assert.That(stale!.Response.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.Conflict));
            Assert.That(errors.OfType<KubernetesException>().Single().Status.Code, Is.EqualTo(410));
            Assert.That(events, Is.Empty);
        });
    }
}
