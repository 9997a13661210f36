using DbProvisioner.Domain.Tests.TestData;
using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Domain.Tests.Topology;

public class TopologyBuilderTests
{
    private static IEnumerable<TestCaseData> Shapes()
    {
        yield return new TestCaseData(Topologies.SingleSocketNoHt, 1, 2, 2, "0", "0,1").SetName("single socket without HT");
        yield return new TestCaseData(Topologies.DualSocketHt, 2, 32, 64, "0,32", "0-15,32-47").SetName("dual socket HT");
        yield return new TestCaseData(Topologies.FourNumaHt, 4, 48, 96, "0,48", "0-11,48-59").SetName("four NUMA HT");
        yield return new TestCaseData(Topologies.Asymmetric, 2, 12, 24, "0,12", "0-7,12-19").SetName("asymmetric");
    }

    [TestCaseSource(nameof(Shapes))]
    public void Numbers_cpus_like_linux(HostTopology topology, int nodes, int cores, int cpus, string firstCore, string firstNode)
    {
        Assert.Multiple(() =>
        {
            Assert.That(topology.Nodes, Has.Count.EqualTo(nodes));
            Assert.That(topology.PhysicalCoreCount, Is.EqualTo(cores));
            Assert.That(topology.LogicalCpuCount, Is.EqualTo(cpus));
            Assert.That(topology.Nodes[0].Cores[0].Cpus.ToString(), Is.EqualTo(firstCore));
            Assert.That(topology.Nodes[0].Cpus.ToString(), Is.EqualTo(firstNode));
            Assert.That(topology.NodeOf(topology.Nodes[^1].Cores[^1].Cpus.Min())!.Id, Is.EqualTo(nodes - 1));
        });
    }

    [Test]
    public void Adjacent_siblings_number_threads_of_a_core_together()
    {
        var t = TopologyBuilder.Create().WithNode(2, 2, 1024).WithNode(2, 2, 1024).WithAdjacentSiblings().Build();
        Assert.That(t.Nodes.SelectMany(static n => n.Cores).Select(static c => c.Cpus.ToString()), Is.EqualTo(new[] { "0,1", "2,3", "4,5", "6,7" }));
    }

    [Test]
    public void Refuses_impossible_shapes()
    {
        Assert.Multiple(() =>
        {
            Assert.Throws<InvalidOperationException>(() => TopologyBuilder.Create().Build());
            Assert.Throws<InvalidOperationException>(() => TopologyBuilder.Create().WithNode(0, 1, 1).Build());
            Assert.Throws<InvalidOperationException>(() => TopologyBuilder.Create().WithNode(1, 0, 1).Build());
        });
    }
}
