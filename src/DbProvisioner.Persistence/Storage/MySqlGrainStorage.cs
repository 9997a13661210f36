using System.Globalization;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace DbProvisioner.Persistence.Storage;

/// <summary>
/// Orleans grain storage in the meta database's <c>grain_state</c> table, with optimistic concurrency.
/// The ETag is the row's <c>version</c>: a first write inserts version 1 (a row already there is a conflict);
/// later writes update only <c>WHERE version = @expected</c>, and no row matched is an
/// <see cref="InconsistentStateException"/>, which makes Orleans drop the activation so the next call re-reads.
/// A clear keeps a tombstone (payload NULL, version + 1) rather than deleting the row, so versions only
/// grow and an ETag from before the clear can never match a later row.
/// Writes and clears from many grains are group-committed (<see cref="GroupCommit"/>): each caller hears of its own row
/// only after the transaction holding it has committed.
/// </summary>
public sealed class MySqlGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    private readonly string _name;
    private readonly MetaDbGrainStorageOptions _options;
    private readonly MetaDbConnectionFactory _connections;
    private readonly MetaDbMigrator _migrator;
    private readonly IActivatorProvider _activators;
    private readonly ILogger<MySqlGrainStorage> _logger;
    private readonly StoragePipeline _pipeline;
    private readonly GroupCommit _groupCommit;

    public MySqlGrainStorage(
        string name,
        MetaDbGrainStorageOptions options,
        MetaDbConnectionFactory connections,
        MetaDbMigrator migrator,
        IActivatorProvider activators,
        ILogger<MySqlGrainStorage> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(options);
        _name = name;
        _options = options;
        _connections = connections ?? throw new ArgumentNullException(nameof(connections));
        _migrator = migrator ?? throw new ArgumentNullException(nameof(migrator));
        _activators = activators ?? throw new ArgumentNullException(nameof(activators));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        if (options.GrainStorageSerializer is null)
        {
            throw new ArgumentException($"Grain storage '{name}' has no GrainStorageSerializer.", nameof(options));
        }

        _pipeline = new StoragePipeline(name, options.Chaos);
        _groupCommit = new GroupCommit(connections, name, options.MaxRowsPerCommit);
    }

    public string Name => _name;

    /// <summary>The group commit behind writes and clears (its counts are what tests and benchmarks read).</summary>
    internal GroupCommit GroupCommit => _groupCommit;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync($"read of {stateName} of {grainId}", token => ReadCoreAsync(stateName, grainId, grainState, token), cancellationToken);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync($"write of {stateName} of {grainId}", token => WriteCoreAsync(stateName, grainId, grainState, token), cancellationToken);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync($"clear of {stateName} of {grainId}", token => ClearCoreAsync(stateName, grainId, grainState, token), cancellationToken);

    private async Task ReadCoreAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = StateKey.Of(stateName, grainId);
        await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT payload, version FROM grain_state WHERE grain_type = @type AND grain_id = @id AND state_name = @state";
        key.AddParameters(command.Parameters);
        await command.PrepareAsync(cancellationToken).ConfigureAwait(false);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            grainState.State = _activators.GetActivator<T>().Create();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        var version = reader.GetInt64(1);
        if (reader.IsDBNull(0))
        {
            // A tombstone: cleared state, but the version goes on.
            grainState.State = _activators.GetActivator<T>().Create();
            grainState.ETag = FormatETag(version);
            grainState.RecordExists = false;
            return;
        }

        var payload = (byte[])reader.GetValue(0);
        T? state;
        try
        {
            state = _options.GrainStorageSerializer.Deserialize<T>(new BinaryData(payload));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The serializer's own exception type may have no Orleans codec, so it would not survive the trip to
            // the caller: log it here in full, and send its type and message as text.
            _logger.LogError(e, "Grain storage {Name} cannot deserialize state {StateName} of grain {GrainId} (version {Version})",
                _name, key.StateName, grainId, version);
            throw new OrleansException(
                $"Grain storage '{_name}' cannot deserialize state '{key.StateName}' of grain {grainId} (version {version}) " +
                $"as {typeof(T)}: {e.GetType().Name}: {e.Message}");
        }

        grainState.State = state ?? _activators.GetActivator<T>().Create();
        grainState.ETag = FormatETag(version);
        grainState.RecordExists = true;
    }

    private async Task WriteCoreAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = StateKey.Of(stateName, grainId);
        var expected = grainState.ETag is null ? (long?)null : ParseETag(grainState.ETag, key, grainId);
        var payload = _options.GrainStorageSerializer.Serialize(grainState.State).ToArray();
        if (!await _groupCommit.WriteAsync(key, payload, expected).WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            throw await ConflictAsync(key, grainId, grainState.ETag, "write", cancellationToken).ConfigureAwait(false);
        }

        grainState.ETag = FormatETag((expected ?? 0) + 1);
        grainState.RecordExists = true;
    }

    private async Task ClearCoreAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = StateKey.Of(stateName, grainId);
        if (grainState.ETag is null)
        {
            await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            // Nothing was ever read or written: there is nothing to clear unless someone else wrote meanwhile.
            var stored = await ReadVersionAsync(connection, key, cancellationToken).ConfigureAwait(false);
            if (stored is not null)
            {
                throw Conflict(key, grainId, FormatETag(stored.Value), null, "clear", null);
            }

            grainState.RecordExists = false;
            return;
        }

        var expected = ParseETag(grainState.ETag, key, grainId);
        if (!await _groupCommit.WriteAsync(key, payload: null, expected).WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            throw await ConflictAsync(key, grainId, grainState.ETag, "clear", cancellationToken).ConfigureAwait(false);
        }

        grainState.ETag = FormatETag(expected + 1);
        grainState.RecordExists = false;
    }

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        if (_options.MigrateOnStart)
        {
            lifecycle.Subscribe(
                $"{nameof(MySqlGrainStorage)}-{_name}",
                _options.InitStage,
                async cancellationToken =>
                {
                    var applied = await _migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);
                    _logger.LogInformation(
                        "Grain storage {Name}: meta database {Database} is up to date ({Applied} migrations applied now)",
                        _name, _connections.DatabaseName, applied.Count);
                });
        }
    }

    private static string FormatETag(long version) => version.ToString(CultureInfo.InvariantCulture);

    private long ParseETag(string etag, StateKey key, GrainId grainId)
    {
        if (long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0)
        {
            return version;
        }

        throw new InconsistentStateException(
            $"Grain storage '{_name}': ETag '{etag}' of state '{key.StateName}' of grain {grainId} is not a version of this storage.",
            storedEtag: null!,
            currentEtag: etag);
    }

    private async Task<InconsistentStateException> ConflictAsync(
        StateKey key,
        GrainId grainId,
        string? expected,
        string operation,
        CancellationToken cancellationToken)
    {
        await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var stored = await ReadVersionAsync(connection, key, cancellationToken).ConfigureAwait(false);
        return Conflict(key, grainId, stored is null ? null : FormatETag(stored.Value), expected, operation, null);
    }

    private InconsistentStateException Conflict(StateKey key, GrainId grainId, string? stored, string? expected, string operation, Exception? inner)
    {
        _logger.LogInformation(
            "Grain storage {Name}: {Operation} of state {StateName} of grain {GrainId} refused: stored version {Stored}, expected {Expected}",
            _name, operation, key.StateName, grainId, stored ?? "none", expected ?? "none");
        var message =
            $"Grain storage '{_name}': {operation} of state '{key.StateName}' of grain {grainId} expected version " +
            $"{expected ?? "none"} but the stored version is {stored ?? "none"}.";
        return inner is null
            ? new InconsistentStateException(message, stored!, expected!)
            : new InconsistentStateException(message, stored!, expected!, inner);
    }

    private static async Task<long?> ReadVersionAsync(MySqlConnection connection, StateKey key, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT version FROM grain_state WHERE grain_type = @type AND grain_id = @id AND state_name = @state";
        key.AddParameters(command.Parameters);
        var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return result is null or DBNull ? null : Convert.ToInt64(result, CultureInfo.InvariantCulture);
    }
}
