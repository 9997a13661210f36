namespace DbProvisioner.Domain.Topology;

/// <summary>A physical core and its logical CPUs (hyper-thread siblings).</summary>
public sealed record PhysicalCore(int Id, int Socket, CpuSet Cpus);

/// <summary>A NUMA node: its cores and the memory attached to it.</summary>
public sealed record NumaNode(int Id, long MemoryMiB, IReadOnlyList<PhysicalCore> Cores)
{
    public CpuSet Cpus => Cores.Aggregate(CpuSet.Empty, static (acc, core) => acc.Union(core.Cpus));
}

/// <summary>A host's CPU and memory topology: NUMA nodes → physical cores → logical CPUs.</summary>
public sealed record HostTopology(IReadOnlyList<NumaNode> Nodes)
{
    public CpuSet AllCpus => Nodes.Aggregate(CpuSet.Empty, static (acc, node) => acc.Union(node.Cpus));
    public long MemoryMiB => Nodes.Sum(static n => n.MemoryMiB);
    public int LogicalCpuCount => AllCpus.Count;
    public int PhysicalCoreCount => Nodes.Sum(static n => n.Cores.Count);

    /// <summary>The NUMA node holding a CPU, or null when the host has no such CPU.</summary>
    public NumaNode? NodeOf(int cpu) => Nodes.FirstOrDefault(n => n.Cpus.Contains(cpu));
}
