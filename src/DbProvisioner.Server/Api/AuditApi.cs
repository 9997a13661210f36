using System.Globalization;
using DbProvisioner.Persistence.Audit;
using DbProvisioner.Server.Validation;
using Microsoft.AspNetCore.Mvc;

namespace DbProvisioner.Server.Api;

/// <summary><c>GET /api/v1/audit</c> (viewer and up): the append-only trail of who did what, oldest first, with filters.</summary>
public static class AuditApi
{
    public const int DefaultLimit = 100;

    public static RouteGroupBuilder MapAuditApi(this RouteGroupBuilder api)
    {
        api.MapGet("/audit", QueryAsync)
            .WithTags("Audit")
            .WithName("QueryAudit")
            .WithSummary("Audit rows matching every filter given (actor, action, subjectType, subjectId, requestId, from inclusive, "
                + "to exclusive, both ISO 8601), oldest first; page on with afterId = the last id seen. limit 1–1000 (default 100).")
            .Produces<IReadOnlyList<AuditRecord>>()
            .ProducesValidationProblem();
        return api;
    }

    internal static async Task<IResult> QueryAsync(
        [FromServices] AuditLog log,
        CancellationToken cancellationToken,
        string? actor = null,
        string? action = null,
        string? subjectType = null,
        string? subjectId = null,
        string? requestId = null,
        string? from = null,
        string? to = null,
        string? limit = null,
        string? afterId = null)
    {
        var validator = new RequestValidator();
        var fromTime = ParseTime(from, "from", validator);
        var toTime = ParseTime(to, "to", validator);
        var count = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > AuditQuery.MaximumLimit))
        {
            validator.AddError("limit", $"must be a whole number between 1 and {AuditQuery.MaximumLimit}");
        }

        long? after = null;
        if (afterId is not null)
        {
            if (long.TryParse(afterId, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                after = parsed;
            }
            else
            {
                validator.AddError("afterId", "must be a row id (a whole number)");
            }
        }

        if (fromTime is { } f && toTime is { } t && t <= f)
        {
            validator.AddError("to", "must be after 'from'");
        }

        Check(actor, "actor", 128, validator);
        Check(action, "action", 64, validator);
        Check(subjectType, "subjectType", 64, validator);
        Check(subjectId, "subjectId", 256, validator);
        Check(requestId, "requestId", 128, validator);
        if (!validator.IsValid)
        {
            return validator.ToProblem();
        }

        var rows = await log.QueryAsync(
            new AuditQuery
            {
                Actor = Empty(actor),
                Action = Empty(action),
                SubjectType = Empty(subjectType),
                SubjectId = Empty(subjectId),
                RequestId = Empty(requestId),
                From = fromTime,
                To = toTime,
                AfterId = after,
                Limit = count,
            },
            cancellationToken);
        return TypedResults.Ok(rows);
    }

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static void Check(string? value, string field, int maximumLength, RequestValidator validator)
    {
        if (value is not null && value.Length > maximumLength)
        {
            validator.AddError(field, $"must be at most {maximumLength} characters");
        }
    }

    private static DateTimeOffset? ParseTime(string? value, string field, RequestValidator validator)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }

        validator.AddError(field, "must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z");
        return null;
    }
}
