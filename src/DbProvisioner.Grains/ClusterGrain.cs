using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Clusters;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

[GenerateSerializer, Alias("dbprov.ClusterMember")]
public sealed record ClusterMember(
    [property: Id(0)] string Shard,
    [property: Id(1)] string InstanceId,
    [property: Id(2)] string Role,
    [property: Id(3)] string HostId,
    [property: Id(4)] string? Zone = null,
    [property: Id(5)] string? Rack = null);

[GenerateSerializer, Alias("dbprov.ClusterGrainState")]
public sealed class ClusterGrainState
{
    /// <summary>The stage by name ("" before the request), as every version stored it. Read and written through <see cref="Stage"/>.</summary>
    [Id(0)] public string StageName { get; set; } = "";
    [Id(1)] public CreateClusterRequest? Request { get; set; }
    [Id(2)] public InstanceSpec? Template { get; set; }
    [Id(3)] public List<ClusterMember> Members { get; set; } = [];
    [Id(4)] public string? Reason { get; set; }
    [Id(5)] public string RequestedBy { get; set; } = "";
    [Id(6)] public DateTimeOffset CreatedAt { get; set; }

    public ClusterStage Stage
    {
        get => ClusterStages.TryParse(StageName, out var stage)
            ? stage
            : throw new InvalidOperationException($"the stored cluster stage '{StageName}' names no stage");
        set => StageName = ClusterStages.NameOf(value);
    }
}

/// <summary>
/// One click, a whole cluster: the Domain places every member against the pool's index, then each member's shard
/// reserves it on the planned host (so placements for one shard stay serialised in its shard grain, which has the last
/// word on the spread rule); if any shard or host refuses, every reservation is given back through the shards and the
/// placement is tried again from fresh capacity. All members or none.
/// </summary>
public sealed class ClusterGrain(
    [PersistentState("cluster")] IPersistentState<ClusterGrainState> state,
    TimeProvider clock,
    ILogger<ClusterGrain> logger) : Grain, IClusterGrain
{
    private const int Attempts = 3;

    private string Name => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A crash while reserving: give back what was planned, so nothing stays reserved.
        if (state.State.Stage == ClusterStage.Reserving)
        {
            await ReleaseAsync(state.State.Members);
            state.State.Stage = ClusterStage.Failed;
            state.State.Reason = "interrupted while reserving; every reservation was given back";
            await state.WriteOrReloadAsync(DeactivateOnIdle);
        }
    }

    public async Task<Outcome<ClusterView>> CreateAsync(CreateClusterRequest request, InstanceSpec template, string requestedBy)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(template);
        if (state.State.Stage is ClusterStage.Provisioning or ClusterStage.Reserving && state.State.Request != request)
        {
            return Outcome<ClusterView>.Fail(OutcomeKind.Conflict, $"cluster {Name} already exists");
        }
        if (state.State.Stage == ClusterStage.Provisioning)
        {
            // The same request again (its answer was lost): finish a hand-over a fault may have cut short, then answer.
            await HandOverAsync(null);
            return Outcome<ClusterView>.Success(await ViewAsync());
        }
        if (state.State.Stage == ClusterStage.Reserving)
        {
            // Calls do not interleave, so this is what a call cut short by a fault left: give it back and start again.
            await ReleaseAsync(state.State.Members);
        }

        try
        {
            return await ReserveAndHandOverAsync(request, template, requestedBy);
        }
        catch (StorageUnavailableException)
        {
            // What is stored decides what happens next: a fresh activation finishes it or gives it back (OnActivateAsync).
            DeactivateOnIdle();
            throw;
        }
    }

    private async Task<Outcome<ClusterView>> ReserveAndHandOverAsync(CreateClusterRequest request, InstanceSpec template, string requestedBy)
    {
        var spread = request.Spread ?? SpreadSpec.HostHard;
        var placementRequest = new ClusterRequest(Name, template.Pool, request.Shards!.Value, request.Replicas!.Value,
            new InstanceTemplate(template.Cpus, template.MemoryMiB, template.Numa, template.DiskGiB, template.DiskClass, template.SwapMiB),
            Mapping.ToRule(spread));
        var placement = GrainFactory.GetGrain<IPlacementGrain>(template.Pool);
        var reason = "";
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var plan = await placement.PlaceClusterAsync(placementRequest);
            if (!plan.Placed) return Outcome<ClusterView>.Fail(OutcomeKind.Unplaceable, plan.Reason);

            var members = plan.Members.Select(m => new ClusterMember(m.Shard, m.InstanceId, m.Member == 1 ? "primary" : "replica", m.HostId, m.Zone, m.Rack)).ToList();
            state.State.Stage = ClusterStage.Reserving;
            state.State.Request = request;
            state.State.Template = template;
            state.State.Members = members;
            state.State.RequestedBy = requestedBy;
            state.State.CreatedAt = clock.GetUtcNow();
            state.State.Reason = null;
            await state.WriteOrReloadAsync(DeactivateOnIdle);

            var reservations = new List<ReserveOutcome>();
            foreach (var m in members)
            {
                var outcome = await ReserveThroughShardAsync(template, m, spread);
                if (outcome.Reservation is null)
                {
                    reason = outcome.Reason;
                    break;
                }
                reservations.Add(outcome);
            }
            if (reservations.Count == members.Count)
            {
                state.State.Stage = ClusterStage.Provisioning;
                await state.WriteOrReloadAsync(DeactivateOnIdle);
                await HandOverAsync(reservations);
                logger.LogInformation("Cluster {Cluster}: {Members} members placed", Name, members.Count);
                return Outcome<ClusterView>.Success(await ViewAsync());
            }
            await ReleaseAsync(members);
        }

        state.State.Stage = ClusterStage.None;
        state.State.Members = [];
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        return Outcome<ClusterView>.Fail(OutcomeKind.Unplaceable, $"cluster {Name} could not be reserved after {Attempts} attempts, nothing stays reserved: {reason}");
    }

    public async Task ResumeAsync()
    {
        if (state.State.Stage == ClusterStage.Provisioning) await HandOverAsync(null);
    }

    /// <summary>
    /// Tells the catalog and each instance about its member; idempotent, so that a crash half-way through is finished
    /// by <see cref="ResumeAsync"/> (each member's shard and host stored its reservation before the cluster's write).
    /// </summary>
    private async Task HandOverAsync(IReadOnlyList<ReserveOutcome>? reservations)
    {
        var template = state.State.Template!;
        var spread = state.State.Request!.Spread ?? SpreadSpec.HostHard;
        await GrainFactory.For(Name).AddClusterAsync(Name);
        for (var i = 0; i < state.State.Members.Count; i++)
        {
            var m = state.State.Members[i];
            var spec = SpecOf(template, m, spread);
            var instance = GrainFactory.GetGrain<IInstanceGrain>(m.InstanceId);
            if (reservations is null && await instance.GetAsync() is not null) continue;
            // On a resume the shard answers the reservation its host holds (idempotent).
            var outcome = reservations?[i] ?? await ReserveThroughShardAsync(template, m, spread);
            if (outcome is { Reservation: { } reservation, Location: { } location })
            {
                await instance.ProvisionPlacedAsync(spec, state.State.RequestedBy, reservation, location);
                continue;
            }
            // The planned host cannot take it any more: the member is placed like any instance, through its shard.
            await instance.ProvisionAsync(spec, state.State.RequestedBy);
        }
    }

    /// <summary>The member's shard reserves it on the planned host, if its spread rule allows.</summary>
    private Task<ReserveOutcome> ReserveThroughShardAsync(InstanceSpec template, ClusterMember m, SpreadSpec spread)
    {
        var spec = SpecOf(template, m, spread);
        // A member planned before the cluster kept zones and racks: the plan kept the spread rule; its shard records the host's.
        var planned = new MemberLocation(m.InstanceId, m.HostId, m.Zone ?? "", m.Rack ?? "");
        return GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(Name, m.Shard)).ReservePlannedMemberAsync(spec, Mapping.ToRequest(m.InstanceId, spec), planned);
    }

    public async Task<ClusterView?> GetAsync() => ClusterStages.IsVisible(state.State.Stage) ? await ViewAsync() : null;

    public async Task<Outcome<IReadOnlyList<ScaleDownView>>> ShrinkAsync(int replicas, string requestedBy)
    {
        if (state.State.Stage != ClusterStage.Provisioning) return Outcome<IReadOnlyList<ScaleDownView>>.Fail(OutcomeKind.NotFound, $"cluster {Name} does not exist");
        if (replicas < 1) return Outcome<IReadOnlyList<ScaleDownView>>.Invalid("replicas", "a shard keeps at least 1 member");
        var requests = new List<ScaleDownView>();
        foreach (var shardName in state.State.Members.Select(static m => m.Shard).Distinct().Order(StringComparer.Ordinal))
        {
            var shard = await GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(Name, shardName)).GetViewAsync();
            var members = shard.Members.ToList();
            var probes = await Task.WhenAll(members.Select(m => GrainFactory.GetGrain<IInstanceGrain>(m.InstanceId).ProbeAsync()));
            var statuses = members.Zip(probes).Select(static p => new Domain.ScaleDown.ShardMemberStatus(p.First.InstanceId,
                p.First.Role == "primary" ? Domain.ScaleDown.MemberRole.Primary : Domain.ScaleDown.MemberRole.Replica,
                p.First.HostId, p.First.Zone, p.First.Rack, p.Second.ReplicationLagSeconds, p.Second.OpenConnections, p.Second.Reachable)).ToList();
            var rule = Mapping.ToRule(shard.Spread ?? SpreadSpec.HostHard);
            while (statuses.Count > replicas)
            {
                var victim = Domain.ScaleDown.ScaleDownChoice.ChooseMemberToRemove(new Domain.ScaleDown.ShardSnapshot(Name, shardName, statuses, 1, rule))!;
                statuses.Remove(victim);
                var requestId = "sd-" + Guid.NewGuid().ToString("N")[..12];
                var outcome = await GrainFactory.GetGrain<IScaleDownGrain>(requestId).CreateAsync(victim.InstanceId, requestedBy);
                if (!outcome.Ok) return Outcome<IReadOnlyList<ScaleDownView>>.Fail(outcome.Kind, outcome.Error!);
                requests.Add(outcome.Value!);
            }
        }
        return Outcome<IReadOnlyList<ScaleDownView>>.Success(requests);
    }

    private static InstanceSpec SpecOf(InstanceSpec template, ClusterMember m, SpreadSpec spread) =>
        template with { Shard = m.Shard, Role = m.Role, Spread = spread };

    private async Task ReleaseAsync(IEnumerable<ClusterMember> members)
    {
        foreach (var m in members) await GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(Name, m.Shard)).ReleaseMemberAsync(m.InstanceId, m.HostId);
    }

    /// <summary>
    /// The members placed at creation, then any member its shards took in since (an evacuation's replacement): after
    /// the hand-over the shards, not this grain, record who joins.
    /// </summary>
    private async Task<IReadOnlyList<ClusterMember>> MembersNowAsync()
    {
        if (state.State.Stage != ClusterStage.Provisioning) return state.State.Members;
        var known = state.State.Members.Select(static m => m.InstanceId).ToHashSet(StringComparer.Ordinal);
        var members = new List<ClusterMember>(state.State.Members);
        foreach (var shardName in state.State.Members.Select(static m => m.Shard).Distinct().Order(StringComparer.Ordinal))
        {
            var shard = await GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(Name, shardName)).GetViewAsync();
            members.AddRange(shard.Members.Where(m => !known.Contains(m.InstanceId))
                .Select(m => new ClusterMember(shardName, m.InstanceId, m.Role, m.HostId, m.Zone, m.Rack)));
        }
        return members;
    }

    private async Task<ClusterView> ViewAsync()
    {
        var r = state.State.Request!;
        var listed = await MembersNowAsync();
        var views = await Task.WhenAll(listed.Select(m => GrainFactory.GetGrain<IInstanceGrain>(m.InstanceId).GetAsync()));
        var members = listed.Zip(views).Select(p =>
            new ClusterMemberView(p.First.Shard, p.First.InstanceId, p.First.Role, p.Second?.Host ?? p.First.HostId, p.Second?.State ?? "Reserving")).ToList();
        var overall = ClusterStages.Status(state.State.Stage, views.Select(static v => v.LifecycleState())).ToString();
        return new ClusterView(Name, overall, state.State.Reason, state.State.Template!.Pool, r.Shards ?? 0, r.Replicas ?? 0,
            r.Spread ?? SpreadSpec.HostHard, members, state.State.CreatedAt);
    }
}
