namespace DbProvisioner.Domain.Topology;

/// <summary>
/// Builds host topologies for tests, benchmarks and simulated hosts. Logical CPUs are numbered the
/// way Linux numbers them on Intel servers: first thread of every core across all nodes, then the
/// second thread (so on 2 × 16 × 2, CPU 0 and CPU 32 are siblings). Immutable: every With… returns
/// a new builder.
/// </summary>
public sealed class TopologyBuilder
{
    private readonly IReadOnlyList<(int Cores, int Threads, long MemoryMiB, int Socket)> _nodes;
    private readonly bool _adjacentSiblings;

    private TopologyBuilder(IReadOnlyList<(int, int, long, int)> nodes, bool adjacentSiblings)
    {
        _nodes = nodes;
        _adjacentSiblings = adjacentSiblings;
    }

    public static TopologyBuilder Create() => new([], false);

    /// <summary>A host of identical NUMA nodes, one socket per node.</summary>
    public static HostTopology Uniform(int nodes, int coresPerNode, int threadsPerCore, long memoryMiBPerNode)
    {
        var b = Create();
        for (var i = 0; i < nodes; i++) b = b.WithNode(coresPerNode, threadsPerCore, memoryMiBPerNode);
        return b.Build();
    }

    /// <summary>Adds a NUMA node on its own socket (socket id = node id unless given).</summary>
    public TopologyBuilder WithNode(int cores, int threadsPerCore, long memoryMiB, int? socket = null) =>
        new([.. _nodes, (cores, threadsPerCore, memoryMiB, socket ?? _nodes.Count)], _adjacentSiblings);

    /// <summary>Siblings get adjacent ids (0,1 on core 0) as on many AMD hosts and VMs.</summary>
    public TopologyBuilder WithAdjacentSiblings() => new(_nodes, true);

    public HostTopology Build()
    {
        if (_nodes.Count == 0) throw new InvalidOperationException("a topology needs at least one NUMA node");
        foreach (var (cores, threads, memory, _) in _nodes)
        {
            if (cores < 1) throw new InvalidOperationException("a NUMA node needs at least one core");
            if (threads < 1) throw new InvalidOperationException("a core needs at least one thread");
            if (memory < 0) throw new InvalidOperationException("memory cannot be negative");
        }

        var totalCores = _nodes.Sum(static n => n.Cores);
        var nodes = new List<NumaNode>(_nodes.Count);
        var coreId = 0;
        var nextAdjacent = 0;
        for (var n = 0; n < _nodes.Count; n++)
        {
            var (cores, threads, memory, socket) = _nodes[n];
            var list = new List<PhysicalCore>(cores);
            for (var c = 0; c < cores; c++, coreId++)
            {
                var cpus = new int[threads];
                for (var t = 0; t < threads; t++)
                    cpus[t] = _adjacentSiblings ? nextAdjacent++ : (t * totalCores) + coreId;
                list.Add(new PhysicalCore(coreId, socket, CpuSet.Of(cpus)));
            }
            nodes.Add(new NumaNode(n, memory, list));
        }
        return new HostTopology(nodes);
    }
}
