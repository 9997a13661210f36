using System.Collections.Concurrent;
using DbProvisioner.Runtime;

namespace DbProvisioner.Grains.Tests.Simulation;

/// <summary>
/// The MySQL side of simulated instances: every server answers with the status a test set for its
/// endpoint (idle, not replicating, by default) and remembers being set read-only.
/// </summary>
public sealed class SimulatedMySqlAdmin : IMySqlAdmin
{
    private readonly ConcurrentDictionary<string, MySqlStatus> _status = new(StringComparer.Ordinal);

    public void SetStatus(string address, int port, MySqlStatus status) => _status[Key(address, port)] = status;

    public MySqlStatus StatusOf(string address, int port) => _status.GetValueOrDefault(Key(address, port), new MySqlStatus(0, null, false));

    public Task<MySqlStatus> GetStatusAsync(string address, int port, InstanceCredentials credentials, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        return Task.FromResult(StatusOf(address, port));
    }

    public Task SetReadOnlyAsync(string address, int port, InstanceCredentials credentials, bool readOnly, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        _status.AddOrUpdate(Key(address, port), _ => new MySqlStatus(0, null, readOnly), (_, s) => s with { ReadOnly = readOnly });
        return Task.CompletedTask;
    }

    private static string Key(string address, int port) => $"{address}:{port}";
}
