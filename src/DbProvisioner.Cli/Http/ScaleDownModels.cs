namespace DbProvisioner.Cli.Http;

// The scale-down parts of API v1's JSON as the CLI reads and sends them.

public sealed record RiskItem(string Code, string Severity, string Message)
{
    public bool IsBlocking => string.Equals(Severity, "Blocking", StringComparison.OrdinalIgnoreCase);
}

public sealed record ScaleDownDecision(string By, DateTimeOffset At, string Decision, IReadOnlyList<string>? Acknowledged, string? Reason);

public sealed record ScaleDownView(
    string Id,
    string State,
    string InstanceId,
    string Cluster,
    string Shard,
    string Role,
    string? Host,
    long InstanceVersion,
    IReadOnlyList<RiskItem> Risks,
    string RequestedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    ScaleDownDecision? Decision,
    IReadOnlyList<StepView>? Steps,
    string? Reason)
{
    public IReadOnlyList<RiskItem> Blocking => [.. Risks.Where(r => r.IsBlocking)];
}

public sealed record ApproveScaleDownBody(IReadOnlyList<string> Acknowledge);

public sealed record RejectScaleDownBody(string Reason);
