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

    private readonly List<HostCapacity> _hosts = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
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
        _next = decision.NextStartIndex;
        if (!decision.Placed) return Task.FromResult(new IndexedPlacement(decision, null));
        // Assume the host takes it until its own push says otherwise, so concurrent requests spread
        // instead of piling onto the host the index still shows as emptiest.
        var assumed = _hosts[decision.HostIndex].Assume(request.Instance);
        _hosts[decision.HostIndex] = assumed;
        return Task.FromResult(new IndexedPlacement(decision, assumed));
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
        if (_index.TryGetValue(capacity.HostId, out var i)) _hosts[i] = capacity;
        else
        {
            _index[capacity.HostId] = _hosts.Count;
            _hosts.Add(capacity);
        }
    }
}
