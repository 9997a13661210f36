using System.Globalization;
using MySqlConnector;

namespace DbProvisioner.Persistence.Tests;

/// <summary>
/// The statements V005 and V006 give Orleans' ADO.NET clustering and reminder providers, run the way the providers run
/// them: looked up by key in OrleansQuery, parameters bound by name, results read by column name.
/// </summary>
[Category("MetaDb")]
public sealed class OrleansQueryContractTests
{
    private static readonly string[] ClusteringKeys =
    [
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey", "MembershipReadRowKey",
        "MembershipReadAllKey", "GatewaysQueryKey", "DeleteMembershipTableEntriesKey", "CleanupDefunctSiloEntriesKey",
    ];

    private static readonly string[] ReminderKeys =
    [
        "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key",
        "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    [Test]
    public async Task Every_query_key_the_providers_require_is_stored()
    {
        var queries = await ReadQueriesAsync();
        Assert.That(queries.Keys, Is.SupersetOf(ClusteringKeys.Concat(ReminderKeys)));
    }

    [Test]
    public async Task A_silo_joins_only_on_the_version_it_read_and_an_update_on_a_stale_version_changes_nothing()
    {
        var queries = await ReadQueriesAsync();
        var cluster = "contract-" + Guid.NewGuid().ToString("N")[..8];
        var now = DateTime.UtcNow;

        Assert.That(await ScalarAsync(queries["InsertMembershipVersionKey"], ("DeploymentId", cluster)), Is.EqualTo(1), "version row created");
        Assert.That(await ScalarAsync(queries["InsertMembershipVersionKey"], ("DeploymentId", cluster)), Is.EqualTo(0), "created once");

        var silo1 = Member(cluster, "127.0.0.1", 11111, 1, version: 0, now);
        Assert.That(await ScalarAsync(queries["InsertMembershipKey"], silo1), Is.EqualTo(1), "joins on version 0");
        var staleJoin = Member(cluster, "127.0.0.1", 11112, 1, version: 0, now);
        Assert.That(await ScalarAsync(queries["InsertMembershipKey"], staleJoin), Is.EqualTo(0), "a join on a stale version is refused");

        var rows = await ReadAsync(queries["MembershipReadAllKey"], ("DeploymentId", cluster));
        Assert.That(rows, Has.Count.EqualTo(1), "the refused join left no row");
        Assert.That(rows[0]["Version"], Is.EqualTo(1));
        Assert.That(rows[0]["Port"], Is.EqualTo(11111));
        Assert.That(rows[0]["Status"], Is.EqualTo(3));

        var dead = Update(cluster, "127.0.0.1", 11111, 1, status: 6, version: 0, now.AddSeconds(1));
        Assert.That(await ScalarAsync(queries["UpdateMembershipKey"], dead), Is.EqualTo(0), "stale version");
        Assert.That((await ReadAsync(queries["MembershipReadAllKey"], ("DeploymentId", cluster)))[0]["Status"], Is.EqualTo(3), "unchanged");
        dead = Update(cluster, "127.0.0.1", 11111, 1, status: 6, version: 1, now.AddSeconds(1));
        Assert.That(await ScalarAsync(queries["UpdateMembershipKey"], dead), Is.EqualTo(1), "current version");
        var after = await ReadAsync(queries["MembershipReadRowKey"], ("DeploymentId", cluster), ("Address", "127.0.0.1"), ("Port", 11111), ("Generation", 1));
        Assert.That((after[0]["Status"], after[0]["Version"]), Is.EqualTo((6, 2)));
        Assert.That(await ReadAsync(queries["GatewaysQueryKey"], ("DeploymentId", cluster), ("Status", 3)), Is.Empty, "a dead silo is no gateway");

        await ExecuteAsync(queries["DeleteMembershipTableEntriesKey"], ("DeploymentId", cluster));
        Assert.That(await ReadAsync(queries["MembershipReadAllKey"], ("DeploymentId", cluster)), Is.Empty);
    }

    [Test]
    public async Task A_reminder_upsert_returns_its_own_version_and_a_delete_needs_the_current_one()
    {
        var queries = await ReadQueriesAsync();
        var service = "contract-" + Guid.NewGuid().ToString("N")[..8];
        (string, object?)[] Row(long periodMs) =>
        [
            ("ServiceId", service), ("GrainId", "recoverysweep/cluster"), ("ReminderName", "recovery-sweep"),
            ("StartTime", DateTime.UtcNow), ("Period", periodMs), ("GrainHash", -5),
        ];

        Assert.That(await ScalarAsync(queries["UpsertReminderRowKey"], Row(10_000)), Is.EqualTo(1));
        Assert.That(await ScalarAsync(queries["UpsertReminderRowKey"], Row(20_000)), Is.EqualTo(2));
        var read = await ReadAsync(queries["ReadReminderRowKey"], ("ServiceId", service), ("GrainId", "recoverysweep/cluster"), ("ReminderName", "recovery-sweep"));
        Assert.That((read[0]["Period"], read[0]["Version"]), Is.EqualTo((20_000L, 2)));
        Assert.That(await ReadAsync(queries["ReadRangeRows1Key"], ("ServiceId", service), ("BeginHash", -10), ("EndHash", 0)), Has.Count.EqualTo(1));
        Assert.That(await ReadAsync(queries["ReadRangeRows2Key"], ("ServiceId", service), ("BeginHash", 0), ("EndHash", -10)), Is.Empty);

        (string, object?)[] Delete(int version) =>
            [("ServiceId", service), ("GrainId", "recoverysweep/cluster"), ("ReminderName", "recovery-sweep"), ("Version", version)];
        Assert.That(await ScalarAsync(queries["DeleteReminderRowKey"], Delete(1)), Is.EqualTo(0), "stale version");
        Assert.That(await ScalarAsync(queries["DeleteReminderRowKey"], Delete(2)), Is.EqualTo(1));
        Assert.That(await ReadAsync(queries["ReadReminderRowsKey"], ("ServiceId", service), ("GrainId", "recoverysweep/cluster")), Is.Empty);
    }

    private static (string, object?)[] Member(string cluster, string address, int port, int generation, int version, DateTime now) =>
    [
        ("DeploymentId", cluster), ("Address", address), ("Port", port), ("Generation", generation), ("Version", version),
        ("SiloName", $"silo-{port}"), ("HostName", "test"), ("Status", 3), ("ProxyPort", port + 1), ("StartTime", now), ("IAmAliveTime", now),
    ];

    private static (string, object?)[] Update(string cluster, string address, int port, int generation, int status, int version, DateTime alive) =>
    [
        ("DeploymentId", cluster), ("Address", address), ("Port", port), ("Generation", generation), ("Version", version),
        ("Status", status), ("SuspectTimes", null), ("IAmAliveTime", alive),
    ];

    private static async Task<Dictionary<string, string>> ReadQueriesAsync()
    {
        var rows = await ReadAsync("SELECT QueryKey, QueryText FROM OrleansQuery");
        return rows.ToDictionary(r => (string)r["QueryKey"]!, r => (string)r["QueryText"]!, StringComparer.Ordinal);
    }

    private static async Task<long> ScalarAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        var rows = await ReadAsync(sql, parameters);
        Assert.That(rows, Has.Count.EqualTo(1), sql);
        return Convert.ToInt64(rows[0].Values.Single(), CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await MetaDbTestDatabase.Connections.OpenConnectionAsync(CancellationToken.None);
        await using var command = Command(connection, sql, parameters);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Rows of every result set, each column by name (as the providers read them).</summary>
    private static async Task<List<Dictionary<string, object?>>> ReadAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await MetaDbTestDatabase.Connections.OpenConnectionAsync(CancellationToken.None);
        await using var command = Command(connection, sql, parameters);
        var rows = new List<Dictionary<string, object?>>();
        await using var reader = await command.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync())
            {
                var row = new Dictionary<string, object?>(StringComparer.Ordinal);
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                }

                // A LEFT JOIN of the version row alone has no member: the providers skip it (no StartTime).
                if (!row.TryGetValue("StartTime", out var start) || start is not null)
                {
                    rows.Add(row);
                }
            }
        }
        while (await reader.NextResultAsync());
        return rows;
    }

    private static MySqlCommand Command(MySqlConnection connection, string sql, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }
}
