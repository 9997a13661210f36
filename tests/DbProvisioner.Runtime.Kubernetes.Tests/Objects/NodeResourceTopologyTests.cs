using System.Text.Json;
using DbProvisioner.Runtime.Kubernetes.Tests.Fake;
using DbProvisioner.Runtime.Kubernetes.Tests.Runtime;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Objects;

/// <summary>A node's NodeResourceTopology object as a host topology (pure mapping), and the runtime reading it or falling back on a 404.</summary>
public sealed class NodeResourceTopologyTests
{
    private const long NodeMemoryMiB = 65536;

    private static JsonElement Nrt(string zonesJson) =>
        JsonDocument.Parse($$"""{"apiVersion":"topology.node.k8s.io/v1alpha2","kind":"NodeResourceTopology","metadata":{"name":"node-a"},"zones":{{zonesJson}}}""").RootElement;

    private static string Zone(string name, string resources, string type = "Node") => $$"""{"name":"{{name}}","type":"{{type}}","resources":[{{resources}}]}""";

    private static string Cpu(string allocatable, string capacity = "16") => $$"""{"name":"cpu","capacity":"{{capacity}}","allocatable":{{allocatable}},"available":"4"}""";

    private static string Memory(string allocatable) => $$"""{"name":"memory","capacity":"{{allocatable}}","allocatable":"{{allocatable}}","available":"{{allocatable}}"}""";

    private static string Shape(Domain.Topology.HostTopology? t) =>
        t is null ? "none" : string.Join(" | ", t.Nodes.Select(n => $"numa {n.Id}: cpus {n.Cpus} mem {n.MemoryMiB}"));

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData($"[{Zone("node-0", $"{Cpu("\"8\"")},{Memory("32Gi")}")},{Zone("node-1", $"{Cpu("\"8\"")},{Memory("30Gi")}")}]",
            "numa 0: cpus 0-7 mem 32768 | numa 1: cpus 8-15 mem 30720").SetName("two zones: one NUMA node each, CPU ids contiguous in zone order, each zone's memory");
        yield return new TestCaseData($"[{Zone("node-0", Cpu("\"12\""))}]",
            "numa 0: cpus 0-11 mem 65536").SetName("one zone without memory: the node's memory");
        yield return new TestCaseData($"[{Zone("node-0", Cpu("6", capacity: "8"))},{Zone("node-1", Cpu("\"7\"", capacity: "8"))}]",
            "numa 0: cpus 0-5 mem 32768 | numa 1: cpus 6-12 mem 32768").SetName("reserved CPUs: allocatable, not capacity, and a JSON number is a quantity too");
        yield return new TestCaseData($"[{Zone("node-0", Cpu("\"7500m\""))}]",
            "numa 0: cpus 0-6 mem 65536").SetName("a fractional allocatable counts whole CPUs only");
        yield return new TestCaseData($"[{Zone("node-0", Memory("32Gi"))},{Zone("node-1", Memory("32Gi"))}]",
            "none").SetName("no cpu resource in any zone: no topology from NRT (the node's capacity instead)");
        yield return new TestCaseData($"[{Zone("node-0", Cpu("\"4\""))},{Zone("socket-0", Cpu("\"8\""), type: "Socket")},{Zone("node-1", Cpu("\"0\""))}]",
            "numa 0: cpus 0-3 mem 65536").SetName("only Node zones with CPUs left are NUMA nodes (a socket zone and a fully reserved zone are not)");
    }

    [TestCaseSource(nameof(Cases))]
    public void A_node_resource_topology_maps_to_numa_nodes(string zones, string expected) =>
        Assert.That(Shape(NodeResourceTopology.ToTopology(Nrt(zones), NodeMemoryMiB)), Is.EqualTo(expected));

    [TestCase("{}", "NodeResourceTopology node-a has no zones list")]
    [TestCase("[{\"type\":\"Node\",\"resources\":[]}]", "NodeResourceTopology node-a: a zone has no name")]
    [TestCase("[{\"name\":\"node-0\",\"type\":\"Node\",\"resources\":[{\"name\":\"cpu\",\"capacity\":\"8\"}]}]", "NodeResourceTopology node-a: zone node-0 reports cpu without an allocatable quantity")]
    [TestCase("[{\"name\":\"node-0\",\"type\":\"Node\",\"resources\":[{\"name\":\"cpu\",\"allocatable\":\"eight\"}]}]", "NodeResourceTopology node-a: zone node-0 reports cpu allocatable eight which is not a quantity")]
    [TestCase("[{\"name\":\"node-0\",\"type\":\"Node\",\"resources\":[{\"name\":\"cpu\",\"allocatable\":true}]}]", "NodeResourceTopology node-a: zone node-0 reports cpu allocatable True which is not a quantity")]
    public void A_malformed_object_is_refused_saying_what_is_wrong(string zones, string message) =>
        Assert.That(() => NodeResourceTopology.ToTopology(Nrt(zones), NodeMemoryMiB), Throws.InstanceOf<FormatException>().With.Message.EqualTo(message));

    [Test]
    public async Task The_runtime_reads_the_nodes_zones_when_the_cluster_has_them_and_its_capacity_on_a_404()
    {
        using var cluster = new FakeCluster(null, "node-a", "node-b");
        cluster.Server.SetNodeTopology("node-a", FakeKubernetesApiServer.NumaZones(reservedPerZone: 1, 3, 3));

        var zoned = await cluster.Runtime("node-a").DiscoverTopologyAsync(CancellationToken.None);
        var flat = await cluster.Runtime("node-b").DiscoverTopologyAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(Shape(zoned), Is.EqualTo("numa 0: cpus 0-2 mem 8192 | numa 1: cpus 3-5 mem 8192"));
            Assert.That(Shape(flat), Is.EqualTo("numa 0: cpus 0-3 mem 16384"), "no NRT object: one NUMA node of the node's allocatable CPUs");
            Assert.That(cluster.Server.Requests, Has.Member("GET /apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies/node-b"));
        });
    }

    [Test]
    public async Task A_malformed_object_fails_discovery_with_the_reason()
    {
        using var cluster = new FakeCluster();
        cluster.Server.SetNodeTopology("node-a", new System.Text.Json.Nodes.JsonObject { ["zones"] = "all of them" });

        Assert.That(async () => await cluster.Runtime().DiscoverTopologyAsync(CancellationToken.None),
            Throws.InstanceOf<EngineRejectedException>().With.Message.Contains("NodeResourceTopology node-a has no zones list"));
    }
}

/// <summary>The Cpus_allowed_list line of /proc/1/status the runtime reads in the instance's container.</summary>
public sealed class CpusAllowedTests
{
    [TestCase("Name:\tmariadbd\nCpus_allowed:\tc\nCpus_allowed_list:\t2-3\nMems_allowed_list:\t0\n", "2,3")]
    [TestCase("Cpus_allowed_list:\t0-5,8\n", "0-5,8")]
    [TestCase("Cpus_allowed_list:   7", "7")]
    [TestCase("Cpus_allowed:\tff\n", null)]
    [TestCase("", null)]
    [TestCase("Cpus_allowed_list:\tmany\n", null)]
    public void The_allowed_cpus_are_read_from_the_status_text(string status, string? cpus) =>
        Assert.That(KubernetesInstances.CpusAllowed(status)?.ToString(), Is.EqualTo(cpus));
}
