namespace DbProvisioner.Contracts;

[GenerateSerializer, Immutable, Alias("dbprov.RiskItemView")]
public sealed record RiskItemView([property: Id(0)] string Code, [property: Id(1)] string Severity, [property: Id(2)] string Message);

[GenerateSerializer, Immutable, Alias("dbprov.ScaleDownDecisionView")]
public sealed record ScaleDownDecisionView(
    [property: Id(0)] string By,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] string Decision,
    [property: Id(3)] IReadOnlyList<string> Acknowledged,
    [property: Id(4)] string? Reason);

[GenerateSerializer, Immutable, Alias("dbprov.ScaleDownView")]
public sealed record ScaleDownView(
    [property: Id(0)] string Id,
    [property: Id(1)] string State,
    [property: Id(2)] string InstanceId,
    [property: Id(3)] string Cluster,
    [property: Id(4)] string Shard,
    [property: Id(5)] string Role,
    [property: Id(6)] string? Host,
    [property: Id(7)] long InstanceVersion,
    [property: Id(8)] IReadOnlyList<RiskItemView> Risks,
    [property: Id(9)] string RequestedBy,
    [property: Id(10)] DateTimeOffset CreatedAt,
    [property: Id(11)] DateTimeOffset ExpiresAt,
    [property: Id(12)] ScaleDownDecisionView? Decision,
    [property: Id(13)] IReadOnlyList<StepView> Steps,
    [property: Id(14)] string? Reason)
{
    public bool HasBlockingRisk => Risks.Any(static r => r.Severity == "Blocking");
}

[GenerateSerializer, Immutable, Alias("dbprov.ScaleDownSummary")]
public sealed record ScaleDownSummary(
    [property: Id(0)] string Id,
    [property: Id(1)] string State,
    [property: Id(2)] string InstanceId,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset ExpiresAt);

/// <summary>Body of POST /scale-downs/{id}/approve: the blocking risks the approver acknowledges by code.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.ApproveScaleDownRequest")]
public sealed record ApproveScaleDownRequest([property: Id(0)] IReadOnlyList<string>? Acknowledge = null);

[GenerateSerializer, Immutable, Alias("dbprov.RejectScaleDownRequest")]
public sealed record RejectScaleDownRequest([property: Id(0)] string? Reason);

[GenerateSerializer, Immutable, Alias("dbprov.ShrinkClusterRequest")]
public sealed record ShrinkClusterRequest([property: Id(0)] int? Replicas);

/// <summary>A member of a shard as its shard grain records it.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.ShardMemberView")]
public sealed record ShardMemberView(
    [property: Id(0)] string InstanceId,
    [property: Id(1)] string Role,
    [property: Id(2)] string HostId,
    [property: Id(3)] string Zone,
    [property: Id(4)] string Rack);

[GenerateSerializer, Immutable, Alias("dbprov.ShardView")]
public sealed record ShardView([property: Id(0)] string Key, [property: Id(1)] SpreadSpec? Spread, [property: Id(2)] IReadOnlyList<ShardMemberView> Members);

/// <summary>What an instance's MySQL reports, for the risk report; Reachable false when it did not answer.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.InstanceProbe")]
public sealed record InstanceProbe(
    [property: Id(0)] bool Reachable,
    [property: Id(1)] int OpenConnections,
    [property: Id(2)] double? ReplicationLagSeconds,
    [property: Id(3)] string? Error);

/// <summary>
/// One scale-down request (key: request id): the gate before any removal. Approved only by someone
/// other than the requester, bound to the instance's state version; replaying an approval changes nothing.
/// </summary>
[Alias("dbprov.IScaleDownGrain")]
public interface IScaleDownGrain : IGrainWithStringKey
{
    [Alias("Create")] Task<Outcome<ScaleDownView>> CreateAsync(string instanceId, string requestedBy);
    [Alias("Get")] Task<ScaleDownView?> GetAsync();
    [Alias("Approve")] Task<Outcome<ScaleDownView>> ApproveAsync(string approvedBy, IReadOnlyList<string> acknowledged);
    [Alias("Reject")] Task<Outcome<ScaleDownView>> RejectAsync(string rejectedBy, string reason);
    [Alias("Resume")] Task ResumeAsync();
    [Alias("InstanceRemoved")] Task InstanceRemovedAsync(bool succeeded, string? reason);
    [Alias("WaitSettled"), Orleans.Concurrency.AlwaysInterleave] Task<ScaleDownView?> WaitSettledAsync(TimeSpan timeout);
}
