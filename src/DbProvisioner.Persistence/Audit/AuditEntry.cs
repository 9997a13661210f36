using System.Text.Json;

namespace DbProvisioner.Persistence.Audit;

/// <summary>
/// One thing that happened, to be appended: who (<paramref name="Actor"/>), what (<paramref name="Action"/>,
/// e.g. <c>scale-down.approve</c>), to which subject, and how it ended (<paramref name="Outcome"/>, e.g.
/// <see cref="AuditOutcomes.Succeeded"/>). Never put a secret in any field. An <paramref name="EventKey"/> makes the
/// append idempotent: a second append with the same key writes nothing.
/// </summary>
public sealed record AuditEntry(
    string Actor,
    string Action,
    string SubjectType,
    string SubjectId,
    string Outcome,
    string? RequestId = null,
    long? StateVersion = null,
    JsonElement? Details = null,
    string? EventKey = null);

/// <summary>An appended audit row.</summary>
public sealed record AuditRecord(
    long Id,
    DateTimeOffset At,
    string Actor,
    string Action,
    string SubjectType,
    string SubjectId,
    string Outcome,
    string? RequestId,
    long? StateVersion,
    JsonElement? Details);

/// <summary>Filters for <see cref="AuditLog.QueryAsync"/>; every filter set must match. Rows come oldest first.</summary>
public sealed record AuditQuery
{
    public const int MaximumLimit = 1000;

    public string? Actor { get; init; }

    public string? Action { get; init; }

    public string? SubjectType { get; init; }

    public string? SubjectId { get; init; }

    public string? RequestId { get; init; }

    /// <summary>Inclusive lower bound on <see cref="AuditRecord.At"/>.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Exclusive upper bound on <see cref="AuditRecord.At"/>.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Only rows with a greater id: the paging cursor (the last id of the previous page).</summary>
    public long? AfterId { get; init; }

    public int Limit { get; init; } = 100;
}

/// <summary>The outcomes the appliance writes; other words are allowed.</summary>
public static class AuditOutcomes
{
    public const string Requested = "requested";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Refused = "refused";
}
