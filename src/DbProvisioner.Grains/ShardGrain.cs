using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Grains;

[GenerateSerializer, Alias("dbprov.ShardMember")]
public sealed record ShardMember(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] string Role,
    [property: Id(2)] string HostId,
    [property: Id(3)] string Zone,
    [property: Id(4)] string Rack);

[GenerateSerializer, Alias("dbprov.ShardGrainState")]
public sealed class ShardGrainState
{
    [Id(0)] public SpreadSpec? Spread { get; set; }
    [Id(1)] public List<ShardMember> Members { get; set; } = [];
}

/// <summary>
/// One shard of a cluster. Member placements for the shard are serialised here, so two concurrent
/// requests can never both see a free failure domain and break a hard spread rule.
/// </summary>
public sealed class ShardGrain(
    [PersistentState("shard")] IPersistentState<ShardGrainState> state,
    IOptions<ProvisioningOptions> options) : Grain, IShardGrain
{
    private string Key => this.GetPrimaryKeyString();

    public async Task<ReserveOutcome> PlaceMemberAsync(string instanceId, InstanceSpec spec, InstanceRequest request)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (await AlreadyPlacedAsync(instanceId, request) is { } held) return held;

        var spread = state.State.Spread ?? spec.Spread;
        return await PlaceAndReserve.RunAsync(GrainFactory, spec, request, ContextFor(spec, spread), options.Value.PlacementAttempts,
            (hostId, assumed) => ReserveAndRecordAsync(hostId, spec, spread, request, assumed));
    }

    public async Task<ReserveOutcome> ReservePlannedMemberAsync(InstanceSpec spec, InstanceRequest request, MemberLocation planned)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(planned);
        if (await AlreadyPlacedAsync(planned.InstanceId, request) is { } held) return held;

        // The cluster planned against the pool's index; the shard has the last word on its spread rule.
        var spread = state.State.Spread ?? spec.Spread;
        var refusal = ContextFor(spec, spread).RefusalAt(planned.HostId, planned.Zone, planned.Rack);
        if (refusal.Length > 0) return new(null, refusal);
        return await ReserveAndRecordAsync(planned.HostId, spec, spread, request);
    }

    public async Task<ReserveOutcome> ReserveReplacementAsync(InstanceSpec spec, InstanceRequest request, MemberLocation planned, string replacing)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(planned);
        if (await AlreadyPlacedAsync(planned.InstanceId, request) is { } held) return held;

        // The replaced member leaves once its replacement is Ready: the rule is kept for the shard as it will be.
        var spread = state.State.Spread ?? spec.Spread;
        var context = ContextFor(spec, spread);
        context = context with { Members = [.. context.Members.Where(m => m.InstanceId != replacing)] };
        var refusal = context.RefusalAt(planned.HostId, planned.Zone, planned.Rack);
        if (refusal.Length > 0) return new(null, refusal);
        return await ReserveAndRecordAsync(planned.HostId, spec, spread, request);
    }

    public async Task ReleaseMemberAsync(string instanceId, string plannedHostId)
    {
        var recorded = state.State.Members.FirstOrDefault(m => m.InstanceId == instanceId)?.HostId;
        foreach (var hostId in new[] { plannedHostId, recorded }.OfType<string>().Distinct(StringComparer.Ordinal))
            await GrainFactory.GetGrain<IHostGrain>(hostId).ReleaseAsync(instanceId);
        await RemoveMemberAsync(instanceId);
    }

    /// <summary>A member recorded here asks again (a resume): its host answers the reservation it holds, or it is placed anew.</summary>
    private async Task<ReserveOutcome?> AlreadyPlacedAsync(string instanceId, InstanceRequest request)
    {
        var existing = state.State.Members.FirstOrDefault(m => m.InstanceId == instanceId);
        if (existing is null) return null;
        var held = await GrainFactory.GetGrain<IHostGrain>(existing.HostId).ReserveAsync(request);
        if (held.Reservation is not null) return held;
        await RemoveMemberAsync(instanceId);
        return null;
    }

    /// <summary>Reserves on the host and records the member with its failure domains (the host answers its location, so no second call).</summary>
    private async Task<ReserveOutcome> ReserveAndRecordAsync(string hostId, InstanceSpec spec, SpreadSpec spread, InstanceRequest request, HostCapacity? indexAssumed = null)
    {
        var host = GrainFactory.Get<IHostGrain>(hostId);
        var outcome = await (indexAssumed is null ? host.ReserveAsync(request) : host.ReserveAssumedAsync(request, indexAssumed));
        if (outcome.Reservation is null) return outcome;
        var location = outcome.Location ?? throw new InvalidOperationException($"host {hostId} reserved for {request.InstanceId} without answering its location");
        state.State.Spread = spread;
        state.State.Members.Add(new ShardMember(request.InstanceId, spec.Role, hostId, location.Zone, location.Rack));
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        return outcome;
    }

    private ShardContext ContextFor(InstanceSpec spec, SpreadSpec spread) =>
        new(spec.Cluster, spec.Shard, Mapping.ToRule(spread),
            [.. state.State.Members.Select(static m => new MemberLocation(m.InstanceId, m.HostId, m.Zone, m.Rack))]);

    public async Task RemoveMemberAsync(string instanceId)
    {
        if (state.State.Members.RemoveAll(m => m.InstanceId == instanceId) > 0) await state.WriteOrReloadAsync(DeactivateOnIdle);
    }

    public Task<IReadOnlyList<MemberLocation>> GetMembersAsync() =>
        Task.FromResult<IReadOnlyList<MemberLocation>>([.. state.State.Members.Select(static m => new MemberLocation(m.InstanceId, m.HostId, m.Zone, m.Rack))]);

    public Task<ShardView> GetViewAsync() =>
        Task.FromResult(new ShardView(Key, state.State.Spread,
            [.. state.State.Members.Select(static m => new ShardMemberView(m.InstanceId, m.Role, m.HostId, m.Zone, m.Rack))]));

    public override string ToString() => $"shard {Key}";
}
