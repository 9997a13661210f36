namespace DbProvisioner.Grains;

/// <summary>
/// One audit row: who did what to which subject, with what outcome (one word: ok, failed, refused…) and why
/// (<see cref="OutcomeDetail"/>), under which request and at which state version. Never a secret: details carry ids,
/// hosts, CPUs and reasons only. With an <see cref="EventKey"/> the trail writes the row once, however often it is sent.
/// </summary>
public sealed record AuditEvent(
    string Actor,
    string Action,
    string SubjectType,
    string SubjectId,
    string Outcome,
    string? RequestId = null,
    long? StateVersion = null,
    IReadOnlyDictionary<string, string>? Details = null,
    string? OutcomeDetail = null,
    string? EventKey = null);

/// <summary>The append-only audit trail (the meta database's audit table in the server).</summary>
public interface IAuditSink
{
    Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken);
}
