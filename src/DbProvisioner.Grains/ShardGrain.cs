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
        var existing = state.State.Members.FirstOrDefault(m => m.InstanceId == instanceId);
        if (existing is not null)
        {
            var held = await GrainFactory.GetGrain<IHostGrain>(existing.HostId).GetReservationAsync(instanceId);
            if (held is not null) return new(held, "");
            await RemoveMemberAsync(instanceId);
        }

        var spread = state.State.Spread ?? spec.Spread;
        var context = new ShardContext(spec.Cluster, spec.Shard, Mapping.ToRule(spread),
            [.. state.State.Members.Select(static m => new MemberLocation(m.InstanceId, m.HostId, m.Zone, m.Rack))]);
        var placement = GrainFactory.GetGrain<IPlacementGrain>(spec.Pool);
        var reason = "";
        for (var attempt = 0; attempt < options.Value.PlacementAttempts; attempt++)
        {
            var decision = await placement.PlaceAsync(new PlacementRequest(request, spec.Pool, context));
            if (!decision.Placed) return new(null, decision.Reason);
            var host = GrainFactory.GetGrain<IHostGrain>(decision.HostId!);
            var outcome = await host.ReserveAsync(request);
            if (outcome.Reservation is null)
            {
                reason = outcome.Reason; // the index was stale; the host has corrected it
                continue;
            }
            // The host answers with its location, so that no second round trip is needed for the spread domain.
            var location = outcome.Location ?? await host.GetLocationAsync();
            state.State.Spread = spread;
            state.State.Members.Add(new ShardMember(instanceId, spec.Role, decision.HostId!, location!.Zone, location.Rack));
            await state.WriteOrReloadAsync(DeactivateOnIdle);
            return outcome;
        }
        return new(null, $"no host accepted instance {instanceId} after {options.Value.PlacementAttempts} attempts: {reason}");
    }

    public async Task AddPlacedMemberAsync(string instanceId, string role, HostLocation host, SpreadSpec spread)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (state.State.Members.Any(m => m.InstanceId == instanceId)) return;
        state.State.Spread ??= spread;
        state.State.Members.Add(new ShardMember(instanceId, role, host.HostId, host.Zone, host.Rack));
        await state.WriteOrReloadAsync(DeactivateOnIdle);
    }

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
