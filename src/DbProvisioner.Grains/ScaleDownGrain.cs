using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Instances;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.ScaleDown;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Grains;

[GenerateSerializer, Alias("dbprov.ScaleDownGrainState")]
public sealed class ScaleDownGrainState
{
    [Id(0)] public string State { get; set; } = "";
    [Id(1)] public string InstanceId { get; set; } = "";
    [Id(2)] public string Cluster { get; set; } = "";
    [Id(3)] public string Shard { get; set; } = "";
    [Id(4)] public string Role { get; set; } = "";
    [Id(5)] public string? Host { get; set; }
    [Id(6)] public long BoundVersion { get; set; }
    [Id(7)] public List<RiskItemView> Risks { get; set; } = [];
    [Id(8)] public string RequestedBy { get; set; } = "";
    [Id(9)] public DateTimeOffset CreatedAt { get; set; }
    [Id(10)] public DateTimeOffset ExpiresAt { get; set; }
    [Id(11)] public ScaleDownDecisionView? Decision { get; set; }
    [Id(12)] public List<StepView> Steps { get; set; } = [];
    [Id(13)] public string? Reason { get; set; }
}

/// <summary>Scale-down request states (DESIGN.md): Pending → Approved → Draining → Removed, or Rejected, Expired, Failed, Superseded.</summary>
public static class ScaleDownStates
{
    public const string Pending = "Pending";
    public const string Approved = "Approved";
    public const string Draining = "Draining";
    public const string Removed = "Removed";
    public const string Rejected = "Rejected";
    public const string Expired = "Expired";
    public const string Failed = "Failed";
    /// <summary>Ended unapproved: its instance went away or changed, so the bound version can never match (see S.Reason).</summary>
    public const string Superseded = "Superseded";
}

/// <summary>
/// The confirmation gate before any removal. Nothing changes on a host before approval; the
/// approval must come from someone other than the requester, acknowledge every blocking risk by
/// its code, and find the instance at the state version the risk was assessed on.
/// </summary>
public sealed class ScaleDownGrain(
    [PersistentState("scaledown")] IPersistentState<ScaleDownGrainState> state,
    IAuditSink audit,
    IOptions<ProvisioningOptions> options,
    TimeProvider clock,
    ILogger<ScaleDownGrain> logger) : Grain, IScaleDownGrain
{
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string Id => this.GetPrimaryKeyString();
    private ScaleDownGrainState S => state.State;

    public async Task<Outcome<ScaleDownView>> CreateAsync(string instanceId, string requestedBy)
    {
        if (S.State.Length > 0)
        {
            return S.InstanceId == instanceId && S.RequestedBy == requestedBy
                ? Outcome<ScaleDownView>.Success(View())
                : Outcome<ScaleDownView>.Fail(OutcomeKind.Conflict, $"scale-down request {Id} already exists");
        }
        var instanceGrain = GrainFactory.GetGrain<IInstanceGrain>(instanceId);
        var instance = await instanceGrain.GetAsync();
        if (instance is null) return Outcome<ScaleDownView>.Fail(OutcomeKind.NotFound, $"instance {instanceId} does not exist");
        if (instance.LifecycleState() is not { } current || !InstanceLifecycle.CanPlanRemoval(current))
            return Outcome<ScaleDownView>.Fail(OutcomeKind.Conflict, $"instance {instanceId} is {instance.State}: only a Ready or Failed instance can be removed");

        var risks = current == InstanceState.Failed
            ? [] // a failed instance holds no data and no resources
            : await AssessAsync(instance);

        S.State = ScaleDownStates.Pending;
        S.InstanceId = instanceId;
        S.Cluster = instance.Spec.Cluster;
        S.Shard = instance.Spec.Shard;
        S.Role = instance.Spec.Role;
        S.Host = instance.Host;
        S.BoundVersion = instance.Version;
        S.Risks = risks;
        S.RequestedBy = requestedBy;
        S.CreatedAt = clock.GetUtcNow();
        S.ExpiresAt = S.CreatedAt + options.Value.ScaleDownExpiry;
        S.Steps.Add(new StepView(ScaleDownStates.Pending, S.CreatedAt, 0, $"{risks.Count(static r => r.Severity == RiskSeverity.Blocking)} blocking risk(s), {risks.Count(static r => r.Severity != RiskSeverity.Blocking)} warning(s)"));
        await PersistAsync();
        await AuditAsync(requestedBy, "scale-down.request", "ok", null, new() { ["risks"] = string.Join(",", risks.Select(static r => WireName.Of(r.Code))) });
        return Outcome<ScaleDownView>.Success(View());
    }

    public async Task<ScaleDownView?> GetAsync()
    {
        if (S.State.Length == 0) return null;
        if (!await ExpireIfDueAsync()) await SupersedeIfStaleAsync();
        return View();
    }

    public async Task<Outcome<ScaleDownView>> ApproveAsync(string approvedBy, IReadOnlyList<RiskCode> acknowledged)
    {
        ArgumentNullException.ThrowIfNull(acknowledged);
        if (S.State.Length == 0) return Outcome<ScaleDownView>.Fail(OutcomeKind.NotFound, $"scale-down request {Id} does not exist");
        if (S.State != ScaleDownStates.Pending)
        {
            // Approving twice changes nothing.
            if (S.Decision is { Decision: "approved" } d && d.By == approvedBy) return Outcome<ScaleDownView>.Success(View());
            return Outcome<ScaleDownView>.Fail(OutcomeKind.Conflict, $"scale-down request {Id} is {S.State}{(S.Reason is null ? "" : ": " + S.Reason)}");
        }
        if (await ExpireIfDueAsync())
            return Outcome<ScaleDownView>.Fail(OutcomeKind.Conflict, $"scale-down request {Id} expired at {S.ExpiresAt:u}");
        if (await SupersedeIfStaleAsync())
            return Outcome<ScaleDownView>.Fail(OutcomeKind.Conflict, $"scale-down request {Id} is {S.State}: {S.Reason}");
        if (approvedBy == S.RequestedBy)
        {
            await AuditAsync(approvedBy, "scale-down.approve", "refused", "the requester cannot approve their own request");
            return Outcome<ScaleDownView>.Fail(OutcomeKind.Forbidden, "the requester of a scale-down cannot approve it: another approver must");
        }
        var missing = S.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code)
            .Where(code => !acknowledged.Contains(code)).Distinct().ToList();
        if (missing.Count > 0)
        {
            await AuditAsync(approvedBy, "scale-down.approve", "refused", "unacknowledged risks " + string.Join(",", missing.Select(WireName.Of)));
            return Outcome<ScaleDownView>.Invalid("acknowledge",
                $"the approval must acknowledge every blocking risk by its code; missing: {string.Join(", ", missing.Select(WireName.Of))} ("
                + string.Join("; ", S.Risks.Where(r => missing.Contains(r.Code)).Select(static r => r.Message)) + ")");
        }

        var now = clock.GetUtcNow();
        S.State = ScaleDownStates.Approved;
        S.Decision = new ScaleDownDecisionView(approvedBy, now, "approved", [.. acknowledged], null);
        S.Steps.Add(new StepView(ScaleDownStates.Approved, now, 0, $"approved by {approvedBy}"));
        await PersistAsync();
        await AuditAsync(approvedBy, "scale-down.approve", "ok", null, new() { ["acknowledged"] = string.Join(",", acknowledged.Select(WireName.Of)) });
        await StartRemovalAsync();
        return Outcome<ScaleDownView>.Success(View());
    }

    public async Task<Outcome<ScaleDownView>> RejectAsync(string rejectedBy, string reason)
    {
        if (S.State.Length == 0) return Outcome<ScaleDownView>.Fail(OutcomeKind.NotFound, $"scale-down request {Id} does not exist");
        if (S.State == ScaleDownStates.Rejected && S.Decision?.By == rejectedBy) return Outcome<ScaleDownView>.Success(View());
        if (S.State != ScaleDownStates.Pending) return Outcome<ScaleDownView>.Fail(OutcomeKind.Conflict, $"scale-down request {Id} is {S.State}");
        if (await ExpireIfDueAsync()) return Outcome<ScaleDownView>.Fail(OutcomeKind.Conflict, $"scale-down request {Id} expired at {S.ExpiresAt:u}");
        var now = clock.GetUtcNow();
        S.State = ScaleDownStates.Rejected;
        S.Decision = new ScaleDownDecisionView(rejectedBy, now, "rejected", [], reason);
        S.Steps.Add(new StepView(ScaleDownStates.Rejected, now, 0, $"rejected by {rejectedBy}: {reason}"));
        await PersistAsync();
        await AuditAsync(rejectedBy, "scale-down.reject", "ok", null, new() { ["reason"] = reason });
        return Outcome<ScaleDownView>.Success(View());
    }

    public async Task ResumeAsync()
    {
        if (S.State is ScaleDownStates.Approved) await StartRemovalAsync();
        else if (S.State is ScaleDownStates.Draining)
        {
            var instance = await GrainFactory.GetGrain<IInstanceGrain>(S.InstanceId).GetAsync();
            if (instance.LifecycleState() == InstanceState.Removed) await InstanceRemovedAsync(true, null);
            else await GrainFactory.GetGrain<IInstanceGrain>(S.InstanceId).ResumeAsync();
        }
    }

    public async Task InstanceRemovedAsync(bool succeeded, string? reason)
    {
        if (S.State is ScaleDownStates.Removed or ScaleDownStates.Failed) return;
        var now = clock.GetUtcNow();
        S.State = succeeded ? ScaleDownStates.Removed : ScaleDownStates.Failed;
        S.Reason = reason;
        S.Steps.Add(new StepView(S.State, now, (now - (S.Decision?.At ?? now)).TotalMilliseconds, succeeded ? "instance removed, disk recycled" : reason ?? "failed"));
        await PersistAsync();
        await AuditAsync(S.Decision?.By ?? "system", "scale-down.removed", succeeded ? "ok" : "failed", succeeded ? null : reason);
        logger.LogInformation("Scale-down {RequestId}: instance {InstanceId} {Outcome}", Id, S.InstanceId, S.State);
    }

    public async Task<ScaleDownView?> WaitSettledAsync(TimeSpan timeout)
    {
        var deadline = clock.GetUtcNow() + timeout;
        while (S.State is ScaleDownStates.Approved or ScaleDownStates.Draining)
        {
            var left = deadline - clock.GetUtcNow();
            if (left <= TimeSpan.Zero) break;
            await Task.WhenAny(_changed.Task, Task.Delay(left, clock));
        }
        return S.State.Length == 0 ? null : View();
    }

    private async Task StartRemovalAsync()
    {
        var outcome = await GrainFactory.GetGrain<IInstanceGrain>(S.InstanceId).RemoveAsync(Id, S.BoundVersion, S.Decision!.By);
        if (!outcome.Ok)
        {
            S.State = ScaleDownStates.Failed;
            S.Reason = outcome.Error;
            S.Steps.Add(new StepView(ScaleDownStates.Failed, clock.GetUtcNow(), 0, outcome.Error ?? "refused"));
            await PersistAsync();
            await AuditAsync(S.Decision.By, "scale-down.removal", "refused", outcome.Error);
            return;
        }
        if (S.State == ScaleDownStates.Approved)
        {
            S.State = ScaleDownStates.Draining;
            S.Steps.Add(new StepView(ScaleDownStates.Draining, clock.GetUtcNow(), 0, "draining"));
            await PersistAsync();
        }
    }

    /// <summary>Gather (shard members, their MySQL status) → decide (the Domain's risk rules).</summary>
    private async Task<List<RiskItemView>> AssessAsync(InstanceView instance)
    {
        var shard = await GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(instance.Spec.Cluster, instance.Spec.Shard)).GetViewAsync();
        var members = shard.Members.ToList();
        if (members.All(m => m.InstanceId != instance.Id) && instance.Host is not null)
            members.Add(new ShardMemberView(instance.Id, instance.Spec.Role, instance.Host, "", ""));
        var probes = await Task.WhenAll(members.Select(m => GrainFactory.GetGrain<IInstanceGrain>(m.InstanceId).ProbeAsync()));
        var statuses = members.Zip(probes).Select(p => new ShardMemberStatus(
            p.First.InstanceId,
            p.First.Role == "primary" ? MemberRole.Primary : MemberRole.Replica,
            p.First.HostId, p.First.Zone, p.First.Rack,
            p.Second.ReplicationLagSeconds,
            p.Second.OpenConnections,
            p.Second.Reachable)).ToList();
        var spread = shard.Spread ?? instance.Spec.Spread;
        var minimum = Math.Min(2, statuses.Count);
        var snapshot = new ShardSnapshot(instance.Spec.Cluster, instance.Spec.Shard, statuses, minimum, Mapping.ToRule(spread));
        var report = ScaleDownRisk.Assess(snapshot, instance.Id, new RiskThresholds(options.Value.MaxReplicationLagSeconds, 0));
        return [.. report.Items.Select(static i => new RiskItemView(i.Code, i.Severity, i.Message))];
    }

    /// <summary>Gather (the instance now) → decide (the Domain's supersede rule) → one write and one audit row when the request can never be approved.</summary>
    private async Task<bool> SupersedeIfStaleAsync()
    {
        if (S.State != ScaleDownStates.Pending) return false;
        var instance = await GrainFactory.GetGrain<IInstanceGrain>(S.InstanceId).GetAsync();
        var reason = ScaleDownSupersede.Reason(new PendingScaleDown(Id, S.InstanceId, S.BoundVersion),
            instance is null ? null : new InstanceNow(instance.Version, instance.LifecycleState() == InstanceState.Removed, instance.RemovalRequestId));
        if (reason is null) return false;
        S.State = ScaleDownStates.Superseded;
        S.Reason = reason;
        S.Steps.Add(new StepView(ScaleDownStates.Superseded, clock.GetUtcNow(), 0, reason));
        await PersistAsync();
        await AuditAsync("system", "scale-down.supersede", "ok", reason);
        return true;
    }

    private async Task<bool> ExpireIfDueAsync()
    {
        if (S.State != ScaleDownStates.Pending || clock.GetUtcNow() < S.ExpiresAt) return false;
        S.State = ScaleDownStates.Expired;
        S.Steps.Add(new StepView(ScaleDownStates.Expired, clock.GetUtcNow(), 0, $"no decision by {S.ExpiresAt:u}"));
        await PersistAsync();
        await AuditAsync("system", "scale-down.expire", "ok");
        return true;
    }

    private async Task PersistAsync()
    {
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        await GrainFactory.For(Id).UpsertScaleDownAsync(new ScaleDownSummary(Id, S.State, S.InstanceId, S.CreatedAt, S.ExpiresAt));
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private async Task AuditAsync(string actor, string action, string outcome, string? detail = null, Dictionary<string, string>? details = null)
    {
        details ??= [];
        details["instance"] = S.InstanceId;
        try
        {
            await audit.AppendAsync(new AuditEvent(actor, action, "scale-down", Id, outcome, Id, S.BoundVersion, details, detail), CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError("Scale-down {RequestId}: audit row for {Action} not written: {Error}", Id, action, e.Message);
        }
    }

    private ScaleDownView View() => new(Id, S.State, S.InstanceId, S.Cluster, S.Shard, S.Role, S.Host, S.BoundVersion, [.. S.Risks],
        S.RequestedBy, S.CreatedAt, S.ExpiresAt, S.Decision, [.. S.Steps], S.Reason);
}
