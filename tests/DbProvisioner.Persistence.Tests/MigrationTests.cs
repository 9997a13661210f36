namespace DbProvisioner.Persistence.Tests;

[Category("MetaDb")]
public sealed class MigrationTests
{
    [Test]
    public void EmbeddedScripts_AreFoundInVersionOrder()
    {
        var versions = MetaDbMigrator.Migrations.Select(m => m.Version).ToArray();

        Assert.That(versions, Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(MetaDbMigrator.Migrations.Select(m => m.Name), Is.EqualTo(new[] { "grain_state", "audit", "api_keys", "audit_event_key", "orleans_membership", "orleans_reminders" }));
    }

    [Test]
    public async Task FreshDatabase_IsCreatedAndMigratedOnce_AndASecondRunIsANoOp()
    {
        var database = MetaDbTestDatabase.NewDatabaseName();
        try
        {
            await using (var connections = new MetaDbConnectionFactory(MetaDbTestDatabase.OptionsFor(database)))
            {
                var first = await new MetaDbMigrator(connections).MigrateAsync(CancellationToken.None);
                Assert.That(first, Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }));
                Assert.That(await MetaDbTestDatabase.DatabaseExistsAsync(database), Is.True);
            }

            // A new process: a new pool and a new migrator with no memory of the first run.
            await using (var connections = new MetaDbConnectionFactory(MetaDbTestDatabase.OptionsFor(database)))
            {
                var migrator = new MetaDbMigrator(connections);
                var second = await migrator.MigrateAsync(CancellationToken.None);

                Assert.That(second, Is.Empty);
                Assert.That(await migrator.GetAppliedVersionsAsync(CancellationToken.None), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }));
                Assert.That(await CountTablesAsync(connections), Is.EqualTo(8), "grain_state, audit, api_keys, schema_migrations, OrleansQuery, silo_membership_version, silo_membership, silo_reminders");
            }
        }
        finally
        {
            await MetaDbTestDatabase.DropDatabaseAsync(database);
        }
    }

    [Test]
    public async Task TwoProcessesStartingAtOnce_ApplyEachScriptExactlyOnce()
    {
        var database = MetaDbTestDatabase.NewDatabaseName();
        var pools = Enumerable.Range(0, 3).Select(_ => new MetaDbConnectionFactory(MetaDbTestDatabase.OptionsFor(database))).ToArray();
        try
        {
            using var start = new ManualResetEventSlim();
            var runs = pools.Select(pool => Task.Run(async () =>
            {
                start.Wait();
                return await new MetaDbMigrator(pool).MigrateAsync(CancellationToken.None);
            })).ToArray();
            start.Set();
            var results = await Task.WhenAll(runs);

            var appliedEverywhere = results.SelectMany(r => r).ToArray();
            Assert.That(appliedEverywhere, Is.EquivalentTo(new[] { 1, 2, 3, 4, 5, 6 }), "each script ran in exactly one process");
            Assert.That(results.Count(r => r.Count > 0), Is.EqualTo(1), "the lock holder applied all of them");
            Assert.That(await new MetaDbMigrator(pools[0]).GetAppliedVersionsAsync(CancellationToken.None), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }));
        }
        finally
        {
            foreach (var pool in pools)
            {
                await pool.DisposeAsync();
            }

            await MetaDbTestDatabase.DropDatabaseAsync(database);
        }
    }

    [Test]
    public async Task ARecordedScriptWhoseTextChanged_StopsTheStart()
    {
        var database = MetaDbTestDatabase.NewDatabaseName();
        try
        {
            await using var connections = new MetaDbConnectionFactory(MetaDbTestDatabase.OptionsFor(database));
            await new MetaDbMigrator(connections).MigrateAsync(CancellationToken.None);
            await using (var connection = await connections.OpenConnectionAsync(CancellationToken.None))
            await using (var tamper = connection.CreateCommand())
            {
                tamper.CommandText = "UPDATE schema_migrations SET checksum = REPEAT('0', 64) WHERE version = 2";
                await tamper.ExecuteNonQueryAsync();
            }

            var error = Assert.ThrowsAsync<InvalidOperationException>(
                () => new MetaDbMigrator(connections).MigrateAsync(CancellationToken.None));
            Assert.That(error!.Message, Does.Contain("V002"));
        }
        finally
        {
            await MetaDbTestDatabase.DropDatabaseAsync(database);
        }
    }

    [Test]
    public void AnUnsafeDatabaseName_IsRefused()
    {
        var options = MetaDbTestDatabase.OptionsFor("dbprov`; DROP DATABASE dbprov; --");

        Assert.Throws<ArgumentException>(() => _ = new MetaDbConnectionFactory(options));
    }

    [Test]
    public void AMissingPasswordFile_FailsWithoutRevealingAnything()
    {
        var options = MetaDbTestDatabase.OptionsFor(MetaDbTestDatabase.Options.Database);
        options.PasswordFile = "/nonexistent/dbprov-password";

        var error = Assert.CatchAsync(async () =>
        {
            await using var connections = new MetaDbConnectionFactory(options);
            await using var connection = await connections.OpenConnectionAsync(CancellationToken.None);
        });
        Assert.That(error!.ToString(), Does.Contain("/nonexistent/dbprov-password"));
    }

    private static async Task<long> CountTablesAsync(MetaDbConnectionFactory connections)
    {
        await using var connection = await connections.OpenConnectionAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
