using DbProvisioner.Api;

namespace DbProvisioner.Contracts;

[GenerateSerializer, Immutable, Alias("dbprov.ScaleDownSummary")]
public sealed record ScaleDownSummary(
    [property: Id(0)] string Id,
    [property: Id(1)] string State,
    [property: Id(2)] string InstanceId,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset ExpiresAt);

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
    [Alias("Approve")] Task<Outcome<ScaleDownView>> ApproveAsync(string approvedBy, IReadOnlyList<RiskCode> acknowledged);
    [Alias("Reject")] Task<Outcome<ScaleDownView>> RejectAsync(string rejectedBy, string reason);
    [Alias("Resume")] Task ResumeAsync();
    [Alias("InstanceRemoved")] Task InstanceRemovedAsync(bool succeeded, string? reason);
    [Alias("WaitSettled"), Orleans.Concurrency.AlwaysInterleave] Task<ScaleDownView?> WaitSettledAsync(TimeSpan timeout);
}
