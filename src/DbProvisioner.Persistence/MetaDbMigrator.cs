using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MySqlConnector;

namespace DbProvisioner.Persistence;

/// <summary>One embedded schema script, <c>Schema/V{version}__{name}.sql</c>.</summary>
public sealed record SchemaMigration(int Version, string Name, string Sql, string Checksum);

/// <summary>
/// Applies the embedded <c>Schema/V*.sql</c> scripts in version order and records each in
/// <c>schema_migrations</c>. Idempotent; a server-wide GET_LOCK (named after the database) serialises
/// processes that start at the same moment. A recorded script whose text changed stops the start loudly.
/// </summary>
public sealed partial class MetaDbMigrator
{
    private static readonly Lazy<IReadOnlyList<SchemaMigration>> EmbeddedMigrations = new(LoadEmbedded);

    private readonly MetaDbConnectionFactory _connections;
    private readonly ILogger<MetaDbMigrator> _logger;
    private readonly SemaphoreSlim _once = new(1, 1);
    private bool _upToDate;

    public MetaDbMigrator(MetaDbConnectionFactory connections, ILogger<MetaDbMigrator>? logger = null)
    {
        _connections = connections ?? throw new ArgumentNullException(nameof(connections));
        _logger = logger ?? NullLogger<MetaDbMigrator>.Instance;
    }

    /// <summary>How long a process waits for another one's migration before giving up.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public static IReadOnlyList<SchemaMigration> Migrations => EmbeddedMigrations.Value;

    /// <summary>Creates the database if missing and applies pending scripts; returns the versions applied now.</summary>
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken)
    {
        if (_upToDate)
        {
            return [];
        }

        await _once.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_upToDate)
            {
                return [];
            }

            await EnsureDatabaseAsync(cancellationToken).ConfigureAwait(false);
            var applied = await ApplyUnderLockAsync(cancellationToken).ConfigureAwait(false);
            _upToDate = true;
            return applied;
        }
        finally
        {
            _once.Release();
        }
    }

    /// <summary>The versions recorded in <c>schema_migrations</c>, ascending.</summary>
    public async Task<IReadOnlyList<int>> GetAppliedVersionsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var recorded = await ReadRecordedAsync(connection, cancellationToken).ConfigureAwait(false);
        return [.. recorded.Keys.Order()];
    }

    private async Task EnsureDatabaseAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _connections.OpenServerConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"CREATE DATABASE IF NOT EXISTS {MetaDbIdentifier.Quote(_connections.DatabaseName)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<int>> ApplyUnderLockAsync(CancellationToken cancellationToken)
    {
        // GET_LOCK is held by this session, so every step below uses this one connection.
        await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var lockName = $"dbprov.schema.{_connections.DatabaseName}";
        await AcquireLockAsync(connection, lockName, cancellationToken).ConfigureAwait(false);
        try
        {
            await using (var create = connection.CreateCommand())
            {
                create.CommandText = """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version     INT NOT NULL,
                        name        VARCHAR(200) NOT NULL,
                        checksum    CHAR(64) CHARACTER SET ascii NOT NULL,
                        applied_at  DATETIME(6) NOT NULL,
                        CONSTRAINT pk_schema_migrations PRIMARY KEY (version)
                    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4
                    """;
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var recorded = await ReadRecordedAsync(connection, cancellationToken).ConfigureAwait(false);
            var applied = new List<int>();
            foreach (var migration in Migrations)
            {
                if (recorded.TryGetValue(migration.Version, out var checksum))
                {
                    if (!string.Equals(checksum, migration.Checksum, StringComparison.Ordinal))
                    {
                        throw new InvalidOperationException(
                            $"Schema migration V{migration.Version:000} ({migration.Name}) was changed after it was applied " +
                            $"(recorded checksum {checksum}, embedded {migration.Checksum}). Add a new migration instead.");
                    }

                    continue;
                }

                _logger.LogInformation("Applying meta database migration V{Version:000} {Name}", migration.Version, migration.Name);
                await using (var script = connection.CreateCommand())
                {
                    script.CommandText = migration.Sql;
                    await script.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await using (var record = connection.CreateCommand())
                {
                    record.CommandText =
                        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (@version, @name, @checksum, UTC_TIMESTAMP(6))";
                    record.Parameters.AddWithValue("@version", migration.Version);
                    record.Parameters.AddWithValue("@name", migration.Name);
                    record.Parameters.AddWithValue("@checksum", migration.Checksum);
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                applied.Add(migration.Version);
            }

            return applied;
        }
        finally
        {
            await ReleaseLockAsync(connection, lockName).ConfigureAwait(false);
        }
    }

    private async Task AcquireLockAsync(MySqlConnection connection, string lockName, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT GET_LOCK(@name, @timeout)";
        command.Parameters.AddWithValue("@name", lockName);
        command.Parameters.AddWithValue("@timeout", (int)Math.Ceiling(LockTimeout.TotalSeconds));
        var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        if (result is null or DBNull || Convert.ToInt64(result, CultureInfo.InvariantCulture) != 1)
        {
            throw new TimeoutException($"Could not take the schema lock '{lockName}' within {LockTimeout}.");
        }
    }

    private async Task ReleaseLockAsync(MySqlConnection connection, string lockName)
    {
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT RELEASE_LOCK(@name)";
            command.Parameters.AddWithValue("@name", lockName);
            await command.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (MySqlException e)
        {
            // The lock dies with its session: pooled sessions are not reset on reuse, so end this one.
            _logger.LogWarning(e, "Could not release the schema lock {LockName}", lockName);
            MySqlConnection.ClearPool(connection);
        }
    }

    private static async Task<Dictionary<int, string>> ReadRecordedAsync(MySqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, checksum FROM schema_migrations";
        var recorded = new Dictionary<int, string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            recorded[reader.GetInt32(0)] = reader.GetString(1);
        }

        return recorded;
    }

    private static IReadOnlyList<SchemaMigration> LoadEmbedded()
    {
        var assembly = typeof(MetaDbMigrator).Assembly;
        var migrations = new List<SchemaMigration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = ResourceName().Match(resource);
            if (!match.Success)
            {
                continue;
            }

            var version = int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture);
            var sql = ReadResource(assembly, resource);
            var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
            migrations.Add(new SchemaMigration(version, match.Groups["name"].Value, sql, checksum));
        }

        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two schema migrations share version {duplicate.Key}.");
        }

        return [.. migrations.OrderBy(m => m.Version)];
    }

    private static string ReadResource(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource {resource} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        // Line endings must not change the checksum of an unchanged script.
        return reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\.Schema\.V(?<version>\d+)__(?<name>[A-Za-z0-9_]+)\.sql$", RegexOptions.CultureInvariant)]
    private static partial Regex ResourceName();
}
