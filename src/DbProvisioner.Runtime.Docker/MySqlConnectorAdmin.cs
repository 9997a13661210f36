using System.Globalization;
using MySqlConnector;

namespace DbProvisioner.Runtime.Docker;

/// <summary><see cref="IMySqlAdmin"/> over MySqlConnector: one short, unpooled connection per call.</summary>
public sealed class MySqlConnectorAdmin : IMySqlAdmin
{
    public async Task<MySqlStatus> GetStatusAsync(string address, int port, InstanceCredentials credentials, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(address, port, credentials, cancellationToken).ConfigureAwait(false);
        var clients = Convert.ToInt32(await ScalarAsync(connection,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() " +
            "AND COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Slave_IO', 'Slave_SQL') AND USER NOT IN ('system user', 'event_scheduler')",
            cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        var readOnly = Convert.ToInt32(await ScalarAsync(connection, "SELECT @@global.read_only", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) == 1;

        double? lag = null;
        await using (var command = new MySqlCommand("SHOW SLAVE STATUS", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var ordinal = reader.GetOrdinal("Seconds_Behind_Master");
                if (!await reader.IsDBNullAsync(ordinal, cancellationToken).ConfigureAwait(false))
                    lag = Convert.ToDouble(reader.GetValue(ordinal), CultureInfo.InvariantCulture);
            }
        }
        return new MySqlStatus(clients, lag, readOnly);
    }

    public async Task SetReadOnlyAsync(string address, int port, InstanceCredentials credentials, bool readOnly, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(address, port, credentials, cancellationToken).ConfigureAwait(false);
        await using var command = new MySqlCommand(readOnly ? "SET GLOBAL read_only = ON" : "SET GLOBAL read_only = OFF", connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A short, unpooled root connection: also what readiness (<see cref="MySqlReadiness"/>) tries.</summary>
    internal static async Task<MySqlConnection> OpenAsync(string address, int port, InstanceCredentials credentials, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = address,
            Port = (uint)port,
            UserID = InstanceCredentials.RootUser,
            Password = credentials.RootPassword,
            ConnectionTimeout = 3,
            DefaultCommandTimeout = 5,
            Pooling = false,
        }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<object?> ScalarAsync(MySqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new MySqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }
}
