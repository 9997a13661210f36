using System.Text.Json;
using System.Text.RegularExpressions;
using DbProvisioner.Grains;
using DbProvisioner.Persistence.Audit;

namespace DbProvisioner.Server.ScaleDown;

/// <summary>
/// The grains' audit trail written to the meta database's append-only <c>audit</c> table: the outcome word in the
/// (short) outcome column, the why in <c>details.outcomeDetail</c>; details are a JSON object of the event's strings,
/// and a detail named like a secret is dropped (with a warning naming only its key), never written.
/// </summary>
public sealed partial class MetaDbAuditSink(AuditLog log, ILogger<MetaDbAuditSink> logger) : IAuditSink
{
    public const int OutcomeLength = 32;

    public Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        return log.AppendAsync(ToEntry(auditEvent, key => LogSecretDropped(logger, auditEvent.Action, key)), cancellationToken);
    }

    /// <summary>The row for one event; <paramref name="secretDropped"/> hears the key of every detail refused as a secret.</summary>
    public static AuditEntry ToEntry(AuditEvent auditEvent, Action<string>? secretDropped = null)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        var outcome = string.IsNullOrWhiteSpace(auditEvent.Outcome) ? "unknown" : Truncate(auditEvent.Outcome.Trim(), OutcomeLength);
        var outcomeDetail = auditEvent.OutcomeDetail;
        var details = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in auditEvent.Details ?? new Dictionary<string, string>())
        {
            if (SecretName().IsMatch(key))
            {
                secretDropped?.Invoke(key);
                continue;
            }

            details[key] = value;
        }

        if (outcomeDetail is not null)
        {
            details["outcomeDetail"] = outcomeDetail;
        }

        JsonElement? json = details.Count == 0 ? null : JsonSerializer.SerializeToElement(details);
        return new AuditEntry(
            Truncate(auditEvent.Actor, 128),
            Truncate(auditEvent.Action, 64),
            Truncate(auditEvent.SubjectType, 64),
            Truncate(auditEvent.SubjectId, 256),
            outcome,
            auditEvent.RequestId is null ? null : Truncate(auditEvent.RequestId, 128),
            auditEvent.StateVersion,
            json,
            auditEvent.EventKey);
    }

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];

    [GeneratedRegex("passw|secret|token|api_?key|credential", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit {Action}: detail '{Key}' looks like a secret and was not written")]
    private static partial void LogSecretDropped(ILogger logger, string action, string key);
}
