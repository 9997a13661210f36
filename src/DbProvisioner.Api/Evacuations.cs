using Orleans;

namespace DbProvisioner.Api;

// API v1 evacuations: POST /hosts/{id}/evacuate and GET /hosts/{id}/evacuation.

/// <summary>
/// One instance of an evacuation: its replacement (a new member of the same shard, same spec) and the scale-down
/// request that removes the old instance once the replacement is Ready and a second person approved it.
/// </summary>
[GenerateSerializer, Immutable, Alias("dbprov.EvacueeView")]
public sealed record EvacueeView(
    string InstanceId,
    string? InstanceState,
    string ReplacementId,
    string ReplacementHost,
    string? ReplacementState,
    string? ScaleDownId,
    string? ScaleDownState,
    string Phase,
    string? Reason);

/// <summary>A host's evacuation: Evacuating, Evacuated (every old instance removed) or Incomplete, and each instance's progress.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.EvacuationView")]
public sealed record EvacuationView(
    string HostId,
    string State,
    string RequestedBy,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<EvacueeView> Instances);
