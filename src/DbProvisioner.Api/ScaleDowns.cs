using System.Text.Json.Serialization;
using Orleans;

namespace DbProvisioner.Api;

// API v1 scale-down requests: the confirmation gate's views and the approver's bodies.

/// <summary>How much a risk of a removal weighs (DESIGN.md "Scale-down, step by step").</summary>
[GenerateSerializer, JsonConverter(typeof(DeclaredNames<RiskSeverity>))]
public enum RiskSeverity
{
    /// <summary>The approver must acknowledge it by its code.</summary>
    Blocking,
    /// <summary>Shown to the approver; no acknowledgement needed.</summary>
    Warning,
}

/// <summary>A risk of a removal, by the stable code an approval acknowledges it with (<c>"last-member"</c>).</summary>
[GenerateSerializer, JsonConverter(typeof(KebabCaseNames<RiskCode>))]
public enum RiskCode
{
    /// <summary>The instance is not a member of the shard it names.</summary>
    UnknownMember,
    /// <summary>The primary of a shard that has replicas: writes stop until one is promoted.</summary>
    PrimaryWithReplicas,
    /// <summary>The shard's last member: its data is gone once removed.</summary>
    LastMember,
    /// <summary>The shard keeps fewer healthy members than its minimum.</summary>
    BelowMinimum,
    /// <summary>Every remaining member is in one failure domain.</summary>
    SpreadBroken,
    /// <summary>The shard spans fewer failure domains.</summary>
    SpreadReduced,
    /// <summary>A remaining replica lags or does not replicate.</summary>
    ReplicationLag,
    /// <summary>Clients are still connected to the instance.</summary>
    OpenConnections,
}

[Immutable, Alias("dbprov.RiskItemView")]
public sealed record RiskItemView(RiskCode Code, RiskSeverity Severity, string Message);

[Immutable, Alias("dbprov.ScaleDownDecisionView")]
public sealed record ScaleDownDecisionView(
    string By,
    DateTimeOffset At,
    string Decision,
    IReadOnlyList<RiskCode> Acknowledged,
    string? Reason);

[GenerateSerializer, Immutable, Alias("dbprov.ScaleDownView")]
public sealed record ScaleDownView(
    string Id,
    string State,
    string InstanceId,
    string Cluster,
    string Shard,
    string Role,
    string? Host,
    long InstanceVersion,
    IReadOnlyList<RiskItemView> Risks,
    string RequestedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    ScaleDownDecisionView? Decision,
    IReadOnlyList<StepView> Steps,
    string? Reason)
{
    public bool HasBlockingRisk => Risks.Any(static r => r.Severity == RiskSeverity.Blocking);
}

/// <summary>Body of POST /scale-downs/{id}/approve: the blocking risks the approver acknowledges by code.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.ApproveScaleDownRequest")]
public sealed record ApproveScaleDownRequest(IReadOnlyList<RiskCode>? Acknowledge = null);

[GenerateSerializer, Immutable, Alias("dbprov.RejectScaleDownRequest")]
public sealed record RejectScaleDownRequest(string? Reason);
