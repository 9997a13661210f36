using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

/// <summary>
/// An audit row waiting in a grain's state: written in the same state write as the change it records, then appended
/// to the audit trail under its <see cref="Key"/>, which the trail writes once however often it is sent (after a
/// crash, a lost answer or a meta-database restart), so each state change has exactly one row.
/// </summary>
[GenerateSerializer, Alias("dbprov.PendingAudit")]
public sealed record PendingAudit(
    [property: Id(0)] string Key,
    [property: Id(1)] string Actor,
    [property: Id(2)] string Action,
    [property: Id(3)] string SubjectType,
    [property: Id(4)] string SubjectId,
    [property: Id(5)] string Outcome,
    [property: Id(6)] string? RequestId,
    [property: Id(7)] long? StateVersion,
    [property: Id(8)] Dictionary<string, string>? Details,
    [property: Id(9)] string? OutcomeDetail)
{
    /// <summary>The row for <paramref name="e"/>, keyed by its subject, the state version it records and its action.</summary>
    /// <param name="discriminator">For a row that records no new state version (a finding): what tells it from another.</param>
    public static PendingAudit Of(AuditEvent e, string? discriminator = null)
    {
        ArgumentNullException.ThrowIfNull(e);
        var key = $"{e.SubjectType}/{e.SubjectId}/{e.StateVersion}/{e.Action}{(discriminator is null ? "" : "/" + discriminator)}";
        return new(key, e.Actor, e.Action, e.SubjectType, e.SubjectId, e.Outcome, e.RequestId, e.StateVersion,
            e.Details is null ? null : new Dictionary<string, string>(e.Details, StringComparer.Ordinal), e.OutcomeDetail);
    }

    public AuditEvent ToEvent() => new(Actor, Action, SubjectType, SubjectId, Outcome, RequestId, StateVersion, Details, OutcomeDetail, Key);
}

internal static class AuditOutbox
{
    /// <summary>Appends the waiting rows in order, dropping each one written; false (the rest kept) when the trail is away.</summary>
    public static async Task<bool> FlushAsync(List<PendingAudit> outbox, IAuditSink sink, ILogger logger)
    {
        while (outbox.Count > 0)
        {
            var row = outbox[0];
            try
            {
                await sink.AppendAsync(row.ToEvent(), CancellationToken.None);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogWarning("Audit row {Key} not written yet ({Error}); it stays in the outbox", row.Key, e.Message);
                return false;
            }
            outbox.RemoveAt(0);
        }
        return true;
    }
}
