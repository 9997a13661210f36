using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Runtime.Docker.Tests.Docker;

[Category("Engine")]
public sealed class TopologyDiscoveryTests
{
    [Test]
    public async Task Discovery_reports_this_machines_real_cpus_and_numa_nodes()
    {
        using var factory = new DockerHostRuntimeFactory();

        var topology = await factory.For(Engine.Host).DiscoverTopologyAsync(Engine.Timeout());

        var online = CpuSet.Parse(File.ReadAllText("/sys/devices/system/cpu/online"));
        Assert.That(topology.AllCpus, Is.EqualTo(online));
        Assert.That(topology.LogicalCpuCount, Is.EqualTo(Environment.ProcessorCount));
        var nodeDirs = Directory.Exists("/sys/devices/system/node")
            ? Directory.GetDirectories("/sys/devices/system/node", "node*").Select(d => int.Parse(Path.GetFileName(d)[4..])).Order().ToArray()
            : [0];
        Assert.That(topology.Nodes.Select(n => n.Id), Is.EqualTo(nodeDirs));
        foreach (var node in topology.Nodes.Where(_ => Directory.Exists("/sys/devices/system/node")))
            Assert.That(node.Cpus, Is.EqualTo(CpuSet.Parse(File.ReadAllText($"/sys/devices/system/node/node{node.Id}/cpulist"))));
        var memTotalKiB = long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        Assert.That(topology.MemoryMiB, Is.InRange(memTotalKiB / 1024 * 9 / 10, memTotalKiB / 1024 + 1));
    }
}
