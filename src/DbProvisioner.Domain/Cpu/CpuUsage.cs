using System.Collections.Immutable;
using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Domain.Cpu;

/// <summary>
/// What a <see cref="HostCpuState"/> implies (CPUs in use, free cores and booked memory per node),
/// derived once per state instead of once per question. It remembers the fields it was derived
/// from, so a copy made with <c>with</c> that changed them derives its own.
/// </summary>
internal sealed class CpuUsage
{
    private readonly HostTopology _topology;
    private readonly CpuSet _reserved;
    private readonly ImmutableSortedDictionary<string, CpuAssignment> _assignments;

    /// <summary>Reserved ∪ assigned CPUs.</summary>
    public CpuSet Used { get; }

    /// <summary>Per node (topology order): cores whose CPUs are all free, in topology order.</summary>
    public PhysicalCore[][] FreeCores { get; }

    /// <summary>Per node: logical CPUs on the free cores.</summary>
    public int[] FreeCpus { get; }

    /// <summary>Per node: memory booked by assignments.</summary>
    public long[] BookedMemoryMiB { get; }

    private CpuUsage(HostCpuState state, CpuSet used, PhysicalCore[][] freeCores, int[] freeCpus, long[] booked)
    {
        _topology = state.Topology;
        _reserved = state.Reserved;
        _assignments = state.Assignments;
        Used = used;
        FreeCores = freeCores;
        FreeCpus = freeCpus;
        BookedMemoryMiB = booked;
    }

    public bool IsFor(HostCpuState state) =>
        ReferenceEquals(_assignments, state.Assignments) && ReferenceEquals(_reserved, state.Reserved) && ReferenceEquals(_topology, state.Topology);

    public static CpuUsage Of(HostCpuState state)
    {
        var index = TopologyIndex.Of(state.Topology);
        var nodes = state.Topology.Nodes;
        var booked = new long[nodes.Count];
        var held = new List<CpuSet>(state.Assignments.Count + 1) { state.Reserved };
        foreach (var (_, a) in state.Assignments)
        {
            held.Add(a.Cpus);
            AddMemory(booked, index, a);
        }
        var used = CpuSet.UnionOf(held);
        var freeCores = new PhysicalCore[nodes.Count][];
        var freeCpus = new int[nodes.Count];
        for (var n = 0; n < nodes.Count; n++)
            (freeCores[n], freeCpus[n]) = FreeOf(nodes[n].Cores, used);
        return new CpuUsage(state, used, freeCores, freeCpus, booked);
    }

    /// <summary>The usage of <paramref name="next"/>, which is this usage's state plus <paramref name="added"/>.</summary>
    public CpuUsage With(HostCpuState next, CpuAssignment added)
    {
        var index = TopologyIndex.Of(next.Topology);
        var booked = (long[])BookedMemoryMiB.Clone();
        AddMemory(booked, index, added);
        var freeCores = (PhysicalCore[][])FreeCores.Clone();
        var freeCpus = (int[])FreeCpus.Clone();
        for (var n = 0; n < freeCores.Length; n++)
            if (index.NodeCpus[n].Overlaps(added.Cpus)) (freeCores[n], freeCpus[n]) = FreeOf(FreeCores[n], added.Cpus);
        return new CpuUsage(next, Used.Union(added.Cpus), freeCores, freeCpus, booked);
    }

    private static void AddMemory(long[] booked, TopologyIndex index, CpuAssignment a)
    {
        foreach (var m in a.Memory)
            for (var i = 0; i < index.NodeIds.Length; i++)
                if (index.NodeIds[i] == m.NodeId) booked[i] = Sizes.Add(booked[i], m.MemoryMiB);
    }

    private static (PhysicalCore[] Cores, int Cpus) FreeOf(IReadOnlyList<PhysicalCore> cores, CpuSet used)
    {
        // Count first, then fill an array of the exact size: one allocation per node instead of two (array, then Resize).
        var count = 0;
        for (var c = 0; c < cores.Count; c++)
            if (!cores[c].Cpus.Overlaps(used)) count++;
        if (count == 0) return ([], 0);
        var free = 0;
        var cpus = 0;
        var result = new PhysicalCore[count];
        for (var c = 0; c < cores.Count; c++)
        {
            var core = cores[c];
            if (core.Cpus.Overlaps(used)) continue;
            result[free++] = core;
            cpus += core.Cpus.Count;
        }
        return (result, cpus);
    }
}
