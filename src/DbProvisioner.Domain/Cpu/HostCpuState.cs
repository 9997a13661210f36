using System.Collections.Immutable;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Cpu;

/// <summary>An instance's CPU request: a count of logical CPUs, its memory and its NUMA policy.</summary>
public sealed record CpuRequest(string InstanceId, int Cpus, long MemoryMiB, NumaPolicy Numa);

/// <summary>Memory booked on one NUMA node.</summary>
public sealed record NodeMemory(int NodeId, long MemoryMiB);

/// <summary>
/// The CPUs and memory held by one instance. <see cref="Cpus"/> is always whole physical cores, so
/// it can hold more CPUs than <see cref="RequestedCpus"/> on a host with hyper-threads.
/// </summary>
public sealed record CpuAssignment(
    string InstanceId,
    int RequestedCpus,
    NumaPolicy Numa,
    CpuSet Cpus,
    IReadOnlyList<int> CpuNodes,
    IReadOnlyList<NodeMemory> Memory)
{
    public long MemoryMiB => Memory.Sum(static m => m.MemoryMiB);

    /// <summary>
    /// The NUMA nodes the container's memory is bound to (cpuset.mems): those its memory was booked on for required
    /// and preferred, none (any node) for interleave and none. A method, so that it is never stored with the assignment.
    /// </summary>
    public IReadOnlyList<int> MemoryNodes() => Numa is NumaPolicy.Required or NumaPolicy.Preferred
        ? [.. Memory.Where(static m => m.MemoryMiB > 0).Select(static m => m.NodeId).Order()]
        : [];

    /// <summary>The value for the container's cpuset.mems: empty (any node) for interleave and none.</summary>
    public string CpusetMems => string.Join(',', MemoryNodes());
}

/// <summary>
/// The CPU side of a host, as a host grain persists it: topology, reserved CPUs (never handed out),
/// and the assignments by instance id. Invariants (checked by <see cref="CpuAllocator.Validate"/>):
/// no CPU in two assignments, no physical core shared between instances, reserved ⊆ all CPUs,
/// assignments ∪ free ∪ reserved = all CPUs, memory per NUMA node never over-committed, and a
/// <c>required</c> assignment never spans nodes.
/// </summary>
public sealed record HostCpuState(HostTopology Topology, CpuSet Reserved, ImmutableSortedDictionary<string, CpuAssignment> Assignments)
{
    public static HostCpuState Create(HostTopology topology, CpuSet? reserved = null) =>
        new(topology, reserved ?? CpuSet.Empty, ImmutableSortedDictionary.Create<string, CpuAssignment>(StringComparer.Ordinal));

    // Derived facts, filled on first use; `with` copies the slot, and Usage re-derives when the fields changed.
    private CacheSlot<CpuUsage> _usage;

    internal CpuUsage Usage
    {
        get
        {
            var u = _usage.Value;
            if (u is null || !u.IsFor(this)) _usage.Value = u = CpuUsage.Of(this);
            return u;
        }
    }

    /// <summary>This state plus one new assignment, carrying its derived usage forward instead of re-deriving it.</summary>
    internal HostCpuState WithAssignment(CpuAssignment assignment)
    {
        var usage = Usage;
        var next = this with { Assignments = Assignments.Add(assignment.InstanceId, assignment) };
        next._usage.Value = usage.With(next, assignment);
        return next;
    }

    public CpuSet AllCpus => TopologyIndex.Of(Topology).AllCpus;

    public CpuSet Assigned => Assignments.Values.Aggregate(CpuSet.Empty, static (acc, a) => acc.Union(a.Cpus));

    public CpuSet Free => AllCpus.Except(Reserved).Except(Assigned);

    public long BookedMemoryMiB(int nodeId)
    {
        var i = TopologyIndex.Of(Topology).IndexOfNode(nodeId);
        if (i >= 0) return Usage.BookedMemoryMiB[i];
        long sum = 0; // a node the topology does not have: whatever assignments claim there
        foreach (var a in Assignments.Values)
            foreach (var m in a.Memory)
                if (m.NodeId == nodeId) sum = Sizes.Add(sum, m.MemoryMiB);
        return sum;
    }

    public long FreeMemoryMiB(int nodeId) =>
        (Topology.Nodes.FirstOrDefault(n => n.Id == nodeId)?.MemoryMiB ?? 0) - BookedMemoryMiB(nodeId);

    /// <summary>Cores of each node (in topology order) whose CPUs are all free: what can still be handed out.</summary>
    public IReadOnlyList<IReadOnlyList<PhysicalCore>> FreeCoresByNode() => [.. Usage.FreeCores.Select(static c => (IReadOnlyList<PhysicalCore>)[.. c])];
}
