using System.Collections;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Placement;

/// <summary>
/// The placement index of a pool as a list of host summaries with a <see cref="PlacementRow"/> beside each, in
/// host order. Setting a summary (after a reserve, a release or an assume) rewrites its row in place;
/// <see cref="Scheduler.Place"/> given an index scans the rows and reads a summary only to check required labels
/// or to judge a host its row cannot describe. The summaries stay the record that explains a refusal.
/// Not thread-safe: one owner (a grain, a bench loop) at a time.
/// </summary>
public sealed class PlacementIndex : IReadOnlyList<HostCapacity>
{
    private HostCapacity[] _hosts;
    private PlacementRow[] _rows;
    private int _count;

    // Host ids, zones, racks, pools and disk classes as ids; a name, once seen, keeps its id.
    private readonly Dictionary<string, int> _keys = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    // The ordinal order of every name (the scheduler's last tie-break), recomputed only after a new name appears.
    private int[] _ranks = [];
    private bool _ranksStale;
    private long[] _memberKeys = new long[8];

    public PlacementIndex()
    {
        _hosts = [];
        _rows = [];
    }

    public PlacementIndex(IEnumerable<HostCapacity> hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        var list = hosts as IReadOnlyCollection<HostCapacity> ?? [.. hosts];
        _hosts = new HostCapacity[list.Count];
        _rows = new PlacementRow[list.Count];
        foreach (var host in list) Add(host);
    }

    public int Count => _count;

    /// <summary>The summary of the host at <paramref name="index"/>; setting it rewrites that host's row only.</summary>
    public HostCapacity this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
            return _hosts[index];
        }
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
            _rows[index] = RowOf(value, _hosts[index], in _rows[index]);
            _hosts[index] = value;
        }
    }

    public void Add(HostCapacity host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (_count == _hosts.Length)
        {
            var size = Math.Max(4, _count * 2);
            Array.Resize(ref _hosts, size);
            Array.Resize(ref _rows, size);
        }
        var none = default(PlacementRow);
        _rows[_count] = RowOf(host, null, in none);
        _hosts[_count] = host;
        _count++;
    }

    public void RemoveAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
        _count--;
        Array.Copy(_hosts, index + 1, _hosts, index, _count - index);
        Array.Copy(_rows, index + 1, _rows, index, _count - index);
        _hosts[_count] = null!;
    }

    public IEnumerator<HostCapacity> GetEnumerator()
    {
        for (var i = 0; i < _count; i++) yield return _hosts[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The row of the host at <paramref name="index"/> (for tests).</summary>
    internal ref readonly PlacementRow Row(int index) => ref _rows[index];

    /// <summary>
    /// The scheduler's scan over the rows from <paramref name="start"/>: the same feasible hosts, scores and
    /// tie-breaks as Fit.Evaluate over the summaries. Returns the best host's index or -1.
    /// </summary>
    internal int Scan(PlacementRequest request, ScoreWeights weights, int start, int want, out int scanned, out int feasible, out int bestScore)
    {
        if (_ranksStale) Rerank();
        var members = MemberKeys(request.Shard);
        var q = new RowQuery(request, weights, KeyOf(request.Pool), KeyOf(request.Instance.DiskClass), members.Length);
        var rows = _rows;
        var hosts = _hosts;
        var count = _count;
        var best = -1;
        var bestFree = 0;
        var bestRank = 0;
        bestScore = int.MinValue;
        feasible = 0;
        for (scanned = 0; scanned < count && feasible < want; scanned++)
        {
            var i = start + scanned;
            if (i >= count) i -= count;
            ref readonly var row = ref rows[i];
            if (!Fits(in row, hosts[i], request, weights, in q, members, out var score)) continue;
            feasible++;
            var free = row.FreeCores;
            var rank = RankOf(row.HostKey);
            if (best < 0 || score > bestScore || (score == bestScore && (free < bestFree || (free == bestFree && rank < bestRank))))
            {
                best = i;
                bestScore = score;
                bestFree = free;
                bestRank = rank;
            }
        }
        return best;
    }

    /// <summary>Whether the host at <paramref name="index"/> fits, and its score, judged as the scan judges it (for tests).</summary>
    internal bool Judge(int index, PlacementRequest request, ScoreWeights weights, out int score)
    {
        var members = MemberKeys(request.Shard);
        var q = new RowQuery(request, weights, KeyOf(request.Pool), KeyOf(request.Instance.DiskClass), members.Length);
        return Fits(in _rows[index], _hosts[index], request, weights, in q, members, out score);
    }

    // The row answers unless it is Full; the summary is read only for required labels or a Full row.
    private static bool Fits(ref readonly PlacementRow row, HostCapacity host, PlacementRequest request, ScoreWeights weights, ref readonly RowQuery q, ReadOnlySpan<long> members, out int score)
    {
        if (row.Full)
        {
            score = 0;
            return !Fit.SurelyUnfit(host, request.Instance) && Fit.Evaluate(host, request, weights, out score) == FilterCode.Fits;
        }
        return RowFit.Fits(in row, in q, members, out score) && (request.RequiredLabels is null || Filters.FitsLabels(host, request));
    }

    // A null name sorts before every other, as string.CompareOrdinal does.
    private int RankOf(int key) => key < 0 ? -1 : _ranks[key];

    private void Rerank()
    {
        var order = new int[_names.Count];
        for (var k = 0; k < order.Length; k++) order[k] = k;
        Array.Sort(order, (a, b) => string.CompareOrdinal(_names[a], _names[b]));
        _ranks = new int[order.Length];
        for (var r = 0; r < order.Length; r++) _ranks[order[r]] = r;
        _ranksStale = false;
    }

    // The shard members' domain keys, in a buffer the index reuses: a name no host carries gets -1, which no row has.
    private ReadOnlySpan<long> MemberKeys(ShardContext? shard)
    {
        if (shard is null) return [];
        var members = shard.Members;
        if (_memberKeys.Length < members.Count) _memberKeys = new long[members.Count];
        for (var m = 0; m < members.Count; m++)
        {
            var member = members[m];
            _memberKeys[m] = shard.Spread.Domain switch
            {
                SpreadDomain.Host => KeyOf(member.HostId),
                SpreadDomain.Rack => KeyOf(member.Zone) is var z and >= 0 && KeyOf(member.Rack) is var r and >= 0 ? ((long)z << 32) | (uint)r : -1,
                _ => KeyOf(member.Zone),
            };
        }
        return _memberKeys.AsSpan(0, members.Count);
    }

    private int KeyOf(string? name) => name is not null && _keys.TryGetValue(name, out var key) ? key : -1;

    private int Intern(string name)
    {
        if (_keys.TryGetValue(name, out var key)) return key;
        key = _names.Count;
        _names.Add(name);
        _keys.Add(name, key);
        _ranksStale = true;
        return key;
    }

    // The previous summary's names are usually the very same strings: their ids are reused without hashing.
    private int Intern(string? name, string? previous, int previousKey) =>
        name is null ? -1 : ReferenceEquals(name, previous) ? previousKey : Intern(name);

    private PlacementRow RowOf(HostCapacity host, HostCapacity? previous, ref readonly PlacementRow previousRow)
    {
        var row = new PlacementRow
        {
            FreeMemoryMiB = host.FreeMemoryMiB,
            MaxNodeFreeMemoryMiB = host.MaxNodeFreeMemoryMiB,
            FreeSwapMiB = host.FreeSwapMiB,
            TotalMemoryMiB = host.TotalMemoryMiB,
            FreeCpus = host.FreeCpus,
            MaxNodeFreeCpus = host.MaxNodeFreeCpus,
            FreePorts = host.FreePorts,
            FreeCores = host.FreeCores,
            TotalCores = host.TotalCores,
            NodeCount = host.Nodes.Length,
            OutOfService = host.OutOfService,
            PoolKey = Intern(host.Pool, previous?.Pool, previousRow.PoolKey),
            HostKey = Intern(host.HostId, previous?.HostId, previousRow.HostKey),
            ZoneKey = Intern(host.Zone, previous?.Zone, previousRow.ZoneKey),
            RackKey = Intern(host.Rack, previous?.Rack, previousRow.RackKey),
            DiskClass0 = PlacementRow.NoDiskClass,
            DiskClass1 = PlacementRow.NoDiskClass,
        };
        row.Full = host.Runtime != HostRuntimeKind.Docker || host.Pool is null || host.HostId is null || host.Zone is null || host.Rack is null
            || host.Nodes.Length > PlacementRow.MaxNodes || !DescribeDisks(host, previous, in previousRow, ref row);
        if (row.Full) return row;
        for (var n = 0; n < host.Nodes.Length; n++)
        {
            var node = host.Nodes[n];
            if (node.ThreadsPerCore <= 0) return row with { Full = true }; // CoresFor would divide by it: the summary's own path answers
            row.Nodes[n] = new NodeRow
            {
                FreeMemoryMiB = node.FreeMemoryMiB,
                FreeCores = node.FreeCores,
                TotalCores = node.TotalCores,
                ThreadsPerCore = node.ThreadsPerCore,
                NodeId = node.NodeId,
            };
        }
        return row;
    }

    // The largest claimable disk of each class; false when the host has more classes than a row holds (or an unnamed one).
    private bool DescribeDisks(HostCapacity host, HostCapacity? previous, ref readonly PlacementRow previousRow, ref PlacementRow row)
    {
        var disks = host.ReadyDisks;
        if (disks.IsDefault) return false;
        foreach (var d in disks)
        {
            if (d.Count <= 0) continue;
            if (d.DiskClass is null) return false;
            var key = previous is not null && previousRow.DiskClass0 >= 0 && ReferenceEquals(d.DiskClass, _names[previousRow.DiskClass0]) ? previousRow.DiskClass0 : Intern(d.DiskClass);
            if (row.DiskClass0 == PlacementRow.NoDiskClass) (row.DiskClass0, row.DiskMax0) = (key, d.SizeGiB);
            else if (row.DiskClass0 == key) row.DiskMax0 = Math.Max(row.DiskMax0, d.SizeGiB);
            else if (row.DiskClass1 == PlacementRow.NoDiskClass) (row.DiskClass1, row.DiskMax1) = (key, d.SizeGiB);
            else if (row.DiskClass1 == key) row.DiskMax1 = Math.Max(row.DiskMax1, d.SizeGiB);
            else return false;
        }
        return true;
    }
}
