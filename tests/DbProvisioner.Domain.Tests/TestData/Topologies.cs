using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Domain.Tests.TestData;

/// <summary>The named topologies every table uses; CPU ids follow Linux (siblings offset by the core count).</summary>
public static class Topologies
{
    /// <summary>One socket, 2 cores, no hyper-threads, 4 GiB: like the build machine. CPUs 0 and 1.</summary>
    public static HostTopology SingleSocketNoHt { get; } = TopologyBuilder.Uniform(1, 2, 1, 4096);

    /// <summary>2 sockets × 16 cores × 2 threads, 64 GiB per node. Node 0: cores 0-15 = CPUs 0-15,32-47; node 1: CPUs 16-31,48-63.</summary>
    public static HostTopology DualSocketHt { get; } = TopologyBuilder.Uniform(2, 16, 2, 65536);

    /// <summary>4 NUMA nodes × 12 cores × 2 threads, 32 GiB per node. Node n: CPUs 12n..12n+11 and 48+12n..48+12n+11.</summary>
    public static HostTopology FourNumaHt { get; } = TopologyBuilder.Uniform(4, 12, 2, 32768);

    /// <summary>Node 0: 8 cores × 2, 32 GiB; node 1: 4 cores × 2, 16 GiB. Core c has CPUs c and c+12.</summary>
    public static HostTopology Asymmetric { get; } = TopologyBuilder.Create().WithNode(8, 2, 32768).WithNode(4, 2, 16384).Build();

    /// <summary>The asymmetric host's reserved CPUs: core 0 (CPUs 0 and 12), for the system.</summary>
    public static CpuSet AsymmetricReserved { get; } = CpuSet.Of(0, 12);

    public static IEnumerable<(string Name, HostTopology Topology, CpuSet Reserved)> All()
    {
        yield return (nameof(SingleSocketNoHt), SingleSocketNoHt, CpuSet.Empty);
        yield return (nameof(DualSocketHt), DualSocketHt, CpuSet.Empty);
        yield return (nameof(FourNumaHt), FourNumaHt, CpuSet.Empty);
        yield return (nameof(Asymmetric), Asymmetric, AsymmetricReserved);
    }
}
