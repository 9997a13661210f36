using System.Collections.Concurrent;
using DbProvisioner.Runtime;

namespace DbProvisioner.Testing.Simulation;

/// <summary>
/// The MySQL side of simulated instances: every server answers with the status a test set for its endpoint (no client
/// connections, not replicating, by default) and remembers every read-only switch, as the drain and the risk report see it.
/// </summary>
public sealed class SimulatedMySqlAdmin : IMySqlAdmin
{
    private readonly ConcurrentDictionary<string, MySqlStatus> _status = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ReadOnlySwitch> _switches = new();

    public void SetStatus(string address, int port, MySqlStatus status) => _status[Key(address, port)] = status;

    public MySqlStatus StatusOf(string address, int port) => _status.GetValueOrDefault(Key(address, port), new MySqlStatus(0, null, false));

    /// <summary>Every SetReadOnlyAsync call, in order.</summary>
    public IReadOnlyList<ReadOnlySwitch> ReadOnlySwitches => [.. _switches];

    /// <summary>The ports of the servers that were set read-only (the first step of a drain).</summary>
    public IReadOnlyList<int> ReadOnlyPorts => [.. _switches.Where(static s => s.ReadOnly).Select(static s => s.Port)];

    public Task<MySqlStatus> GetStatusAsync(string address, int port, InstanceCredentials credentials, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        return Task.FromResult(StatusOf(address, port));
    }

    public Task SetReadOnlyAsync(string address, int port, InstanceCredentials credentials, bool readOnly, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        _status.AddOrUpdate(Key(address, port), _ => new MySqlStatus(0, null, readOnly), (_, s) => s with { ReadOnly = readOnly });
        _switches.Enqueue(new ReadOnlySwitch(address, port, readOnly));
        return Task.CompletedTask;
    }

    private static string Key(string address, int port) => $"{address}:{port}";
}

/// <summary>One SetReadOnlyAsync call.</summary>
public sealed record ReadOnlySwitch(string Address, int Port, bool ReadOnly);
