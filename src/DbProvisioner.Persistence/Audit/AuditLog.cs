using System.Data.Common;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MySqlConnector;

namespace DbProvisioner.Persistence.Audit;

/// <summary>
/// The append-only audit trail in the meta database. There is no update or delete here, and the table's
/// triggers refuse both for any client.
/// </summary>
public sealed partial class AuditLog(MetaDbConnectionFactory connections, TimeProvider timeProvider)
{
    private readonly MetaDbConnectionFactory _connections = connections ?? throw new ArgumentNullException(nameof(connections));
    private readonly TimeProvider _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));

    public AuditLog(MetaDbConnectionFactory connections)
        : this(connections, TimeProvider.System)
    {
    }

    /// <summary>
    /// Appends one row and returns it with its id and time. With an <see cref="AuditEntry.EventKey"/> already in the
    /// table nothing is written (the row is there from an earlier try) and the returned record has id 0.
    /// </summary>
    public async Task<AuditRecord> AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        Validate(entry);
        // DATETIME(6) keeps microseconds; truncate so that what we return equals what a query reads back.
        var now = _time.GetUtcNow();
        var at = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % 10), TimeSpan.Zero);
        var details = entry.Details is { } element ? element.GetRawText() : null;

        await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO audit (at, actor, action, subject_type, subject_id, outcome, request_id, state_version, details, event_key)
            VALUES (@at, @actor, @action, @subjectType, @subjectId, @outcome, @requestId, @stateVersion, @details, @eventKey)
            """;
        command.Parameters.AddWithValue("@at", at.UtcDateTime);
        command.Parameters.AddWithValue("@actor", entry.Actor);
        command.Parameters.AddWithValue("@action", entry.Action);
        command.Parameters.AddWithValue("@subjectType", entry.SubjectType);
        command.Parameters.AddWithValue("@subjectId", entry.SubjectId);
        command.Parameters.AddWithValue("@outcome", entry.Outcome);
        command.Parameters.AddWithValue("@requestId", (object?)entry.RequestId ?? DBNull.Value);
        command.Parameters.AddWithValue("@stateVersion", (object?)entry.StateVersion ?? DBNull.Value);
        command.Parameters.AddWithValue("@details", (object?)details ?? DBNull.Value);
        command.Parameters.AddWithValue("@eventKey", (object?)entry.EventKey ?? DBNull.Value);
        long id;
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            id = command.LastInsertedId;
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry && entry.EventKey is not null)
        {
            // Written before (the outbox is flushed again after a crash or a lost answer): exactly one row.
            id = 0;
        }

        return new AuditRecord(
            id,
            at,
            entry.Actor,
            entry.Action,
            entry.SubjectType,
            entry.SubjectId,
            entry.Outcome,
            entry.RequestId,
            entry.StateVersion,
            entry.Details?.Clone());
    }

    /// <summary>Rows matching every filter that is set, in the order they were appended.</summary>
    public async Task<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > AuditQuery.MaximumLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Limit, $"Limit must be 1..{AuditQuery.MaximumLimit}.");
        }

        await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder(
            "SELECT id, at, actor, action, subject_type, subject_id, outcome, request_id, state_version, details FROM audit WHERE 1 = 1");
        AddFilter(command, sql, "actor", "@actor", query.Actor);
        AddFilter(command, sql, "action", "@action", query.Action);
        AddFilter(command, sql, "subject_type", "@subjectType", query.SubjectType);
        AddFilter(command, sql, "subject_id", "@subjectId", query.SubjectId);
        AddFilter(command, sql, "request_id", "@requestId", query.RequestId);
        if (query.From is { } from)
        {
            sql.Append(" AND at >= @from");
            command.Parameters.AddWithValue("@from", from.UtcDateTime);
        }

        if (query.To is { } to)
        {
            sql.Append(" AND at < @to");
            command.Parameters.AddWithValue("@to", to.UtcDateTime);
        }

        if (query.AfterId is { } afterId)
        {
            sql.Append(" AND id > @afterId");
            command.Parameters.AddWithValue("@afterId", afterId);
        }

        sql.Append(" ORDER BY id LIMIT @limit");
        command.Parameters.AddWithValue("@limit", query.Limit);
        command.CommandText = sql.ToString();

        var records = new List<AuditRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            records.Add(Read(reader));
        }

        return records;
    }

    private static AuditRecord Read(DbDataReader reader)
    {
        JsonElement? details = null;
        if (!reader.IsDBNull(9))
        {
            using var document = JsonDocument.Parse(reader.GetString(9));
            details = document.RootElement.Clone();
        }

        return new AuditRecord(
            Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture),
            new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc)),
            reader.GetString(2),
            reader.GetString(3),
            reader.GetString(4),
            reader.GetString(5),
            reader.GetString(6),
            reader.IsDBNull(7) ? null : reader.GetString(7),
            reader.IsDBNull(8) ? null : reader.GetInt64(8),
            details);
    }

    private static void AddFilter(MySqlCommand command, StringBuilder sql, string column, string parameter, string? value)
    {
        if (value is null)
        {
            return;
        }

        sql.Append(" AND ").Append(column).Append(" = ").Append(parameter);
        command.Parameters.AddWithValue(parameter, value);
    }

    private static void Validate(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Require(entry.Actor, 128, nameof(entry.Actor));
        Require(entry.Action, 64, nameof(entry.Action));
        Require(entry.SubjectType, 64, nameof(entry.SubjectType));
        Require(entry.SubjectId, 256, nameof(entry.SubjectId));
        Require(entry.Outcome, 32, nameof(entry.Outcome));
        if (entry.EventKey is { Length: > 255 })
        {
            throw new ArgumentException("EventKey is longer than 255 characters.", nameof(entry));
        }

        if (entry.RequestId is { Length: > 128 })
        {
            throw new ArgumentException("RequestId is longer than 128 characters.", nameof(entry));
        }

        if (entry.Details is { } details)
        {
            RefuseSecrets(details, "$");
        }
    }

    private static void Require(string value, int maximumLength, string field)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > maximumLength)
        {
            throw new ArgumentException($"Audit field {field} must be 1..{maximumLength} characters.", field);
        }
    }

    /// <summary>A guard against the easy mistake: a property named like a secret never reaches the table.</summary>
    private static void RefuseSecrets(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (SecretName().IsMatch(property.Name))
                    {
                        throw new ArgumentException(
                            $"Audit details must not carry secrets: property '{path}.{property.Name}' is refused.", nameof(element));
                    }

                    RefuseSecrets(property.Value, $"{path}.{property.Name}");
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    RefuseSecrets(item, $"{path}[{index++}]");
                }

                break;
            default:
                break;
        }
    }

    [GeneratedRegex("passw|secret|token|api_?key|credential", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();
}
