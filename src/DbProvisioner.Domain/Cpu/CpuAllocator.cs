using System.Globalization;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Cpu;

/// <summary>The outcome of an allocation: the next state and the assignment, or the unchanged state and a reason.</summary>
public sealed record CpuAllocation(HostCpuState State, CpuAssignment? Assignment, string Reason)
{
    public bool Succeeded => Assignment is not null;
}

/// <summary>
/// The exclusive CPU allocator: a pure function of a <see cref="HostCpuState"/> and a
/// <see cref="CpuRequest"/>. Hands out whole physical cores only (a core's siblings share caches and
/// execution units, so half a core for another instance would be a noisy neighbour), a core with any
/// reserved CPU is never handed out, one NUMA node when it can (best fit), else whole nodes first and
/// the remainder best fit. Ties are broken by node id and core id so results are deterministic.
/// </summary>
public static class CpuAllocator
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    private sealed class NodeFree(int index, NumaNode node, PhysicalCore[] cores, int freeCpus, long freeMemory)
    {
        public int Index { get; } = index;
        public NumaNode Node { get; } = node;
        public PhysicalCore[] Cores { get; } = cores;
        public int FreeCpus { get; } = freeCpus;
        public long FreeMemory { get; set; } = freeMemory;

        /// <summary>CPUs this node would hand out for <paramref name="cpus"/> (whole cores), or -1 when it cannot.</summary>
        public int CpusTaken(int cpus)
        {
            var taken = 0;
            foreach (var core in Cores)
            {
                if (taken >= cpus) break;
                taken += core.Cpus.Count;
            }
            return taken >= cpus ? taken : -1;
        }
    }

    public static CpuAllocation Allocate(HostCpuState state, CpuRequest request)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.InstanceId)) return Fail(state, "an instance id is required");
        if (request.Cpus < 1) return Fail(state, $"instance {request.InstanceId} asks for {request.Cpus} CPUs; at least 1 is needed");
        if (request.MemoryMiB < 0) return Fail(state, $"instance {request.InstanceId} asks for negative memory");

        if (state.Assignments.TryGetValue(request.InstanceId, out var existing))
        {
            if (existing.RequestedCpus == request.Cpus && existing.Numa == request.Numa && existing.MemoryMiB == request.MemoryMiB)
                return new CpuAllocation(state, existing, "");
            return Fail(state, string.Create(Ci,
                $"instance {request.InstanceId} already holds CPUs {existing.Cpus} ({existing.RequestedCpus} CPUs, {existing.MemoryMiB} MiB, {Policy(existing.Numa)}); release them before asking for {request.Cpus} CPUs, {request.MemoryMiB} MiB, {Policy(request.Numa)}"));
        }

        var nodes = FreeNodes(state);
        long totalMemory = 0;
        foreach (var n in nodes) totalMemory = Sizes.Add(totalMemory, n.FreeMemory);

        NodeFree? single = null;
        if (request.Numa is NumaPolicy.Required or NumaPolicy.Preferred)
            single = BestFit(nodes, request.Cpus, request.MemoryMiB, null);

        if (request.Numa == NumaPolicy.Required)
        {
            if (single is null) return Fail(state, RequiredReason(nodes, request));
            return Commit(state, request, [(single, request.Cpus)], [(single, request.MemoryMiB)]);
        }

        if (totalMemory < request.MemoryMiB)
            return Fail(state, string.Create(Ci, $"host has {totalMemory} MiB free memory; {request.MemoryMiB} MiB needed"));

        // Preferred, interleave, none: one node if the cores fit on one, else whole nodes first.
        var cpuNodes = new List<(NodeFree Node, int Cpus)>();
        if (single is not null) cpuNodes.Add((single, request.Cpus));
        else
        {
            var remaining = request.Cpus;
            var chosen = new HashSet<NodeFree>();
            while (remaining > 0)
            {
                var fit = BestFit(nodes, remaining, 0, chosen);
                if (fit is not null) { cpuNodes.Add((fit, remaining)); break; }
                var largest = nodes.Where(n => !chosen.Contains(n) && n.FreeCpus > 0)
                    .OrderByDescending(static n => n.FreeCpus).ThenBy(static n => n.Node.Id).FirstOrDefault();
                if (largest is null)
                {
                    return Fail(state, string.Create(Ci,
                        $"host has {nodes.Sum(static n => n.FreeCpus)} free CPUs on whole cores; {request.Cpus} needed"));
                }
                chosen.Add(largest);
                cpuNodes.Add((largest, largest.FreeCpus));
                remaining -= largest.FreeCpus;
            }
        }

        // Memory: on the CPUs' nodes first (most free first), overflow to the others.
        var memoryOrder = new List<NodeFree>(nodes.Count);
        if (request.Numa is NumaPolicy.Preferred)
        {
            foreach (var c in cpuNodes) memoryOrder.Add(c.Node);
            SortByFreeMemory(memoryOrder, 0);
            var first = memoryOrder.Count;
            foreach (var n in nodes)
                if (!cpuNodes.Exists(c => c.Node == n)) memoryOrder.Add(n);
            SortByFreeMemory(memoryOrder, first);
        }
        else
        {
            memoryOrder.AddRange(nodes);
            SortByFreeMemory(memoryOrder, 0);
        }
        var memory = new List<(NodeFree, long)>(memoryOrder.Count);
        var left = request.MemoryMiB;
        foreach (var n in memoryOrder)
        {
            if (left == 0) break;
            var take = Math.Min(left, Math.Max(0, n.FreeMemory));
            if (take > 0) memory.Add((n, take));
            left -= take;
        }
        return Commit(state, request, cpuNodes, memory);
    }

    /// <summary>Sorts <paramref name="list"/> from <paramref name="from"/> on: most free memory first, then lower node id; stable.</summary>
    private static void SortByFreeMemory(List<NodeFree> list, int from)
    {
        for (var i = from + 1; i < list.Count; i++) // insertion sort: a handful of nodes, no allocation
        {
            var n = list[i];
            var j = i - 1;
            while (j >= from && (list[j].FreeMemory < n.FreeMemory || (list[j].FreeMemory == n.FreeMemory && list[j].Node.Id > n.Node.Id)))
            {
                list[j + 1] = list[j];
                j--;
            }
            list[j + 1] = n;
        }
    }

    /// <summary>Gives back an instance's CPUs and memory. Releasing an unknown instance changes nothing.</summary>
    public static HostCpuState Release(HostCpuState state, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.Assignments.ContainsKey(instanceId) ? state with { Assignments = state.Assignments.Remove(instanceId) } : state;
    }

    /// <summary>Every broken invariant of a state, in words; empty when the state is sound.</summary>
    public static IReadOnlyList<string> Validate(HostCpuState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var problems = new List<string>();
        var all = state.AllCpus;
        var outside = state.Reserved.Except(all);
        if (!outside.IsEmpty) problems.Add($"reserved CPUs {outside} are not on this host");

        var owner = new Dictionary<int, string>();
        foreach (var (id, a) in state.Assignments)
        {
            if (id != a.InstanceId) problems.Add($"assignment stored under {id} belongs to {a.InstanceId}");
            var foreign = a.Cpus.Except(all);
            if (!foreign.IsEmpty) problems.Add($"instance {id} holds CPUs {foreign} that are not on this host");
            var reserved = a.Cpus.Intersect(state.Reserved);
            if (!reserved.IsEmpty) problems.Add($"instance {id} holds reserved CPUs {reserved}");
            if (a.Cpus.Count < a.RequestedCpus) problems.Add($"instance {id} holds {a.Cpus.Count} CPUs but asked for {a.RequestedCpus}");
            foreach (var cpu in a.Cpus.Cpus())
                if (!owner.TryAdd(cpu, id)) problems.Add($"CPU {cpu} is assigned to both {owner[cpu]} and {id}");
            var nodesOfCpus = state.Topology.Nodes.Where(n => n.Cpus.Overlaps(a.Cpus)).Select(static n => n.Id).ToList();
            if (!nodesOfCpus.SequenceEqual(a.CpuNodes.Order())) problems.Add($"instance {id} records CPU nodes {string.Join(',', a.CpuNodes)} but its CPUs are on {string.Join(',', nodesOfCpus)}");
            if (a.Numa == NumaPolicy.Required)
            {
                if (nodesOfCpus.Count > 1) problems.Add($"instance {id} is NUMA required but its CPUs span nodes {string.Join(',', nodesOfCpus)}");
                if (a.Memory.Any(m => m.MemoryMiB > 0 && !nodesOfCpus.Contains(m.NodeId)))
                    problems.Add($"instance {id} is NUMA required but its memory is not on its CPUs' node");
            }
            if (a.Memory.Any(static m => m.MemoryMiB < 0)) problems.Add($"instance {id} books negative memory");
        }

        foreach (var node in state.Topology.Nodes)
        {
            foreach (var core in node.Cores)
            {
                var owners = core.Cpus.Cpus().Where(owner.ContainsKey).Select(c => owner[c]).Distinct().ToList();
                if (owners.Count > 1) problems.Add($"core {core.Id} (CPUs {core.Cpus}) is shared by {string.Join(" and ", owners)}");
                else if (owners.Count == 1 && !core.Cpus.IsSubsetOf(state.Assignments[owners[0]].Cpus))
                    problems.Add($"instance {owners[0]} holds part of core {core.Id} (CPUs {core.Cpus}); cores are handed out whole");
            }
            var booked = state.BookedMemoryMiB(node.Id);
            if (booked > node.MemoryMiB)
                problems.Add(string.Create(Ci, $"NUMA node {node.Id} has {booked} MiB booked but only {node.MemoryMiB} MiB"));
        }

        var union = state.Assigned.Union(state.Free).Union(state.Reserved);
        if (union != all) problems.Add($"assigned ∪ free ∪ reserved is {union}, not all CPUs {all}");
        return problems;
    }

    private static List<NodeFree> FreeNodes(HostCpuState state)
    {
        // Cores in topology order (by id, as the builder and the kernel list them): the lowest free cores go first.
        var nodes = state.Topology.Nodes;
        var usage = state.Usage;
        var result = new List<NodeFree>(nodes.Count);
        for (var i = 0; i < nodes.Count; i++)
            result.Add(new NodeFree(i, nodes[i], usage.FreeCores[i], usage.FreeCpus[i], nodes[i].MemoryMiB - usage.BookedMemoryMiB[i]));
        return result;
    }

    /// <summary>
    /// The node left with the fewest free CPUs after taking <paramref name="cpus"/> (best fit); ties:
    /// less free memory left, then the lower node id.
    /// </summary>
    private static NodeFree? BestFit(List<NodeFree> nodes, int cpus, long memoryMiB, HashSet<NodeFree>? exclude)
    {
        NodeFree? best = null;
        int bestLeft = 0;
        long bestMem = 0;
        foreach (var n in nodes)
        {
            if (exclude?.Contains(n) == true || n.FreeMemory < memoryMiB) continue;
            var taken = n.CpusTaken(cpus);
            if (taken < 0) continue;
            var left = n.FreeCpus - taken;
            var mem = n.FreeMemory - memoryMiB;
            if (best is null || left < bestLeft || (left == bestLeft && (mem < bestMem || (mem == bestMem && n.Node.Id < best.Node.Id))))
            {
                best = n;
                bestLeft = left;
                bestMem = mem;
            }
        }
        return best;
    }

    private static CpuAllocation Commit(HostCpuState state, CpuRequest request, List<(NodeFree Node, int Cpus)> cpuNodes, List<(NodeFree Node, long MiB)> memory)
    {
        var cores = new List<CpuSet>();
        foreach (var (node, want) in cpuNodes)
        {
            var taken = 0;
            foreach (var core in node.Cores)
            {
                if (taken >= want) break;
                cores.Add(core.Cpus);
                taken += core.Cpus.Count;
            }
        }
        var cpus = CpuSet.UnionOf(cores);
        var nodeIds = new int[cpuNodes.Count];
        for (var i = 0; i < nodeIds.Length; i++) nodeIds[i] = cpuNodes[i].Node.Node.Id;
        Array.Sort(nodeIds);
        var booked = new List<NodeMemory>(memory.Count);
        foreach (var (node, mib) in memory)
            if (mib > 0) booked.Add(new NodeMemory(node.Node.Id, mib));
        var bookedArray = booked.ToArray();
        Array.Sort(bookedArray, static (a, b) => a.NodeId.CompareTo(b.NodeId)); // one entry per node: no ties
        var assignment = new CpuAssignment(request.InstanceId, request.Cpus, request.Numa, cpus, nodeIds, bookedArray);
        return new CpuAllocation(state.WithAssignment(assignment), assignment, "");
    }

    private static string RequiredReason(List<NodeFree> nodes, CpuRequest request)
    {
        var withCores = nodes.Where(n => n.CpusTaken(request.Cpus) >= 0).OrderByDescending(static n => n.FreeMemory).ThenBy(static n => n.Node.Id).FirstOrDefault();
        if (withCores is not null)
        {
            return string.Create(Ci,
                $"NUMA node {withCores.Node.Id} has {request.Cpus} free CPUs but only {withCores.FreeMemory} MiB free memory; NUMA required needs {request.MemoryMiB} MiB on that node");
        }
        var most = nodes.OrderByDescending(static n => n.FreeCpus).ThenBy(static n => n.Node.Id).First();
        return string.Create(Ci,
            $"no NUMA node has {request.Cpus} free CPUs on whole cores (most: {most.FreeCpus} on node {most.Node.Id})");
    }

    private static string Policy(NumaPolicy p) => p.ToString().ToLowerInvariant();

    private static CpuAllocation Fail(HostCpuState state, string reason) => new(state, null, reason);
}
