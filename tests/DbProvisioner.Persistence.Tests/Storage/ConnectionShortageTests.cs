using DbProvisioner.Contracts;
using DbProvisioner.Persistence.Storage;
using MySqlConnector;

namespace DbProvisioner.Persistence.Tests.Storage;

/// <summary>
/// Issue 9, defect 6: the meta database ran out of connections with `make run` and `make bench` together (pools of
/// 50 and 100 against MariaDB's default of 151). Pools and max_connections are sized together, and a shortage is a
/// clear storage error (which the API answers with 503), never a crash.
/// </summary>
[Category("MetaDb")]
public sealed class ConnectionShortageTests
{
    // Three server processes (the silo cluster), the benchmarks' pool and the CLI/tests beside them.
    private const int SilosOnOneMachine = 3;
    private const int BenchmarkPool = 100;
    private const int Headroom = 100;

    [Test]
    public async Task TheMetaDatabase_TakesEveryPoolTheApplianceOpensAtOnce()
    {
        await using var connection = await MetaDbTestDatabase.OpenServerConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT @@max_connections";
        var max = Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        var needed = (SilosOnOneMachine * new MetaDbOptions().MaximumPoolSize) + BenchmarkPool + Headroom;
        Assert.That(max, Is.GreaterThanOrEqualTo(needed),
            $"max_connections {max} is less than the appliance's pools need ({needed}); hack/meta-db.sh sets it");
    }

    [Test]
    public async Task NoConnectionLeft_IsAStorageUnavailableError_AndNothingIsWritten()
    {
        var user = $"dbprov_short_{Guid.NewGuid():N}"[..28];
        var password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var passwordFile = Path.Combine(Directory.CreateTempSubdirectory("dbprov-short-").FullName, "password");
        await File.WriteAllTextAsync(passwordFile, password);
        await ExecuteAsync($"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}' WITH MAX_USER_CONNECTIONS 1");
        await ExecuteAsync($"GRANT ALL ON `{MetaDbTestDatabase.Options.Database}`.* TO '{user}'@'%'");
        try
        {
            var options = MetaDbTestDatabase.OptionsFor(MetaDbTestDatabase.Options.Database);
            options.User = user;
            options.PasswordFile = passwordFile;
            await using var connections = new MetaDbConnectionFactory(options);
            var storage = StorageHarness.Create(connections);
            var grainId = StorageHarness.NewGrainId();

            // The user's only session is taken (as a full server would be for everyone).
            await using var held = await connections.OpenConnectionAsync(CancellationToken.None);
            var state = new GrainState<CounterState>(new CounterState(1, "alice", []));
            var refused = Assert.ThrowsAsync<StorageUnavailableException>(() => storage.WriteStateAsync("counter", grainId, state, CancellationToken.None));
            Assert.That(refused!.Message, Does.Contain("meta database did not answer"));
            Assert.That(state.ETag, Is.Null, "nothing was written");
            await held.DisposeAsync();

            var read = new GrainState<CounterState>(new CounterState(0, "", []));
            await StorageHarness.Create(MetaDbTestDatabase.Connections).ReadStateAsync("counter", grainId, read, CancellationToken.None);
            Assert.That(read.RecordExists, Is.False, "the refused write left no row");
        }
        finally
        {
            await ExecuteAsync($"DROP USER IF EXISTS '{user}'@'%'");
            File.Delete(passwordFile);
        }
    }

    private static async Task ExecuteAsync(string sql)
    {
        await using var connection = await MetaDbTestDatabase.OpenServerConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
