using System.Security.Cryptography;
using MySqlConnector;

namespace DbProvisioner.Persistence.Tests;

/// <summary>
/// One throw-away database per test run (<c>dbprov_test_…</c>) on the real meta server, migrated once
/// and dropped at the end, so that tests never touch the server's own <c>dbprov</c> database.
/// </summary>
[SetUpFixture]
public sealed class MetaDbTestDatabase
{
    private static MetaDbConnectionFactory? s_connections;

    public static MetaDbOptions Options { get; private set; } = null!;

    public static MetaDbConnectionFactory Connections => s_connections ?? throw new InvalidOperationException("Not set up.");

    public static string NewDatabaseName() => $"dbprov_test_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";

    public static MetaDbOptions OptionsFor(string database) => new()
    {
        Host = Environment.GetEnvironmentVariable("DBPROV_TEST_META_HOST") ?? "127.0.0.1",
        Port = int.TryParse(Environment.GetEnvironmentVariable("DBPROV_TEST_META_PORT"), out var port) ? port : 3306,
        Database = database,
        PasswordFile = Environment.GetEnvironmentVariable("DBPROV_TEST_META_PASSWORD_FILE") ?? MetaDbOptions.DefaultPasswordFile,
    };

    [OneTimeSetUp]
    public async Task CreateAsync()
    {
        Options = OptionsFor(NewDatabaseName());
        s_connections = new MetaDbConnectionFactory(Options);
        await new MetaDbMigrator(s_connections).MigrateAsync(CancellationToken.None);
    }

    [OneTimeTearDown]
    public async Task DropAsync()
    {
        if (s_connections is not null)
        {
            await s_connections.DisposeAsync();
            s_connections = null;
        }

        if (Options is not null)
        {
            await DropDatabaseAsync(Options.Database);
        }
    }

    public static async Task DropDatabaseAsync(string database)
    {
        if (!database.StartsWith("dbprov_test_", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Refusing to drop '{database}': not a test database.");
        }

        await using var connection = await OpenServerConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"DROP DATABASE IF EXISTS `{database}`";
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<bool> DatabaseExistsAsync(string database)
    {
        await using var connection = await OpenServerConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = @name";
        command.Parameters.AddWithValue("@name", database);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) == 1;
    }

    internal static async Task<MySqlConnection> OpenServerConnectionAsync()
    {
        var options = OptionsFor("unused");
        var builder = new MySqlConnectionStringBuilder
        {
            Server = options.Host,
            Port = (uint)options.Port,
            UserID = options.User,
            Password = (await File.ReadAllTextAsync(options.PasswordFile)).TrimEnd('\r', '\n'),
            Pooling = false,
        };
        var connection = new MySqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}
