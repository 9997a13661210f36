using System.Runtime.CompilerServices;

namespace DbProvisioner.Domain.Topology;

/// <summary>
/// Derived, cached facts about a topology (per-node CPU sets, all CPUs) so that hot paths do not
/// re-aggregate the records on every decision. Keyed by the topology instance.
/// </summary>
internal sealed class TopologyIndex
{
    private static readonly ConditionalWeakTable<HostTopology, TopologyIndex> Cache = new();

    public CpuSet AllCpus { get; }
    public CpuSet[] NodeCpus { get; }
    public int[] NodeIds { get; }

    /// <summary>Per node: the fewest logical CPUs of any of its cores (1 for a node without cores).</summary>
    public int[] NodeMinThreads { get; }

    private TopologyIndex(HostTopology topology)
    {
        NodeCpus = [.. topology.Nodes.Select(static n => n.Cpus)];
        NodeIds = [.. topology.Nodes.Select(static n => n.Id)];
        NodeMinThreads = [.. topology.Nodes.Select(static n => n.Cores.Count == 0 ? 1 : n.Cores.Min(static c => c.Cpus.Count))];
        AllCpus = NodeCpus.Aggregate(CpuSet.Empty, static (a, b) => a.Union(b));
    }

    public static TopologyIndex Of(HostTopology topology) => Cache.GetValue(topology, static t => new TopologyIndex(t));

    public int IndexOfNode(int nodeId) => Array.IndexOf(NodeIds, nodeId);
}
