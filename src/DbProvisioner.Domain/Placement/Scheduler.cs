using System.Globalization;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Placement;

/// <summary>
/// How far the scheduler looks. Like kube-scheduler's percentageOfNodesToScore, it stops after
/// finding enough feasible hosts: <see cref="PercentageOfHostsToScore"/> of the pool (0 = adaptive,
/// 50% minus 1% per 125 hosts, at least 5%), and never fewer than <see cref="MinFeasibleHostsToScore"/>.
/// <see cref="MaxFeasibleHostsToScore"/> (0 = none) caps the share, so a decision's cost stops growing with the fleet.
/// </summary>
public sealed record PlacementOptions(int PercentageOfHostsToScore = 0, int MinFeasibleHostsToScore = 100, ScoreWeights? Weights = null, int MaxFeasibleHostsToScore = 0)
{
    public static PlacementOptions Default { get; } = new();

    /// <summary>Scores every feasible host.</summary>
    public static PlacementOptions FullScan { get; } = new(100);

    public ScoreWeights EffectiveWeights => Weights ?? DefaultWeights;

    private static readonly ScoreWeights DefaultWeights = new();

    public int FeasibleHostsToFind(int hosts)
    {
        if (hosts <= MinFeasibleHostsToScore || PercentageOfHostsToScore >= 100) return hosts;
        var pct = PercentageOfHostsToScore > 0 ? PercentageOfHostsToScore : Math.Max(5, 50 - (hosts / 125));
        var share = Math.Max(MinFeasibleHostsToScore, (int)((long)hosts * pct / 100));
        return MaxFeasibleHostsToScore > 0 ? Math.Min(share, Math.Max(MaxFeasibleHostsToScore, MinFeasibleHostsToScore)) : share;
    }
}

/// <summary>How many hosts failed for one reason.</summary>
public sealed record ReasonCount(int Hosts, string Reason);

/// <summary>
/// A placement decision: the chosen host, or the reason nothing fits with a count per reason.
/// <see cref="NextStartIndex"/> is where the next decision should start scanning.
/// </summary>
public sealed record PlacementDecision(
    string? HostId,
    int HostIndex,
    int Score,
    int HostsScanned,
    int FeasibleHosts,
    int NextStartIndex,
    IReadOnlyList<ReasonCount> Unfit,
    string Reason)
{
    public bool Placed => HostId is not null;
}

/// <summary>Filter → score → choose, over the placement index's host summaries. Pure and deterministic.</summary>
public static class Scheduler
{
    private const int ReasonsShown = 5;

    /// <summary>
    /// Scans hosts from <paramref name="startIndex"/> (rotating, so early stop does not always hit
    /// the same hosts), stops after enough feasible hosts, and picks the highest score; ties go to
    /// the host with fewer free cores, then the lower host id. Given a <see cref="PlacementIndex"/>, the scan reads its rows.
    /// </summary>
    public static PlacementDecision Place(IReadOnlyList<HostCapacity> hosts, PlacementRequest request, PlacementOptions options, int startIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        var count = hosts.Count;
        if (count == 0) return new(null, -1, 0, 0, 0, 0, [], $"pool {request.Pool} has no hosts");
        var start = ((startIndex % count) + count) % count;
        var want = options.FeasibleHostsToFind(count);
        var weights = options.EffectiveWeights;
        int scanned, feasible, bestScore;
        var best = hosts is PlacementIndex index
            ? index.Scan(request, weights, start, want, out scanned, out feasible, out bestScore)
            : Scan(hosts, request, weights, start, want, out scanned, out feasible, out bestScore);
        var next = (start + scanned) % count;
        if (best >= 0) return new(hosts[best].HostId, best, bestScore, scanned, feasible, next, [], "");

        var unfit = Summarise(hosts, request);
        return new(null, -1, 0, scanned, 0, next, unfit, Words(count, request, unfit));
    }

    // The scan over the summaries themselves (any list): PlacementIndex.Scan answers the same from its rows.
    private static int Scan(IReadOnlyList<HostCapacity> hosts, PlacementRequest request, ScoreWeights weights, int start, int want, out int scanned, out int feasible, out int bestScore)
    {
        var count = hosts.Count;
        var instance = request.Instance;
        feasible = 0;
        var best = -1;
        bestScore = int.MinValue;
        var bestFree = 0;
        var array = hosts as HostCapacity[]; // the caller's own array: no interface call per host
        for (scanned = 0; scanned < count && feasible < want; scanned++)
        {
            var i = start + scanned;
            if (i >= count) i -= count;
            var host = array is null ? hosts[i] : array[i];
            if (Fit.SurelyUnfit(host, instance) || Fit.Evaluate(host, request, weights, out var score) != FilterCode.Fits) continue;
            feasible++;
            var free = host.FreeCores;
            if (best < 0 || score > bestScore || (score == bestScore && (free < bestFree || (free == bestFree && string.CompareOrdinal(host.HostId, hosts[best].HostId) < 0))))
            {
                best = i;
                bestScore = score;
                bestFree = free;
            }
        }
        return best;
    }

    /// <summary>Counts hosts by the first reason each fails on, most common first, then by wording.</summary>
    public static IReadOnlyList<ReasonCount> Summarise(IReadOnlyList<HostCapacity> hosts, PlacementRequest request)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var host in hosts)
        {
            var code = Filters.Check(host, request);
            if (code == FilterCode.Fits) continue;
            var reason = Filters.Explain(code, host, request);
            counts[reason] = counts.GetValueOrDefault(reason) + 1;
        }
        return [.. counts.OrderByDescending(static kv => kv.Value).ThenBy(static kv => kv.Key, StringComparer.Ordinal).Select(static kv => new ReasonCount(kv.Value, kv.Key))];
    }

    private static string Words(int hosts, PlacementRequest request, IReadOnlyList<ReasonCount> unfit)
    {
        var ci = CultureInfo.InvariantCulture;
        var parts = unfit.Take(ReasonsShown).Select(r => string.Format(ci, "{0:N0} host{1}: {2}", r.Hosts, r.Hosts == 1 ? "" : "s", r.Reason)).ToList();
        if (unfit.Count > ReasonsShown) parts.Add(string.Format(ci, "{0:N0} hosts for {1} other reasons", unfit.Skip(ReasonsShown).Sum(static r => r.Hosts), unfit.Count - ReasonsShown));
        var i = request.Instance;
        var swap = i.SwapMiB > 0 ? string.Format(ci, " + {0} MiB swap", i.SwapMiB) : "";
        return string.Format(ci, "no host fits instance {0} ({1} CPUs, {2} MiB{3}, {4} NUMA) among {5:N0}: {6}",
            i.InstanceId, i.Cpus, i.MemoryMiB, swap, i.Numa.ToString().ToLowerInvariant(), hosts, string.Join("; ", parts));
    }
}

/// <summary>The shape of every instance of a cluster.</summary>
public sealed record InstanceTemplate(int Cpus, long MemoryMiB, NumaPolicy Numa, long DiskGiB, string DiskClass, long SwapMiB = 0);

/// <summary>A whole cluster: shards × members per shard, one spread rule, one template.</summary>
public sealed record ClusterRequest(string Cluster, string Pool, int Shards, int MembersPerShard, InstanceTemplate Template, SpreadRule Spread);

/// <summary>Where one member of a cluster goes: the host and its failure domains, which its shard checks before reserving.</summary>
public sealed record MemberPlacement(string Shard, int Member, string InstanceId, string HostId, string Zone, string Rack);

/// <summary>Every member placed, or none and the reason.</summary>
public sealed record ClusterPlacementResult(IReadOnlyList<MemberPlacement> Members, string Reason, int NextStartIndex)
{
    public bool Placed => Reason.Length == 0;
}

/// <summary>Plans a whole cluster against the host summaries: every member or none.</summary>
public static class ClusterPlacement
{
    public static string ShardName(int shard) => string.Create(CultureInfo.InvariantCulture, $"s{shard + 1}");

    public static string InstanceId(string cluster, int shard, int member) =>
        string.Create(CultureInfo.InvariantCulture, $"{cluster}-{ShardName(shard)}-{member + 1}");

    public static ClusterPlacementResult Place(IReadOnlyList<HostCapacity> hosts, ClusterRequest request, PlacementOptions options, int startIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Shards < 1 || request.MembersPerShard < 1) return new([], "a cluster needs at least one shard of at least one member", startIndex);
        if (request.Template.Cpus < 1) return new([], "an instance needs at least 1 CPU", startIndex);

        var working = hosts.ToArray(); // a private overlay: the caller's summaries are never touched
        var placed = new List<MemberPlacement>(checked(request.Shards * request.MembersPerShard));
        var next = startIndex;
        var t = request.Template;
        for (var s = 0; s < request.Shards; s++)
        {
            var members = new List<MemberLocation>();
            for (var m = 0; m < request.MembersPerShard; m++)
            {
                var id = InstanceId(request.Cluster, s, m);
                var instance = new InstanceRequest(id, t.Cpus, t.MemoryMiB, t.Numa, t.DiskGiB, t.DiskClass, t.SwapMiB);
                var shard = new ShardContext(request.Cluster, ShardName(s), request.Spread, [.. members]);
                var decision = Scheduler.Place(working, new PlacementRequest(instance, request.Pool, shard), options, next);
                next = decision.NextStartIndex;
                if (!decision.Placed)
                {
                    return new([], string.Create(CultureInfo.InvariantCulture,
                        $"cluster {request.Cluster} cannot be placed, nothing was reserved: shard {ShardName(s)} member {m + 1} of {request.MembersPerShard}: {decision.Reason}"), next);
                }
                var host = working[decision.HostIndex];
                working[decision.HostIndex] = host.Assume(instance);
                members.Add(new MemberLocation(id, host.HostId, host.Zone, host.Rack));
                placed.Add(new MemberPlacement(ShardName(s), m + 1, id, host.HostId, host.Zone, host.Rack));
            }
        }
        return new(placed, "", next);
    }
}
