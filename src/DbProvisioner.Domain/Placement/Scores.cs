using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Placement;

/// <summary>How much each score counts.</summary>
public sealed record ScoreWeights(int NumaFit = 3, int Balance = 1, int SoftSpread = 5);

/// <summary>
/// Scores of a host that passed every filter, each 0–100 (higher is better). Kept apart from the
/// filters: a score ranks, it never rules a host out.
/// </summary>
public static class Scores
{
    /// <summary>
    /// NUMA best fit: for required/preferred, 100 when the instance would fill a node exactly,
    /// falling with the free cores it leaves on that node, and 0 when it would span nodes; for
    /// interleave/none the same over the whole host. Packing tightly keeps whole nodes free for
    /// large single-node requests.
    /// </summary>
    public static int NumaFit(HostCapacity host, PlacementRequest request)
    {
        var i = request.Instance;
        if (i.Numa is NumaPolicy.Required or NumaPolicy.Preferred)
        {
            var best = Fit.BestNode(host, i, true);
            if (best < 0) return 0;
            var n = host.Nodes[best];
            var left = n.FreeCores - n.CoresFor(i.Cpus);
            return n.TotalCores == 0 ? 0 : 100 - (100 * left / n.TotalCores);
        }
        var total = host.TotalCores;
        if (total == 0) return 0;
        var need = host.Nodes.Length == 0 ? 0 : host.Nodes[0].CoresFor(i.Cpus);
        return Math.Clamp(100 - (100 * (host.FreeCores - need) / total), 0, 100);
    }

    /// <summary>
    /// Balance of CPU and memory use on the host after the placement (as kube-scheduler's
    /// balanced allocation): 100 when both are used in the same proportion, so that neither runs
    /// out while the other is stranded.
    /// </summary>
    public static int Balance(HostCapacity host, PlacementRequest request)
    {
        var i = request.Instance;
        var totalCores = host.TotalCores;
        var totalMem = host.TotalMemoryMiB;
        if (totalCores == 0 || totalMem == 0) return 0;
        var need = host.Nodes.Length == 0 ? 0 : host.Nodes[0].CoresFor(i.Cpus);
        // In double: a share of capacity, which a long sum could wrap.
        var cpuUsed = ((double)totalCores - host.FreeCores + need) / totalCores;
        var memUsed = ((double)totalMem - host.FreeMemoryMiB + i.MemoryMiB) / totalMem;
        return (int)Math.Round(100 * (1 - Math.Min(1, Math.Abs(cpuUsed - memUsed))));
    }

    /// <summary>Soft spread: 100 in a domain that holds no member of the shard, less the more it holds; 100 without a soft rule.</summary>
    public static int SoftSpread(HostCapacity host, PlacementRequest request)
    {
        var s = request.Shard;
        if (s is null || s.Spread.Mode != SpreadMode.Soft || s.Members.Count == 0) return 100;
        var n = s.MembersIn(host.HostId, host.Zone, host.Rack);
        if (n >= s.Spread.MaxPerDomain) return 0;
        return 100 - (100 * n / (s.Members.Count + 1));
    }

    public static int Total(HostCapacity host, PlacementRequest request, ScoreWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var score = (weights.NumaFit * NumaFit(host, request)) + (weights.Balance * Balance(host, request));
        return request.Shard is { Spread.Mode: SpreadMode.Soft } ? score + (weights.SoftSpread * SoftSpread(host, request)) : score;
    }
}
