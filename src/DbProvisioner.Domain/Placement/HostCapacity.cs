using System.Collections.Immutable;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Placement;

/// <summary>Free capacity of one NUMA node: whole free cores and unbooked memory.</summary>
public readonly record struct NodeCapacity(int NodeId, int FreeCores, int ThreadsPerCore, long FreeMemoryMiB, int TotalCores, long TotalMemoryMiB)
{
    public int FreeCpus => FreeCores * ThreadsPerCore;

    /// <summary>Whole cores this node needs to hand out for <paramref name="cpus"/> CPUs (rounded up without adding, so it cannot wrap).</summary>
    public int CoresFor(int cpus)
    {
        var (cores, rest) = Math.DivRem(cpus, ThreadsPerCore);
        return rest > 0 ? cores + 1 : cores;
    }
}

/// <summary>
/// Claimable disks of one class, size and seeding: Ready ones, or (<see cref="OnDemand"/>)
/// Discovered ones that a claim formats during the request, never seeded.
/// </summary>
public readonly record struct DiskCapacity(string DiskClass, long SizeGiB, bool Seeded, int Count, bool OnDemand = false);

/// <summary>
/// The compact summary of a host that the placement index keeps for every host of a pool (a few
/// hundred bytes each). Advisory: the host's own state has the last word, so a stale summary
/// costs a retry, never an over-commit. Swap is host-wide (no NUMA node owns it).
/// </summary>
public sealed record HostCapacity(
    string HostId,
    string Pool,
    string Zone,
    string Rack,
    ImmutableSortedDictionary<string, string> Labels,
    bool Cordoned,
    bool Healthy,
    ImmutableArray<NodeCapacity> Nodes,
    int FreePorts,
    ImmutableArray<DiskCapacity> ReadyDisks,
    long AllocatableSwapMiB = 0,
    long FreeSwapMiB = 0,
    string HealthReason = "",
    HostRuntimeKind Runtime = HostRuntimeKind.Docker)
{
    // Totals are derived from Nodes once; the init accessor keeps them right after a `with`.
    private readonly ImmutableArray<NodeCapacity> _nodes = Nodes;
    private readonly (int FreeCores, int TotalCores, int FreeCpus, long FreeMemory, long TotalMemory, int NodeFreeCpus, long NodeFreeMemory) _totals = Totals(Nodes);

    public ImmutableArray<NodeCapacity> Nodes
    {
        get => _nodes;
        init
        {
            _nodes = value;
            _totals = Totals(value);
        }
    }

    /// <summary>Why the host takes no instance until its engine holds the MySQL image (<see cref="HostImage.Refusal"/>); empty when it does.</summary>
    public string ImageRefusal { get; init; } = "";

    /// <summary>Cordoned, unhealthy or without its image: the host takes no new instance, whatever its capacity.</summary>
    public bool OutOfService => Cordoned || !Healthy || ImageRefusal.Length > 0;

    public int FreeCores => _totals.FreeCores;
    public int TotalCores => _totals.TotalCores;
    public int FreeCpus => _totals.FreeCpus;
    public long FreeMemoryMiB => _totals.FreeMemory;
    public long TotalMemoryMiB => _totals.TotalMemory;

    /// <summary>The most CPUs on whole free cores of any one node: the largest single-node request the host can take.</summary>
    internal int MaxNodeFreeCpus => _totals.NodeFreeCpus;

    /// <summary>The most free memory of any one node.</summary>
    internal long MaxNodeFreeMemoryMiB => _totals.NodeFreeMemory;

    // Checked: a host whose sizes add up beyond 64 bits is refused loudly, never summarised as a wrapped (negative) total.
    private static (int, int, int, long, long, int, long) Totals(ImmutableArray<NodeCapacity> nodes)
    {
        int free = 0, total = 0, cpus = 0, nodeCpus = 0;
        long mem = 0, totalMem = 0, nodeMem = long.MinValue;
        foreach (var n in nodes)
        {
            checked
            {
                free += n.FreeCores;
                total += n.TotalCores;
                cpus += n.FreeCores * n.ThreadsPerCore;
                mem += n.FreeMemoryMiB;
                totalMem += n.TotalMemoryMiB;
                nodeCpus = Math.Max(nodeCpus, n.FreeCores * n.ThreadsPerCore);
                nodeMem = Math.Max(nodeMem, n.FreeMemoryMiB);
            }
        }
        return (free, total, cpus, mem, totalMem, nodeCpus, nodeMem);
    }

    /// <summary>Summarises a host's full state.</summary>
    public static HostCapacity From(HostState host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var topologyNodes = host.Cpu.Topology.Nodes;
        var index = TopologyIndex.Of(host.Cpu.Topology);
        var usage = host.Cpu.Usage;
        var nodes = ImmutableArray.CreateBuilder<NodeCapacity>(topologyNodes.Count);
        for (var ni = 0; ni < topologyNodes.Count; ni++)
        {
            var node = topologyNodes[ni];
            nodes.Add(new NodeCapacity(node.Id, usage.FreeCores[ni].Length, index.NodeMinThreads[ni],
                node.MemoryMiB - usage.BookedMemoryMiB[ni], node.Cores.Count, node.MemoryMiB));
        }
        return new HostCapacity(host.HostId, host.Pool, host.Zone, host.Rack, host.Labels, host.Cordoned, host.Healthy,
            nodes.MoveToImmutable(), host.Ports.Count - host.PortsByInstance.Count, host.Disks.Index.Claimable,
            host.Swap.AllocatableMiB, host.Swap.FreeMiB, host.Healthy ? "" : host.HealthReason, host.Runtime) { ImageRefusal = host.Image.Refusal };
    }

    /// <summary>
    /// The summary after the host took the request, following the allocator's choices closely
    /// enough for a whole-cluster plan (one node best fit, else largest nodes first). The host's
    /// own reservation decides for real.
    /// </summary>
    public HostCapacity Assume(InstanceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var nodes = Nodes.ToBuilder();
        var single = request.Numa is NumaPolicy.Required or NumaPolicy.Preferred ? Fit.BestNode(this, request, true) : -1;
        if (single < 0 && request.Numa != NumaPolicy.Required) single = Fit.BestNode(this, request, false);
        if (single >= 0)
        {
            var n = nodes[single];
            nodes[single] = n with { FreeCores = n.FreeCores - n.CoresFor(request.Cpus) };
        }
        else
        {
            var left = request.Cpus;
            foreach (var i in Enumerable.Range(0, nodes.Count).OrderByDescending(i => nodes[i].FreeCores).ThenBy(i => nodes[i].NodeId).ToList())
            {
                if (left <= 0) break;
                var n = nodes[i];
                var take = Math.Min(n.FreeCores, n.CoresFor(left));
                nodes[i] = n with { FreeCores = n.FreeCores - take };
                left -= take * n.ThreadsPerCore;
            }
        }

        var memLeft = request.MemoryMiB;
        if (single >= 0 && request.Numa is NumaPolicy.Required or NumaPolicy.Preferred)
        {
            var take = Math.Min(memLeft, nodes[single].FreeMemoryMiB);
            nodes[single] = nodes[single] with { FreeMemoryMiB = nodes[single].FreeMemoryMiB - take };
            memLeft -= take;
        }
        foreach (var i in Enumerable.Range(0, nodes.Count).OrderByDescending(i => nodes[i].FreeMemoryMiB).ThenBy(i => nodes[i].NodeId).ToList())
        {
            if (memLeft <= 0) break;
            var take = Math.Min(memLeft, nodes[i].FreeMemoryMiB);
            nodes[i] = nodes[i] with { FreeMemoryMiB = nodes[i].FreeMemoryMiB - take };
            memLeft -= take;
        }

        var disks = ReadyDisks.ToBuilder();
        var d = Fit.BestDisk(this, request);
        if (d >= 0)
        {
            if (disks[d].Count == 1) disks.RemoveAt(d);
            else disks[d] = disks[d] with { Count = disks[d].Count - 1 };
        }
        return this with { Nodes = nodes.ToImmutable(), ReadyDisks = disks.ToImmutable(), FreePorts = FreePorts - 1, FreeSwapMiB = FreeSwapMiB - request.SwapMiB };
    }
}

/// <summary>Shared fit arithmetic of filters, scores and <see cref="HostCapacity.Assume"/>.</summary>
internal static class Fit
{
    /// <summary>Index of the best-fit node (fewest free cores left; ties: less memory left, lower id) or -1.</summary>
    public static int BestNode(HostCapacity host, InstanceRequest request, bool withMemory)
    {
        var best = -1;
        var bestLeft = 0;
        long bestMem = 0;
        var nodes = host.Nodes;
        for (var i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            var need = n.CoresFor(request.Cpus);
            if (n.FreeCores < need) continue;
            if (withMemory && n.FreeMemoryMiB < request.MemoryMiB) continue;
            var left = n.FreeCores - need;
            var mem = n.FreeMemoryMiB - request.MemoryMiB;
            if (best < 0 || left < bestLeft || (left == bestLeft && (mem < bestMem || (mem == bestMem && n.NodeId < nodes[best].NodeId))))
            {
                best = i;
                bestLeft = left;
                bestMem = mem;
            }
        }
        return best;
    }

    public static int FreeCpus(HostCapacity host) => host.FreeCpus;

    /// <summary>
    /// True only when <see cref="Evaluate"/> would surely not answer Fits, judged from the summary's own fields
    /// (no node array, disk array or name strings), so a scan over a full fleet skips most unfit hosts for one cache line.
    /// </summary>
    public static bool SurelyUnfit(HostCapacity host, InstanceRequest i)
    {
        // Whole-core rounding: a node fits CoresFor(cpus) cores exactly when its free CPUs on whole cores reach cpus.
        if (host.FreeCpus < i.Cpus || host.FreeSwapMiB < i.SwapMiB || host.FreePorts <= 0) return true;
        return i.Numa == NumaPolicy.Required
            ? host.MaxNodeFreeCpus < i.Cpus || host.MaxNodeFreeMemoryMiB < i.MemoryMiB
            : host.FreeMemoryMiB < i.MemoryMiB;
    }

    /// <summary>
    /// <see cref="Filters.Check"/> and, when the host fits, <see cref="Scores.Total"/> in one pass
    /// over the host's nodes: the scheduler's hot path. Must answer exactly as the two apart do.
    /// </summary>
    public static FilterCode Evaluate(HostCapacity host, PlacementRequest request, ScoreWeights weights, out int score)
    {
        score = 0;
        var i = request.Instance;
        if (!ReferenceEquals(host.Pool, request.Pool) && !string.Equals(host.Pool, request.Pool, StringComparison.Ordinal)) return FilterCode.Pool;
        if (request.RequiredLabels is not null && !Filters.FitsLabels(host, request)) return FilterCode.Labels;
        if (host.OutOfService) return FilterCode.Condition;
        if (host.Runtime != HostRuntimeKind.Docker && !RuntimeCapabilities.Of(host.Runtime).Admits(i)) return FilterCode.Runtime;
        var shard = request.Shard;
        if (shard is not null && shard.Spread.Mode == SpreadMode.Hard && shard.MembersIn(host.HostId, host.Zone, host.Rack) >= shard.Spread.MaxPerDomain)
            return FilterCode.Spread;

        var nodes = host.Nodes.AsSpan();
        var oneNode = i.Numa is NumaPolicy.Required or NumaPolicy.Preferred;
        var best = -1;
        var bestLeft = 0;
        long bestMem = 0;
        var anyCores = false;
        if (oneNode)
        {
            for (var n = 0; n < nodes.Length; n++)
            {
                ref readonly var node = ref nodes[n];
                var need = node.CoresFor(i.Cpus);
                if (node.FreeCores < need) continue;
                anyCores = true;
                if (node.FreeMemoryMiB < i.MemoryMiB) continue;
                var left = node.FreeCores - need;
                var mem = node.FreeMemoryMiB - i.MemoryMiB;
                if (best < 0 || left < bestLeft || (left == bestLeft && (mem < bestMem || (mem == bestMem && node.NodeId < nodes[best].NodeId))))
                {
                    best = n;
                    bestLeft = left;
                    bestMem = mem;
                }
            }
        }
        if (i.Numa == NumaPolicy.Required)
        {
            if (!anyCores) return FilterCode.Cpu;
            if (best < 0) return FilterCode.Memory;
        }
        else
        {
            if (host.FreeCpus < i.Cpus) return FilterCode.Cpu;
            if (host.FreeMemoryMiB < i.MemoryMiB) return FilterCode.Memory;
        }
        if (host.FreeSwapMiB < i.SwapMiB) return FilterCode.Swap;
        if (BestDisk(host, i) < 0) return FilterCode.Disk;
        if (host.FreePorts <= 0) return FilterCode.Port;

        int numaFit;
        if (oneNode)
        {
            numaFit = 0;
            if (best >= 0)
            {
                var total = nodes[best].TotalCores;
                numaFit = total == 0 ? 0 : 100 - (100 * bestLeft / total);
            }
        }
        else numaFit = Scores.NumaFit(host, request);
        score = (weights.NumaFit * numaFit) + (weights.Balance * Scores.Balance(host, request));
        if (shard is { Spread.Mode: SpreadMode.Soft }) score += weights.SoftSpread * Scores.SoftSpread(host, request);
        return FilterCode.Fits;
    }

    /// <summary>Index of the disk group the host would claim (smallest fitting, seeded first), or -1.</summary>
    public static int BestDisk(HostCapacity host, InstanceRequest request)
    {
        var disks = host.ReadyDisks;
        for (var i = 0; i < disks.Length; i++)
        {
            // Sorted by class, Ready before on demand, size ascending, seeded first: the first fit is the one Claim takes.
            var d = disks[i];
            if (d.Count > 0 && d.SizeGiB >= request.DiskGiB && string.Equals(d.DiskClass, request.DiskClass, StringComparison.Ordinal)) return i;
        }
        return -1;
    }
}
