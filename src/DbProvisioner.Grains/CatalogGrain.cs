using DbProvisioner.Api;
using DbProvisioner.Contracts;

namespace DbProvisioner.Grains;

[GenerateSerializer, Alias("dbprov.CatalogGrainState")]
public sealed class CatalogGrainState
{
    [Id(0)] public Dictionary<string, HostSummary> Hosts { get; set; } = [];
    [Id(1)] public Dictionary<string, InstanceSummary> Instances { get; set; } = [];
    [Id(2)] public List<string> Clusters { get; set; } = [];
    [Id(3)] public Dictionary<string, ScaleDownSummary> ScaleDowns { get; set; } = [];
}

/// <summary>One bucket of what exists: hosts, instances, clusters and scale-down requests (see <see cref="Catalog"/>).</summary>
public sealed class CatalogGrain([PersistentState("catalog")] IPersistentState<CatalogGrainState> state) : Grain, ICatalogGrain
{
    public async Task UpsertHostAsync(HostSummary host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var known = state.State.Hosts.TryGetValue(host.Id, out var old);
        if (known && old == host) return;
        state.State.Hosts[host.Id] = host;
        // Free cores and Ready disks change with every reservation: kept fresh in memory (hosts push
        // them), written only with a change that must survive a restart.
        var lasting = !known || old!.Pool != host.Pool || old.Zone != host.Zone || old.Rack != host.Rack || old.Cordoned != host.Cordoned
            || old.Healthy != host.Healthy || old.Reason != host.Reason || old.Image?.State != host.Image?.State;
        if (lasting) await state.WriteOrReloadAsync(DeactivateOnIdle, () => Restore(state.State.Hosts, host.Id, known, old));
    }

    public async Task UpsertInstanceAsync(InstanceSummary instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var known = state.State.Instances.TryGetValue(instance.Id, out var old);
        if (known && old == instance) return;
        state.State.Instances[instance.Id] = instance;
        await state.WriteOrReloadAsync(DeactivateOnIdle, () => Restore(state.State.Instances, instance.Id, known, old));
    }

    public async Task AddClusterAsync(string name)
    {
        if (state.State.Clusters.Contains(name)) return;
        state.State.Clusters.Add(name);
        await state.WriteOrReloadAsync(DeactivateOnIdle, () => state.State.Clusters.Remove(name));
    }

    public async Task UpsertScaleDownAsync(ScaleDownSummary request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var known = state.State.ScaleDowns.TryGetValue(request.Id, out var old);
        if (known && old == request) return;
        state.State.ScaleDowns[request.Id] = request;
        await state.WriteOrReloadAsync(DeactivateOnIdle, () => Restore(state.State.ScaleDowns, request.Id, known, old));
    }

    public Task<IReadOnlyList<ScaleDownSummary>> GetScaleDownsAsync() =>
        Task.FromResult<IReadOnlyList<ScaleDownSummary>>([.. state.State.ScaleDowns.Values]);

    public Task<IReadOnlyList<HostSummary>> GetHostsAsync() =>
        Task.FromResult<IReadOnlyList<HostSummary>>([.. state.State.Hosts.Values.OrderBy(static h => h.Id, StringComparer.Ordinal)]);

    public Task<IReadOnlyList<InstanceSummary>> GetInstancesAsync() =>
        Task.FromResult<IReadOnlyList<InstanceSummary>>([.. state.State.Instances.Values.OrderBy(static i => i.Id, StringComparer.Ordinal)]);

    public Task<IReadOnlyList<string>> GetClustersAsync() =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Clusters.Order(StringComparer.Ordinal)]);

    // A failed write must not leave the entry in memory: the caller's retry of the same entry would look done.
    private static void Restore<T>(Dictionary<string, T> entries, string id, bool known, T? old)
    {
        if (known) entries[id] = old!;
        else entries.Remove(id);
    }
}
