using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

/// <summary>One instance of an evacuation as stored: where its replacement goes, with what spec, and its scale-down request once opened.</summary>
[GenerateSerializer, Alias("dbprov.Evacuee")]
public sealed record EvacueeRecord(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] string ReplacementId,
    [property: Id(2)] InstanceSpec ReplacementSpec,
    [property: Id(3)] string HostId,
    [property: Id(4)] string Zone,
    [property: Id(5)] string Rack,
    [property: Id(6)] string? ScaleDownId = null,
    [property: Id(7)] string? Reason = null,
    [property: Id(8)] bool ScaleDownRefused = false);

[GenerateSerializer, Alias("dbprov.EvacuationGrainState")]
public sealed class EvacuationGrainState
{
    /// <summary>"" (never evacuated), Evacuating, or the end it reached (Evacuated, Incomplete).</summary>
    [Id(0)] public string State { get; set; } = "";
    [Id(1)] public string RequestedBy { get; set; } = "";
    [Id(2)] public DateTimeOffset StartedAt { get; set; }
    [Id(3)] public DateTimeOffset? FinishedAt { get; set; }
    [Id(4)] public List<EvacueeRecord> Instances { get; set; } = [];
}

/// <summary>
/// Gather (the host's instances, their shards, the pool's capacity) → decide (<see cref="EvacuationPlan"/>, all or
/// nothing) → one write → act (cordon, reserve each replacement through its shard, provision it). Then, as each
/// replacement becomes Ready, the old instance's scale-down request is opened through the existing gate (risk report,
/// two-person approval): the old instance is removed only after its replacement is Ready and the removal approved. A
/// replacement that fails is reported and its old instance stays.
/// </summary>
public sealed class EvacuationGrain(
    [PersistentState("evacuation")] IPersistentState<EvacuationGrainState> state,
    IAuditSink audit,
    TimeProvider clock,
    ILogger<EvacuationGrain> logger) : Grain, IEvacuationGrain
{
    /// <summary>How often an evacuation under way looks at its replacements (a GET looks too).</summary>
    public static readonly TimeSpan WatchPeriod = TimeSpan.FromSeconds(2);

    private IGrainTimer? _watch;

    private string HostId => this.GetPrimaryKeyString();
    private EvacuationGrainState S => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.State == EvacuationProgress.Evacuating) Watch();
        return Task.CompletedTask;
    }

    public async Task<Outcome<EvacuationView>> EvacuateAsync(string requestedBy)
    {
        // Asked again while under way: the same evacuation. Once it ended, only instances still (or newly) on the host start another.
        await AdvanceAsync();
        if (S.State == EvacuationProgress.Evacuating) return Outcome<EvacuationView>.Success(await ViewAsync());

        var host = await GrainFactory.GetGrain<IHostGrain>(HostId).GetAsync();
        if (host is null) return Outcome<EvacuationView>.Fail(OutcomeKind.NotFound, $"host {HostId} does not exist");

        // Gather: the instances to move (one being removed already is leaving anyway) and their shards.
        var instances = await Task.WhenAll(host.Instances.Select(i => GrainFactory.GetGrain<IInstanceGrain>(i.Id).GetAsync()));
        var moving = new List<InstanceView>();
        foreach (var instance in instances.OfType<InstanceView>())
        {
            if (instance.RemovalRequestId is not null || instance.State == nameof(InstanceState.Failed)) continue;
            if (instance.State != nameof(InstanceState.Ready))
                return Outcome<EvacuationView>.Fail(OutcomeKind.Conflict,
                    $"instance {instance.Id} on host {HostId} is {instance.State}: only Ready instances can be moved; evacuate once it is Ready or Failed, nothing was changed");
            moving.Add(instance);
        }
        // An instance that already has a Ready replacement from the last evacuation (its removal was not approved) gets no second one.
        foreach (var e in S.Instances)
            if ((await GrainFactory.GetGrain<IInstanceGrain>(e.ReplacementId).GetAsync())?.State == nameof(InstanceState.Ready))
                moving.RemoveAll(i => i.Id == e.InstanceId);
        if (S.State.Length > 0 && moving.Count == 0) return Outcome<EvacuationView>.Success(await ViewAsync());
        var evacuees = new List<Evacuee>();
        var specs = new Dictionary<string, InstanceSpec>(StringComparer.Ordinal);
        foreach (var instance in moving.OrderBy(static i => i.Id, StringComparer.Ordinal))
        {
            var shard = await GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(instance.Spec.Cluster, instance.Spec.Shard)).GetViewAsync();
            var replacementId = "i-" + Guid.NewGuid().ToString("N")[..10];
            // A standalone instance is the only member of a shard named after it: its replacement is standalone too.
            var spec = instance.Spec.Shard == instance.Id ? instance.Spec with { Shard = replacementId } : instance.Spec;
            specs[instance.Id] = spec;
            var members = shard.Members.Select(static m => new MemberLocation(m.InstanceId, m.HostId, m.Zone, m.Rack)).ToList();
            if (spec.Shard != instance.Spec.Shard) members = [];
            var context = new ShardContext(spec.Cluster, spec.Shard, Mapping.ToRule(shard.Spread ?? spec.Spread), members);
            evacuees.Add(new Evacuee(instance.Id, Mapping.ToRequest(replacementId, spec), context));
        }

        // Decide: a replacement for every instance, or nothing changes.
        var capacity = await GrainFactory.GetGrain<IPlacementGrain>(host.Pool).SnapshotAsync();
        var plan = EvacuationPlan.Plan(HostId, host.Pool, capacity, evacuees, PlacementOptions.FullScan);
        if (!plan.Planned)
        {
            await AuditAsync(requestedBy, "host.evacuate", "refused", plan.Reason);
            return Outcome<EvacuationView>.Fail(OutcomeKind.Conflict, $"host {HostId} cannot be evacuated: {plan.Reason}");
        }

        S.State = evacuees.Count == 0 ? EvacuationProgress.Evacuated : EvacuationProgress.Evacuating;
        S.RequestedBy = requestedBy;
        S.StartedAt = clock.GetUtcNow();
        S.FinishedAt = evacuees.Count == 0 ? S.StartedAt : null;
        S.Instances = [.. plan.Replacements.Select(p => new EvacueeRecord(p.InstanceId, p.ReplacementId, specs[p.InstanceId], p.HostId, p.Zone, p.Rack))];
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        await AuditAsync(requestedBy, "host.evacuate", "ok", null, new()
        {
            ["replacements"] = string.Join(",", S.Instances.Select(static i => $"{i.InstanceId}->{i.ReplacementId}@{i.HostId}")),
        });

        // Act: no new placements here from now on, then the replacements.
        await GrainFactory.GetGrain<IHostGrain>(HostId).CordonAsync(true);
        await ProvisionReplacementsAsync();
        if (S.State == EvacuationProgress.Evacuating) Watch();
        logger.LogInformation("Evacuation of host {HostId}: {Count} replacement(s) planned", HostId, S.Instances.Count);
        return Outcome<EvacuationView>.Success(await ViewAsync());
    }

    public async Task<EvacuationView?> GetAsync()
    {
        if (S.State.Length == 0) return null;
        await AdvanceAsync();
        return await ViewAsync();
    }

    public async Task ResumeAsync()
    {
        if (S.State != EvacuationProgress.Evacuating) return;
        await ProvisionReplacementsAsync();
        await AdvanceAsync();
        if (S.State == EvacuationProgress.Evacuating) Watch();
    }

    /// <summary>Reserves and provisions every replacement not yet handed to its instance; idempotent, so a crash half-way is finished on resume.</summary>
    private async Task ProvisionReplacementsAsync()
    {
        var refused = false;
        for (var i = 0; i < S.Instances.Count; i++)
        {
            var e = S.Instances[i];
            if (e.Reason is not null || e.ScaleDownId is not null) continue;
            var replacement = GrainFactory.GetGrain<IInstanceGrain>(e.ReplacementId);
            if (await replacement.GetAsync() is not null) continue;
            var planned = new MemberLocation(e.ReplacementId, e.HostId, e.Zone, e.Rack);
            var outcome = await GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(e.ReplacementSpec.Cluster, e.ReplacementSpec.Shard))
                .ReserveReplacementAsync(e.ReplacementSpec, Mapping.ToRequest(e.ReplacementId, e.ReplacementSpec), planned, e.InstanceId);
            if (outcome is { Reservation: { } reservation, Location: { } location })
            {
                await replacement.ProvisionPlacedAsync(e.ReplacementSpec, S.RequestedBy, reservation, location);
                continue;
            }
            S.Instances[i] = e with { Reason = $"replacement {e.ReplacementId} could not be reserved on host {e.HostId}: {outcome.Reason}" };
            refused = true;
        }
        if (refused) await state.WriteOrReloadAsync(DeactivateOnIdle);
    }

    /// <summary>
    /// Gather (each replacement, each scale-down request) → decide (<see cref="EvacuationProgress"/>) → one write when
    /// something changed: a scale-down request opened for a Ready replacement, a failed replacement reported, the end.
    /// </summary>
    private async Task AdvanceAsync()
    {
        if (S.State != EvacuationProgress.Evacuating) return;
        var changed = false;
        var opened = new List<EvacueeRecord>();
        var phases = new List<EvacueePhase>();
        for (var i = 0; i < S.Instances.Count; i++)
        {
            var e = S.Instances[i];
            var replacement = await GrainFactory.GetGrain<IInstanceGrain>(e.ReplacementId).GetAsync();
            var request = e.ScaleDownId is null ? null : await GrainFactory.GetGrain<IScaleDownGrain>(e.ScaleDownId).GetAsync();
            var phase = EvacuationProgress.PhaseOf(replacement?.State, request?.State, e.Reason is not null && !e.ScaleDownRefused, e.ScaleDownRefused);
            if (phase == EvacueePhase.ReplacementFailed && e.Reason is null)
            {
                e = S.Instances[i] = e with { Reason = $"replacement {e.ReplacementId} failed: {replacement?.Reason ?? "no reason given"}; instance {e.InstanceId} stays" };
                changed = true;
            }
            else if (phase == EvacueePhase.OpenScaleDown)
            {
                // One request per old instance, named after its replacement, so that opening it again finds it.
                var id = "sd-" + e.ReplacementId;
                var outcome = await GrainFactory.GetGrain<IScaleDownGrain>(id).CreateAsync(e.InstanceId, S.RequestedBy);
                e = S.Instances[i] = outcome.Ok
                    ? e with { ScaleDownId = id }
                    : e with { Reason = $"scale-down request for instance {e.InstanceId} not opened: {outcome.Error}", ScaleDownRefused = true };
                phase = outcome.Ok ? EvacueePhase.AwaitingApproval : EvacueePhase.Stopped;
                if (outcome.Ok) opened.Add(e);
                changed = true;
            }
            phases.Add(phase);
        }

        var overall = EvacuationProgress.Overall(phases);
        if (overall != EvacuationProgress.Evacuating)
        {
            S.State = overall;
            S.FinishedAt = clock.GetUtcNow();
            changed = true;
        }
        if (!changed) return;
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        foreach (var e in opened)
            await AuditAsync("system", "host.evacuate.scale-down", "ok", null, new() { ["instance"] = e.InstanceId, ["replacement"] = e.ReplacementId, ["scaleDown"] = e.ScaleDownId! });
        if (S.State != EvacuationProgress.Evacuating)
        {
            _watch?.Dispose();
            _watch = null;
            await AuditAsync("system", "host.evacuated", S.State == EvacuationProgress.Evacuated ? "ok" : "incomplete",
                S.State == EvacuationProgress.Evacuated ? null : string.Join("; ", S.Instances.Select(static e => e.Reason).OfType<string>()));
        }
    }

    private void Watch() =>
        _watch ??= this.RegisterGrainTimer(_ => AdvanceAsync(), new GrainTimerCreationOptions(WatchPeriod, WatchPeriod) { KeepAlive = true });

    private async Task<EvacuationView> ViewAsync()
    {
        var items = await Task.WhenAll(S.Instances.Select(async e =>
        {
            var old = await GrainFactory.GetGrain<IInstanceGrain>(e.InstanceId).GetAsync();
            var replacement = await GrainFactory.GetGrain<IInstanceGrain>(e.ReplacementId).GetAsync();
            var request = e.ScaleDownId is null ? null : await GrainFactory.GetGrain<IScaleDownGrain>(e.ScaleDownId).GetAsync();
            var phase = EvacuationProgress.PhaseOf(replacement?.State, request?.State, e.Reason is not null && !e.ScaleDownRefused, e.ScaleDownRefused);
            return new EvacueeView(e.InstanceId, old?.State, e.ReplacementId, e.HostId, replacement?.State, e.ScaleDownId, request?.State,
                phase.ToString(), e.Reason ?? request?.Reason);
        }));
        return new EvacuationView(HostId, S.State, S.RequestedBy, S.StartedAt, S.FinishedAt, items);
    }

    private async Task AuditAsync(string actor, string action, string outcome, string? detail = null, Dictionary<string, string>? details = null)
    {
        try
        {
            await audit.AppendAsync(new AuditEvent(actor, action, "host", HostId, outcome, null, null, details, detail), CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError("Evacuation of host {HostId}: audit row for {Action} not written: {Error}", HostId, action, e.Message);
        }
    }
}
