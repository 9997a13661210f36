using DbProvisioner.Contracts;
using DbProvisioner.Domain.Placement;

namespace DbProvisioner.Grains;

/// <summary>
/// The placement index of one pool: every host's capacity summary, pushed by the host grains after
/// each change. Advisory: the host grain has the last word, so a stale entry costs a retry, never
/// an over-commit. Kept in memory and rebuilt from the host grains on activation.
/// </summary>
public sealed class PlacementGrain : Grain, IPlacementGrain
{
    // Like kube-scheduler's minimum: stop after 100 feasible hosts (2% of a 5,000-host pool).
    private static readonly PlacementOptions Options = new(PercentageOfHostsToScore: 2);

    // At most this many assumed hosts are read again before a refusal (a refusal costs at most one round of calls).
    private const int MaxConfirmedPerRefusal = 256;
    private static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(5);

    private readonly List<HostCapacity> _hosts = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    // Hosts whose entry holds an assumption (a placement the index answered) that no push from the host has replaced yet.
    private readonly HashSet<string> _assumed = new(StringComparer.Ordinal);
    private int _next;

    private string Pool => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var hosts = await GrainFactory.ListHostsAsync();
        var capacities = await Task.WhenAll(hosts.Where(h => h.Pool == Pool)
            .Select(h => GrainFactory.GetGrain<IHostGrain>(h.Id).GetCapacityAsync()));
        foreach (var c in capacities)
            if (c is not null) Upsert(c);
    }

    public Task UpdateAsync(HostCapacity capacity)
    {
        ArgumentNullException.ThrowIfNull(capacity);
        Upsert(capacity);
        return Task.CompletedTask;
    }

    public Task RefreshAsync(HostCapacity capacity) => UpdateAsync(capacity);

    public Task ForgetAsync(string hostId)
    {
        _assumed.Remove(hostId);
        if (_index.Remove(hostId, out var i))
        {
            _hosts.RemoveAt(i);
            for (var k = i; k < _hosts.Count; k++) _index[_hosts[k].HostId] = k;
        }
        return Task.CompletedTask;
    }

    public Task<IndexedPlacement> PlaceAsync(PlacementRequest request)
    {
        var decision = Scheduler.Place(_hosts, request, Options, _next);
        // Never refuse on an assumption alone: a requester that died between this index and the host (or one resumed
        // after a crash) leaves capacity that looks taken and is not. The hosts concerned are read again first.
        if (!decision.Placed && _assumed.Count > 0) return ConfirmThenPlaceAsync(request);
        return Task.FromResult(Answer(request, decision));
    }

    private async Task<IndexedPlacement> ConfirmThenPlaceAsync(PlacementRequest request)
    {
        var hosts = _assumed.Take(MaxConfirmedPerRefusal).ToList();
        var answers = await Task.WhenAll(hosts.Select(ReadAgainAsync));
        for (var i = 0; i < hosts.Count; i++)
        {
            if (!answers[i].Answered) continue; // kept as assumed: its next push, or the next refusal, reads it
            if (answers[i].Capacity is { } c) Upsert(c);
            else _assumed.Remove(hosts[i]);
        }
        return Answer(request, Scheduler.Place(_hosts, request, Options, _next));
    }

    /// <summary>
    /// A host's capacity as it is now. GetCapacity interleaves, so a host that is itself awaiting this index answers;
    /// a host that does not answer soon (its silo just died) leaves the refusal as it was rather than hold the pool's index.
    /// </summary>
    private async Task<(bool Answered, HostCapacity? Capacity)> ReadAgainAsync(string hostId)
    {
        try
        {
            return (true, await GrainFactory.Get<IHostGrain>(hostId).GetCapacityAsync().WaitAsync(ConfirmTimeout));
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            return (false, null);
        }
    }

    private IndexedPlacement Answer(PlacementRequest request, PlacementDecision decision)
    {
        _next = decision.NextStartIndex;
        if (!decision.Placed) return new IndexedPlacement(decision, null);
        // Assume the host takes it until its own push says otherwise, so concurrent requests spread
        // instead of piling onto the host the index still shows as emptiest.
        var assumed = _hosts[decision.HostIndex].Assume(request.Instance);
        _hosts[decision.HostIndex] = assumed;
        _assumed.Add(assumed.HostId);
        return new IndexedPlacement(decision, assumed);
    }

    public Task<ClusterPlacementResult> PlaceClusterAsync(ClusterRequest request)
    {
        var result = ClusterPlacement.Place(_hosts, request, Options, _next);
        _next = result.NextStartIndex;
        return Task.FromResult(result);
    }

    public Task<IReadOnlyList<HostCapacity>> SnapshotAsync() => Task.FromResult<IReadOnlyList<HostCapacity>>([.. _hosts]);

    public Task<bool> HasHostsAsync() => Task.FromResult(_hosts.Count > 0);

    private void Upsert(HostCapacity capacity)
    {
        _assumed.Remove(capacity.HostId);
        if (_index.TryGetValue(capacity.HostId, out var i)) _hosts[i] = capacity;
        else
        {
            _index[capacity.HostId] = _hosts.Count;
            _hosts.Add(capacity);
        }
    }
}
