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

[GenerateSerializer, Immutable, Alias("dbprov.RiskItemView")]
public sealed record RiskItemView(string Code, RiskSeverity Severity, string Message);

[GenerateSerializer, Immutable, Alias("dbprov.ScaleDownDecisionView")]
public sealed record ScaleDownDecisionView(
    string By,
    DateTimeOffset At,
    string Decision,
    IReadOnlyList<string> Acknowledged,
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
public sealed record ApproveScaleDownRequest(IReadOnlyList<string>? Acknowledge = null);

[GenerateSerializer, Immutable, Alias("dbprov.RejectScaleDownRequest")]
public sealed record RejectScaleDownRequest(string? Reason);
