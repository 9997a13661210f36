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

/// <summary>
/// One scale-down request (key: request id): the gate before any removal. Approved only by someone
/// other than the requester, bound to the instance's state version; replaying an approval changes nothing.
/// </summary>
[Alias("dbprov.IScaleDownGrain")]
public interface IScaleDownGrain : IGrainWithStringKey
{
    [Alias("Create")] Task<Outcome<ScaleDownView>> CreateAsync(string instanceId, string requestedBy);
    [Alias("Get"), Orleans.Concurrency.AlwaysInterleave] Task<ScaleDownView?> GetAsync();
    [Alias("Approve")] Task<Outcome<ScaleDownView>> ApproveAsync(string approvedBy, IReadOnlyList<string> acknowledged);
    [Alias("Reject")] Task<Outcome<ScaleDownView>> RejectAsync(string rejectedBy, string reason);
    [Alias("Resume")] Task ResumeAsync();
    [Alias("InstanceRemoved")] Task InstanceRemovedAsync(bool succeeded, string? reason);
    [Alias("WaitSettled"), Orleans.Concurrency.AlwaysInterleave] Task<ScaleDownView?> WaitSettledAsync(TimeSpan timeout);
}
