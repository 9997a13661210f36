namespace DbProvisioner.Runtime;

/// <summary>What a running MySQL instance reports about itself, for the scale-down risk and drain.</summary>
/// <param name="OpenClientConnections">Client sessions other than the appliance's own and the server's threads.</param>
/// <param name="ReplicationLagSeconds">Seconds behind its primary; null when it does not replicate.</param>
public sealed record MySqlStatus(int OpenClientConnections, double? ReplicationLagSeconds, bool ReadOnly);

/// <summary>Talks to an instance's MySQL server with its credentials.</summary>
public interface IMySqlAdmin
{
    Task<MySqlStatus> GetStatusAsync(string address, int port, InstanceCredentials credentials, CancellationToken cancellationToken);

    /// <summary>Sets the server read-only (writes of clients without SUPER are refused), the first step of a drain.</summary>
    Task SetReadOnlyAsync(string address, int port, InstanceCredentials credentials, bool readOnly, CancellationToken cancellationToken);
}
