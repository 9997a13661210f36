using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using static DbProvisioner.Domain.Tests.TestData.Fleets;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.Placement;

/// <summary>What each runtime can honour, and placement refusing (with the reason) what a Kubernetes node cannot.</summary>
public class RuntimeCapabilityTests
{
    private static HostState Docker(long swapMiB = 0) => Dual(1).Build()[0] with { Swap = HostSwap.Of(16384, swapMiB) };
    private static HostState Node(string id = "node-a") => Dual(1).Build()[0] with { HostId = id, Runtime = HostRuntimeKind.Kubernetes };

    [TestCase("k8s://prod/node-a", HostRuntimeKind.Kubernetes)]
    [TestCase("K8S://prod/node-a", HostRuntimeKind.Kubernetes)]
    [TestCase("unix:///var/run/docker.sock", HostRuntimeKind.Docker)]
    [TestCase("https://10.0.0.7:2376", HostRuntimeKind.Docker)]
    [TestCase("tcp://127.0.0.1:2375", HostRuntimeKind.Docker)]
    public void The_runtime_is_read_from_the_engine_endpoint(string endpoint, HostRuntimeKind kind) =>
        Assert.That(RuntimeCapabilities.KindOf(endpoint), Is.EqualTo(kind));

    [Test]
    public void The_capability_table()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RuntimeCapabilities.Of(HostRuntimeKind.Docker), Is.EqualTo(new RuntimeCapabilities(ExactCpuSet: true, CustomSwap: true, NumaInterleave: true, NumaBinding: true)));
            Assert.That(RuntimeCapabilities.Of(HostRuntimeKind.Kubernetes), Is.EqualTo(new RuntimeCapabilities(ExactCpuSet: false, CustomSwap: false, NumaInterleave: false, NumaBinding: false)));
        });
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(NumaPolicy.Preferred, 0L, FilterCode.Fits, "").SetName("preferred, no swap: fits a node");
        yield return new TestCaseData(NumaPolicy.None, 0L, FilterCode.Fits, "").SetName("none, no swap: fits a node");
        yield return new TestCaseData(NumaPolicy.Preferred, 512L, FilterCode.Runtime,
            "a Kubernetes node cannot hold an instance to its own swap allowance (512 MiB asked)").SetName("swap");
        yield return new TestCaseData(NumaPolicy.Interleave, 0L, FilterCode.Runtime,
            "a Kubernetes node cannot interleave an instance's memory across NUMA nodes (numa interleave asked)").SetName("interleave");
        yield return new TestCaseData(NumaPolicy.Required, 0L, FilterCode.Runtime,
            "a Kubernetes node cannot bind an instance to one chosen NUMA node: its kubelet chooses the cores (numa required asked)").SetName("required");
    }

    [TestCaseSource(nameof(Cases))]
    public void A_kubernetes_node_refuses_what_it_cannot_honour_with_the_reason(NumaPolicy numa, long swapMiB, FilterCode code, string reason)
    {
        var node = HostCapacity.From(Node());
        var request = Request(Instance("a", 4, numa, swapMiB: swapMiB));
        var weights = new ScoreWeights();

        Assert.Multiple(() =>
        {
            Assert.That(Filters.Check(node, request), Is.EqualTo(code));
            Assert.That(Fit.Evaluate(node, request, weights, out _), Is.EqualTo(code), "the scheduler's hot path answers as the filters");
            Assert.That(Filters.Explain(code, node, request), Is.EqualTo(reason));
            Assert.That(Filters.All(node, request), code == FilterCode.Fits ? Is.Empty : Does.Contain(reason));
        });
    }

    [TestCaseSource(nameof(Cases))]
    public void A_docker_host_with_swap_honours_every_one_of_them(NumaPolicy numa, long swapMiB, FilterCode _, string __) =>
        Assert.That(Filters.Check(HostCapacity.From(Docker(swapMiB: 4096)), Request(Instance("a", 4, numa, swapMiB: swapMiB))), Is.EqualTo(FilterCode.Fits));

    [Test]
    public void The_node_itself_refuses_the_reservation_and_keeps_its_state()
    {
        var node = Node();
        var refused = HostReservations.Reserve(node, Instance("a", 4, NumaPolicy.Interleave));
        var taken = HostReservations.Reserve(node, Instance("b", 4, NumaPolicy.Preferred));

        Assert.Multiple(() =>
        {
            Assert.That(refused.Succeeded, Is.False);
            Assert.That(refused.Reason, Is.EqualTo("host node-a: a Kubernetes node cannot interleave an instance's memory across NUMA nodes (numa interleave asked)"));
            Assert.That(refused.State, Is.SameAs(node));
            Assert.That(taken.Succeeded, Is.True, taken.Reason);
        });
    }

    [Test]
    public void A_request_with_swap_lands_on_the_docker_host_of_a_mixed_pool_and_is_refused_by_name_when_it_is_full()
    {
        var docker = Docker(swapMiB: 4096) with { HostId = "local" };
        var pool = new[] { HostCapacity.From(Node("node-a")), HostCapacity.From(Node("node-b")), HostCapacity.From(docker) };
        var withSwap = Request(Instance("a", 4, NumaPolicy.Preferred, swapMiB: 1024));

        var placed = Scheduler.Place(pool, withSwap, PlacementOptions.Default);
        pool[2] = pool[2] with { Cordoned = true };
        var refused = Scheduler.Place(pool, withSwap, PlacementOptions.Default);

        Assert.Multiple(() =>
        {
            Assert.That(placed.HostId, Is.EqualTo("local"));
            Assert.That(refused.HostId, Is.Null);
            Assert.That(refused.Reason, Does.Contain("2 hosts: a Kubernetes node cannot hold an instance to its own swap allowance (1024 MiB asked)"));
            Assert.That(refused.Reason, Does.Contain("1 host: host is cordoned"));
        });
    }

    [Test]
    public void A_state_stored_before_runtimes_were_told_apart_reads_as_docker() =>
        Assert.That(Dual(1).Build()[0].Runtime, Is.EqualTo(HostRuntimeKind.Docker));
}
