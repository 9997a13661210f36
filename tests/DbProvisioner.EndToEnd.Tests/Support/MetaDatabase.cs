using System.Security.Cryptography;
using MySqlConnector;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>The suite's throw-away meta databases (<c>dbprov_e2e_…</c>) on the real meta server; nothing else is touched.</summary>
public static class MetaDatabase
{
    public static string NewName() => E2eLayout.DatabasePrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));

    public static async Task DropAsync(string database)
    {
        EnsureOurs(database);
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"DROP DATABASE IF EXISTS `{database}`";
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Databases an earlier, killed run of this suite left behind.</summary>
    public static async Task<IReadOnlyList<string>> LeftoversAsync()
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'dbprov\\_e2e\\_%'";
        var names = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private static void EnsureOurs(string database)
    {
        if (!database.StartsWith(E2eLayout.DatabasePrefix, StringComparison.Ordinal) || database.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '_')))
        {
            throw new InvalidOperationException($"Refusing to drop '{database}': not an end-to-end test database.");
        }
    }

    private static async Task<MySqlConnection> OpenAsync()
    {
        var password = (await File.ReadAllTextAsync(E2eLayout.MetaPasswordFile)).TrimEnd('\r', '\n');
        var builder = new MySqlConnectionStringBuilder { Server = "127.0.0.1", Port = 3306, UserID = "root", Password = password };
        var connection = new MySqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}
