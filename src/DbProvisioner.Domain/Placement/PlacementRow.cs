using System.Runtime.CompilerServices;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Placement;

/// <summary>One NUMA node of a <see cref="PlacementRow"/>: what the NUMA filter and best-fit score read.</summary>
internal struct NodeRow
{
    public long FreeMemoryMiB;
    public int FreeCores;
    public int TotalCores;
    public int ThreadsPerCore;
    public int NodeId;

    // The same rounding as NodeCapacity.CoresFor (ThreadsPerCore > 0 here: a row never holds a node without threads).
    public readonly int CoresFor(int cpus)
    {
        var (cores, rest) = Math.DivRem(cpus, ThreadsPerCore);
        return rest > 0 ? cores + 1 : cores;
    }
}

/// <summary>The nodes of a row, inline: no array object to chase.</summary>
[InlineArray(PlacementRow.MaxNodes)]
internal struct NodeRows
{
    private NodeRow _node;
}

/// <summary>
/// One host of the <see cref="PlacementIndex"/> as plain numbers (names as ids of the index's name table), kept
/// in an array in host order so that a scan reads rows one after another instead of chasing each summary's
/// node array, disk array and name strings. A host the row cannot describe exactly (more nodes or disk classes
/// than it holds, another runtime, a missing name, a node without threads) is <see cref="Full"/>: the scan
/// judges it on its summary, as before.
/// </summary>
internal struct PlacementRow
{
    public const int MaxNodes = 4;

    // An empty disk slot: never a name's id, nor the -1 of a requested class no host has.
    public const int NoDiskClass = -2;

    public long FreeMemoryMiB;
    public long MaxNodeFreeMemoryMiB;
    public long FreeSwapMiB;
    public long TotalMemoryMiB;
    // The largest claimable disk (Count > 0) of each of at most two classes: BestDisk finds one exactly when this reaches the request.
    public long DiskMax0;
    public long DiskMax1;
    public int FreeCpus;
    public int MaxNodeFreeCpus;
    public int FreePorts;
    public int FreeCores;
    public int TotalCores;
    public int NodeCount;
    public int PoolKey;
    public int HostKey;
    public int ZoneKey;
    public int RackKey;
    public int DiskClass0;
    public int DiskClass1;
    public bool Full;
    public bool OutOfService;
    public NodeRows Nodes;

    /// <summary>The rack domain's key: racks are named within their zone.</summary>
    public readonly long RackDomain => ((long)ZoneKey << 32) | (uint)RackKey;
}

/// <summary>One decision's request as row numbers: built once per decision, read for every row scanned.</summary>
internal readonly struct RowQuery(PlacementRequest request, ScoreWeights weights, int poolKey, int diskClassKey, int members)
{
    public readonly int PoolKey = poolKey;
    public readonly int DiskClassKey = diskClassKey;
    public readonly int Cpus = request.Instance.Cpus;
    public readonly long MemoryMiB = request.Instance.MemoryMiB;
    public readonly long SwapMiB = request.Instance.SwapMiB;
    public readonly long DiskGiB = request.Instance.DiskGiB;
    public readonly bool Required = request.Instance.Numa == NumaPolicy.Required;
    public readonly bool OneNode = request.Instance.Numa is NumaPolicy.Required or NumaPolicy.Preferred;
    public readonly bool Hard = request.Shard is { Spread.Mode: SpreadMode.Hard };
    public readonly bool Soft = request.Shard is { Spread.Mode: SpreadMode.Soft };
    public readonly SpreadDomain Domain = request.Shard?.Spread.Domain ?? SpreadDomain.Host;
    public readonly int MaxPerDomain = request.Shard?.Spread.MaxPerDomain ?? 0;
    public readonly int Members = members;
    public readonly int NumaFitWeight = weights.NumaFit;
    public readonly int BalanceWeight = weights.Balance;
    public readonly int SoftSpreadWeight = weights.SoftSpread;
}

/// <summary>The scan's judgement of a row: exactly <see cref="Fit.Evaluate"/> answering Fits, and its score, for a row that is not Full.</summary>
internal static class RowFit
{
    /// <summary>
    /// True when the host passes every filter but the labels (which the caller checks on the summary), with the
    /// score Evaluate gives. <paramref name="memberKeys"/> are the shard members' domain keys (-1: no host's).
    /// </summary>
    public static bool Fits(ref readonly PlacementRow row, ref readonly RowQuery q, ReadOnlySpan<long> memberKeys, out int score)
    {
        score = 0;
        // The capacity the summary's own fields rule out first: most hosts of a full fleet stop here.
        if (row.PoolKey != q.PoolKey || row.OutOfService || row.FreePorts <= 0 || row.FreeSwapMiB < q.SwapMiB || row.FreeCpus < q.Cpus) return false;
        if (q.Required ? row.MaxNodeFreeCpus < q.Cpus || row.MaxNodeFreeMemoryMiB < q.MemoryMiB : row.FreeMemoryMiB < q.MemoryMiB) return false;
        var inDomain = 0;
        if (q.Hard || q.Soft)
        {
            var key = q.Domain switch
            {
                SpreadDomain.Host => row.HostKey,
                SpreadDomain.Rack => row.RackDomain,
                _ => row.ZoneKey,
            };
            foreach (var k in memberKeys)
                if (k == key) inDomain++;
            if (q.Hard && inDomain >= q.MaxPerDomain) return false;
        }
        if (!(row.DiskClass0 == q.DiskClassKey && row.DiskMax0 >= q.DiskGiB) && !(row.DiskClass1 == q.DiskClassKey && row.DiskMax1 >= q.DiskGiB)) return false;

        int numaFit;
        if (q.OneNode)
        {
            var best = -1;
            var bestLeft = 0;
            long bestMem = 0;
            var bestId = 0;
            var anyCores = false;
            for (var n = 0; n < row.NodeCount; n++)
            {
                ref readonly var node = ref row.Nodes[n];
                var need = node.CoresFor(q.Cpus);
                if (node.FreeCores < need) continue;
                anyCores = true;
                if (node.FreeMemoryMiB < q.MemoryMiB) continue;
                var left = node.FreeCores - need;
                var mem = node.FreeMemoryMiB - q.MemoryMiB;
                if (best < 0 || left < bestLeft || (left == bestLeft && (mem < bestMem || (mem == bestMem && node.NodeId < bestId))))
                {
                    best = n;
                    bestLeft = left;
                    bestMem = mem;
                    bestId = node.NodeId;
                }
            }
            if (q.Required && (!anyCores || best < 0)) return false;
            numaFit = 0;
            if (best >= 0)
            {
                var total = row.Nodes[best].TotalCores;
                numaFit = total == 0 ? 0 : 100 - (100 * bestLeft / total);
            }
        }
        else
        {
            // As Scores.NumaFit over the whole host.
            var total = row.TotalCores;
            var need = row.NodeCount == 0 ? 0 : row.Nodes[0].CoresFor(q.Cpus);
            numaFit = total == 0 ? 0 : Math.Clamp(100 - (100 * (row.FreeCores - need) / total), 0, 100);
        }
        score = (q.NumaFitWeight * numaFit) + (q.BalanceWeight * Balance(in row, in q));
        if (q.Soft) score += q.SoftSpreadWeight * (q.Members == 0 ? 100 : inDomain >= q.MaxPerDomain ? 0 : 100 - (100 * inDomain / (q.Members + 1)));
        return true;
    }

    // As Scores.Balance, on the same numbers in the same order (so the same doubles).
    private static int Balance(ref readonly PlacementRow row, ref readonly RowQuery q)
    {
        var totalCores = row.TotalCores;
        var totalMem = row.TotalMemoryMiB;
        if (totalCores == 0 || totalMem == 0) return 0;
        var need = row.NodeCount == 0 ? 0 : row.Nodes[0].CoresFor(q.Cpus);
        var cpuUsed = ((double)totalCores - row.FreeCores + need) / totalCores;
        var memUsed = ((double)totalMem - row.FreeMemoryMiB + q.MemoryMiB) / totalMem;
        return (int)Math.Round(100 * (1 - Math.Min(1, Math.Abs(cpuUsed - memUsed))));
    }
}
