using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using MySqlConnector;

namespace DbProvisioner.Persistence.Storage;

/// <summary>
/// Group commit of grain-state writes: what arrives while a commit is in flight goes into the next one, so many grains'
/// writes share one transaction and one round trip (a MariaDB batch: START TRANSACTION, one statement per row with its
/// own version check, COMMIT). A row whose version check fails changes nothing and fails only its own writer; every
/// other row of the batch commits. A batch that fails as a whole (connection lost, deadlock) fails every writer in it,
/// and nothing of it is stored: the server rolls back a transaction whose COMMIT it never received.
/// No timer and no background thread: the writer that finds no commit in flight drains the queue on the thread pool.
/// </summary>
internal sealed class GroupCommit(MetaDbConnectionFactory connections, string storageName, int maxBatchRows = 256, int maxBatchBytes = 4 << 20)
{
    internal static readonly Meter Meter = new("DbProvisioner.GrainStorage");
    private static readonly Histogram<int> s_batchRows = Meter.CreateHistogram<int>("dbprov.grain_storage.batch_rows", "{row}", "Rows per group commit");
    private static readonly Histogram<double> s_commitMs = Meter.CreateHistogram<double>("dbprov.grain_storage.commit_duration", "ms", "Time of one group commit in the meta database");
    private static readonly Counter<long> s_bytes = Meter.CreateCounter<long>("dbprov.grain_storage.written_bytes", "By", "Payload bytes sent in group commits");

    private readonly ConcurrentQueue<PendingWrite> _queue = new();
    private readonly KeyValuePair<string, object?> _tag = new("storage", storageName);
    private int _draining;
    private long _commits;
    private long _rows;

    /// <summary>Transactions committed (or attempted) so far, each with one or more rows.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Writes waiting for the next commit.</summary>
    public int Queued => _queue.Count;

    /// <summary>Rows sent in those transactions.</summary>
    public long Rows => Interlocked.Read(ref _rows);

    /// <summary>
    /// Stores <paramref name="payload"/> (null: a tombstone) if the row's version is <paramref name="expected"/> (null: no
    /// row yet). True when committed, false when the version did not match; an exception when the batch failed.
    /// </summary>
    public Task<bool> WriteAsync(StateKey key, byte[]? payload, long? expected)
    {
        var write = new PendingWrite(key, payload, expected);
        _queue.Enqueue(write);
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            _ = Task.Run(DrainAsync);
        }

        return write.Done.Task;
    }

    private async Task DrainAsync()
    {
        var batch = new List<PendingWrite>();
        while (true)
        {
            while (Take(batch))
            {
                await CommitAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }

            Volatile.Write(ref _draining, 0);
            // A write queued after the last Take but before the flag fell found it raised: pick it up, or let its own
            // writer's drain (which won the flag) do so.
            if (_queue.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private bool Take(List<PendingWrite> batch)
    {
        var bytes = 0;
        while (batch.Count < maxBatchRows && _queue.TryPeek(out var next)
            && (batch.Count == 0 || bytes + (next.Payload?.Length ?? 0) <= maxBatchBytes) && _queue.TryDequeue(out next))
        {
            bytes += next.Payload?.Length ?? 0;
            batch.Add(next);
        }

        return batch.Count > 0;
    }

    private async Task CommitAsync(List<PendingWrite> batch)
    {
        // Sorted by key, so two silos' batches take row locks in one order and cannot deadlock each other; a stable sort
        // keeps two writes of one row (a duplicate activation) in arrival order, so the first wins as it would alone.
        var ordered = batch.Select((w, i) => (w, i)).OrderBy(static p => p.w.Key).ThenBy(static p => p.i).Select(static p => p.w).ToList();
        var started = Stopwatch.GetTimestamp();
        var bytes = 0L;
        Interlocked.Increment(ref _commits);
        Interlocked.Add(ref _rows, ordered.Count);
        try
        {
            await using var connection = await connections.OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false);
            await using var command = connection.CreateBatch();
            command.BatchCommands.Add(new MySqlBatchCommand("START TRANSACTION"));
            foreach (var write in ordered)
            {
                command.BatchCommands.Add(Statement(write));
                // MySqlConnector leaves a batch command's RecordsAffected unset: ask the server for each row's count.
                command.BatchCommands.Add(new MySqlBatchCommand("SELECT ROW_COUNT()"));
                bytes += write.Payload?.Length ?? 0;
            }

            command.BatchCommands.Add(new MySqlBatchCommand("COMMIT"));
            var stored = new bool[ordered.Count];
            try
            {
                await using var reader = await command.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
                var row = 0;
                do
                {
                    while (await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false))
                    {
                        stored[row++] = reader.GetInt64(0) == 1;
                    }
                }
                while (await reader.NextResultAsync(CancellationToken.None).ConfigureAwait(false));
                if (row != ordered.Count)
                {
                    throw new InvalidOperationException($"group commit of {ordered.Count} rows answered {row} row counts");
                }
            }
            catch
            {
                await RollBackAsync(connection).ConfigureAwait(false);
                throw;
            }

            // Only now, with COMMIT answered, does any writer hear of its row.
            for (var i = 0; i < ordered.Count; i++)
            {
                ordered[i].Done.TrySetResult(stored[i]);
            }
        }
        catch (Exception e)
        {
            foreach (var write in ordered)
            {
                write.Done.TrySetException(e);
            }
        }
        finally
        {
            s_batchRows.Record(ordered.Count, _tag);
            s_commitMs.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, _tag);
            s_bytes.Add(bytes, _tag);
        }
    }

    private static MySqlBatchCommand Statement(PendingWrite write)
    {
        // INSERT IGNORE: a row already there is a conflict of this writer alone (0 rows), not an error that ends the batch.
        var statement = new MySqlBatchCommand(write.Expected is null
            ? """
              INSERT IGNORE INTO grain_state (grain_type, grain_id, state_name, payload, version, updated_at)
              VALUES (@type, @id, @state, @payload, 1, UTC_TIMESTAMP(6))
              """
            : """
              UPDATE grain_state SET payload = @payload, version = version + 1, updated_at = UTC_TIMESTAMP(6)
              WHERE grain_type = @type AND grain_id = @id AND state_name = @state AND version = @expected
              """);
        write.Key.AddParameters(statement.Parameters);
        statement.Parameters.AddWithValue("@payload", write.Payload);
        if (write.Expected is { } expected)
        {
            statement.Parameters.AddWithValue("@expected", expected);
        }

        return statement;
    }

    private static async Task RollBackAsync(MySqlConnection connection)
    {
        try
        {
            await using var rollback = connection.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MySqlException or InvalidOperationException or IOException)
        {
            // The session is gone: the server has rolled the transaction back already.
        }
    }

    private sealed class PendingWrite(StateKey key, byte[]? payload, long? expected)
    {
        public StateKey Key { get; } = key;

        public byte[]? Payload { get; } = payload;

        public long? Expected { get; } = expected;

        // Run the writer's continuation elsewhere, so one caller's work never delays the next commit.
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
