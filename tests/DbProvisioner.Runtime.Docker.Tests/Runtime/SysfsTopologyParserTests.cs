using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;

namespace DbProvisioner.Runtime.Docker.Tests.Runtime;

public sealed class SysfsTopologyParserTests
{
    // This machine (a Firecracker VM): one node, two CPUs without hyper-threading, and a node
    // meminfo that counts only the boot memory (5 GB) of its 24 GB.
    private const string OneNode = """
        ==> /sys/devices/system/node/node0/cpulist <==
        0-1
        ==> /sys/devices/system/node/node0/meminfo <==
        Node 0 MemTotal:        5204172 kB
        Node 0 MemFree:         4121580 kB
        ==> /sys/devices/system/cpu/cpu0/topology/core_id <==
        0
        ==> /sys/devices/system/cpu/cpu1/topology/core_id <==
        1
        ==> /sys/devices/system/cpu/cpu0/topology/physical_package_id <==
        0
        ==> /sys/devices/system/cpu/cpu1/topology/physical_package_id <==
        0
        ==> /sys/devices/system/cpu/cpu0/topology/thread_siblings_list <==
        0
        ==> /sys/devices/system/cpu/cpu1/topology/thread_siblings_list <==
        1
        ==> /proc/meminfo <==
        MemTotal:       24684084 kB
        """;

    // Two sockets, one node each, 2 cores × 2 hyper-threads per socket; siblings numbered n and n+4.
    private const string TwoNodes = """
        ==> /sys/devices/system/node/node0/cpulist <==
        0-1,4-5
        ==> /sys/devices/system/node/node1/cpulist <==
        2-3,6-7
        ==> /sys/devices/system/node/node0/meminfo <==
        Node 0 MemTotal:       16777216 kB
        ==> /sys/devices/system/node/node1/meminfo <==
        Node 1 MemTotal:        8388608 kB
        ==> /sys/devices/system/cpu/cpu0/topology/core_id <==
        0
        ==> /sys/devices/system/cpu/cpu1/topology/core_id <==
        1
        ==> /sys/devices/system/cpu/cpu2/topology/core_id <==
        0
        ==> /sys/devices/system/cpu/cpu3/topology/core_id <==
        1
        ==> /sys/devices/system/cpu/cpu4/topology/core_id <==
        0
        ==> /sys/devices/system/cpu/cpu5/topology/core_id <==
        1
        ==> /sys/devices/system/cpu/cpu6/topology/core_id <==
        0
        ==> /sys/devices/system/cpu/cpu7/topology/core_id <==
        1
        ==> /sys/devices/system/cpu/cpu0/topology/physical_package_id <==
        0
        ==> /sys/devices/system/cpu/cpu1/topology/physical_package_id <==
        0
        ==> /sys/devices/system/cpu/cpu2/topology/physical_package_id <==
        1
        ==> /sys/devices/system/cpu/cpu3/topology/physical_package_id <==
        1
        ==> /sys/devices/system/cpu/cpu4/topology/physical_package_id <==
        0
        ==> /sys/devices/system/cpu/cpu5/topology/physical_package_id <==
        0
        ==> /sys/devices/system/cpu/cpu6/topology/physical_package_id <==
        1
        ==> /sys/devices/system/cpu/cpu7/topology/physical_package_id <==
        1
        ==> /sys/devices/system/cpu/cpu0/topology/thread_siblings_list <==
        0,4
        ==> /sys/devices/system/cpu/cpu1/topology/thread_siblings_list <==
        1,5
        ==> /sys/devices/system/cpu/cpu2/topology/thread_siblings_list <==
        2,6
        ==> /sys/devices/system/cpu/cpu3/topology/thread_siblings_list <==
        3,7
        ==> /sys/devices/system/cpu/cpu4/topology/thread_siblings_list <==
        0,4
        ==> /sys/devices/system/cpu/cpu5/topology/thread_siblings_list <==
        1,5
        ==> /sys/devices/system/cpu/cpu6/topology/thread_siblings_list <==
        2,6
        ==> /sys/devices/system/cpu/cpu7/topology/thread_siblings_list <==
        3,7
        ==> /proc/meminfo <==
        MemTotal:       25165824 kB
        """;

    // A kernel built without NUMA: no /sys/devices/system/node at all.
    private const string NoNumaDirectory = """
        ==> /sys/devices/system/cpu/cpu0/topology/core_id <==
        0
        ==> /sys/devices/system/cpu/cpu1/topology/core_id <==
        0
        ==> /sys/devices/system/cpu/cpu0/topology/physical_package_id <==
        0
        ==> /sys/devices/system/cpu/cpu1/topology/physical_package_id <==
        0
        ==> /sys/devices/system/cpu/cpu0/topology/thread_siblings_list <==
        0-1
        ==> /sys/devices/system/cpu/cpu1/topology/thread_siblings_list <==
        0-1
        ==> /proc/meminfo <==
        MemTotal:        2097152 kB
        MemFree:         1048576 kB
        """;

    [Test]
    public void One_node_machine_has_its_two_cores_on_node_0()
    {
        var topology = SysfsTopologyParser.Parse(OneNode);

        Assert.That(topology.Nodes, Has.Count.EqualTo(1));
        var node = topology.Nodes[0];
        Assert.That(node.Id, Is.Zero);
        Assert.That(node.MemoryMiB, Is.EqualTo(24684084 / 1024), "the machine's MemTotal, not the under-reporting node meminfo");
        Assert.That(node.Cores.Select(c => c.Cpus.ToString()), Is.EqualTo(new[] { "0", "1" }));
        Assert.That(topology.AllCpus, Is.EqualTo(CpuSet.Parse("0-1")));
    }

    [Test]
    public void Two_node_machine_groups_hyper_thread_siblings_into_cores_on_their_node()
    {
        var topology = SysfsTopologyParser.Parse(TwoNodes);

        Assert.That(topology.Nodes.Select(n => n.Id), Is.EqualTo(new[] { 0, 1 }));
        Assert.That(topology.Nodes[0].Cores.Select(c => c.Cpus.ToString()), Is.EqualTo(new[] { "0,4", "1,5" }));
        Assert.That(topology.Nodes[1].Cores.Select(c => c.Cpus.ToString()), Is.EqualTo(new[] { "2,6", "3,7" }));
        Assert.That(topology.Nodes[1].Cores.Select(c => c.Socket), Is.All.EqualTo(1));
        Assert.That(topology.Nodes.Select(n => n.MemoryMiB), Is.EqualTo(new long[] { 16384, 8192 }));
        Assert.That(topology.PhysicalCoreCount, Is.EqualTo(4));
        Assert.That(topology.LogicalCpuCount, Is.EqualTo(8));
        Assert.That(topology.NodeOf(6)?.Id, Is.EqualTo(1));
    }

    [Test]
    public void Core_ids_are_unique_on_the_host_although_sysfs_core_ids_repeat_per_socket()
    {
        var topology = SysfsTopologyParser.Parse(TwoNodes);

        var ids = topology.Nodes.SelectMany(n => n.Cores).Select(c => c.Id).ToList();
        Assert.That(ids, Is.Unique);
    }

    [Test]
    public void Without_a_NUMA_directory_the_whole_machine_is_node_0_with_all_memory()
    {
        var topology = SysfsTopologyParser.Parse(NoNumaDirectory);

        Assert.That(topology.Nodes, Has.Count.EqualTo(1));
        Assert.That(topology.Nodes[0].MemoryMiB, Is.EqualTo(2048));
        Assert.That(topology.Nodes[0].Cores, Has.Count.EqualTo(1), "two hyper-threads of one core");
        Assert.That(topology.Nodes[0].Cores[0].Cpus, Is.EqualTo(CpuSet.Parse("0-1")));
    }

    [Test]
    public void A_dump_without_cpus_is_refused_with_a_reason()
    {
        var e = Assert.Throws<FormatException>(() => SysfsTopologyParser.Parse("==> /proc/meminfo <==\nMemTotal: 1 kB\n"));
        Assert.That(e!.Message, Does.Contain("no CPU topology"));
    }
}
