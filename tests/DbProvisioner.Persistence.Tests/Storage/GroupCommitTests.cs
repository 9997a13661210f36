using System.Globalization;
using DbProvisioner.Persistence.Storage;
using MySqlConnector;
using Orleans.Storage;

namespace DbProvisioner.Persistence.Tests.Storage;

/// <summary>
/// Issue 13: writes from many grains that arrive together share one transaction, and each writer still hears its own
/// outcome only after the commit. Batches are made deterministic by holding a row lock (a "gate") that the batch in
/// flight waits on, so that what is written meanwhile queues for the next batch.
/// </summary>
[Category("MetaDb")]
public sealed class GroupCommitTests
{
    private const string StateName = "counter";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Test]
    public async Task TwoHundredConcurrentWritesToDistinctKeys_AllLand_InFewCommits()
    {
        var storage = StorageHarness.Create(MetaDbTestDatabase.Connections);
        var ids = Enumerable.Range(0, 200).Select(_ => StorageHarness.NewGrainId()).ToArray();

        using var start = new ManualResetEventSlim();
        var writes = ids.Select((id, i) => Task.Run(async () =>
        {
            var state = new GrainState<CounterState>(new CounterState(i, $"writer-{i}", []));
            start.Wait();
            await storage.WriteStateAsync(StateName, id, state, CancellationToken.None);
            return state.ETag;
        })).ToArray();
        start.Set();
        var etags = await Task.WhenAll(writes);

        Assert.That(etags, Is.All.EqualTo("1"));
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.That((await ReadAsync(storage, ids[i])).State!.LastBy, Is.EqualTo($"writer-{i}"));
        }

        Assert.That(storage.GroupCommit.Rows, Is.EqualTo(200));
        Assert.That(storage.GroupCommit.Commits, Is.LessThanOrEqualTo(20), "200 writes that arrive together share a few commits, not one each");
    }

    [Test]
    public async Task AStaleVersionInABatch_FailsOnlyThatRow_AndTheOthersCommit()
    {
        var storage = StorageHarness.Create(MetaDbTestDatabase.Connections);
        var gateId = await SeedAsync(storage);
        var staleId = StorageHarness.NewGrainId();
        var stale = new GrainState<CounterState>(new CounterState(1, "first", []));
        await storage.WriteStateAsync(StateName, staleId, stale, CancellationToken.None);
        var fresh = Enumerable.Range(0, 5).Select(_ => StorageHarness.NewGrainId()).ToArray();
        var commitsBefore = storage.GroupCommit.Commits;

        Task gateWrite;
        Task staleWrite;
        Task[] freshWrites;
        await using (var gate = await RowLock.TakeAsync(gateId))
        {
            gateWrite = storage.WriteStateAsync(StateName, gateId, new GrainState<CounterState>(new CounterState(2, "gate", []), "1"), CancellationToken.None);
            await gate.WaitUntilSomeoneWaitsAsync();
            staleWrite = storage.WriteStateAsync(StateName, staleId, new GrainState<CounterState>(new CounterState(99, "stale", []), "7"), CancellationToken.None);
            freshWrites = fresh.Select((id, i) => storage.WriteStateAsync(StateName, id, new GrainState<CounterState>(new CounterState(i, $"fresh-{i}", [])), CancellationToken.None)).ToArray();
            await WaitUntilAsync(() => storage.GroupCommit.Queued == 6);
        }

        await gateWrite;
        Assert.ThrowsAsync<InconsistentStateException>(() => staleWrite);
        await Task.WhenAll(freshWrites);
        Assert.That(storage.GroupCommit.Commits - commitsBefore, Is.EqualTo(2), "the gate's batch, then one batch of the six queued behind it");
        Assert.That((await ReadAsync(storage, staleId)).State!.LastBy, Is.EqualTo("first"), "the stale write changed nothing");
        for (var i = 0; i < fresh.Length; i++)
        {
            var stored = await ReadAsync(storage, fresh[i]);
            Assert.That((stored.ETag, stored.State!.LastBy), Is.EqualTo(("1", $"fresh-{i}")));
        }
    }

    [Test]
    public async Task AConnectionKilledMidBatch_FailsEveryWriterOfIt_AndTheirRetriesLandOnce()
    {
        var storage = StorageHarness.Create(MetaDbTestDatabase.Connections);
        var firstGateId = await SeedAsync(storage);
        var secondGateId = await SeedAsync(storage);
        var others = Enumerable.Range(0, 5).Select(_ => StorageHarness.NewGrainId()).ToArray();
        var group = storage.GroupCommit;

        Task<bool>[] batch;
        await using (var secondGate = await RowLock.TakeAsync(secondGateId))
        {
            await using (var firstGate = await RowLock.TakeAsync(firstGateId))
            {
                var first = group.WriteAsync(Key(firstGateId), [1], expected: 1);
                await firstGate.WaitUntilSomeoneWaitsAsync();
                batch = [.. others.Select(id => group.WriteAsync(Key(id), [2], expected: null)), group.WriteAsync(Key(secondGateId), [3], expected: 1)];
                await WaitUntilAsync(() => group.Queued == batch.Length);
                await firstGate.DisposeAsync();
                Assert.That(await first, Is.True);
            }

            // The second batch holds its five inserts and now waits on the second gate, inside one open transaction.
            var session = await secondGate.WaitUntilSomeoneWaitsAsync();
            await RowLock.KillAsync(session);
            foreach (var write in batch)
            {
                Assert.ThrowsAsync(Is.InstanceOf<Exception>(), () => write, "a writer of a killed batch is never told its row is stored");
            }
        }

        foreach (var id in others)
        {
            Assert.That((await ReadAsync(storage, id)).RecordExists, Is.False, "nothing of the killed batch was stored");
        }

        var retries = others.Select(id => new GrainState<CounterState>(new CounterState(5, "retry", []))).ToArray();
        await Task.WhenAll(others.Select((id, i) => storage.WriteStateAsync(StateName, id, retries[i], CancellationToken.None)));
        var gateRetry = new GrainState<CounterState>(new CounterState(6, "gate retry", []), "1");
        await storage.WriteStateAsync(StateName, secondGateId, gateRetry, CancellationToken.None);

        Assert.That(retries.Select(r => r.ETag), Is.All.EqualTo("1"), "each retried first write is version 1: not lost, not applied twice");
        Assert.That(gateRetry.ETag, Is.EqualTo("2"));
        Assert.That((await ReadAsync(storage, secondGateId)).State!.LastBy, Is.EqualTo("gate retry"));
    }

    private static StateKey Key(GrainId id) => StateKey.Of(StateName, id);

    private static async Task<GrainId> SeedAsync(MySqlGrainStorage storage)
    {
        var id = StorageHarness.NewGrainId();
        await storage.WriteStateAsync(StateName, id, new GrainState<CounterState>(new CounterState(0, "seed", [])), CancellationToken.None);
        return id;
    }

    private static async Task<GrainState<CounterState>> ReadAsync(MySqlGrainStorage storage, GrainId id)
    {
        var state = new GrainState<CounterState>();
        await storage.ReadStateAsync(StateName, id, state, CancellationToken.None);
        return state;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("condition not met in time");
            await Task.Delay(10);
        }
    }

    /// <summary>A transaction of the test's own that holds one grain_state row locked until disposed.</summary>
    private sealed class RowLock : IAsyncDisposable
    {
        private MySqlConnection? _connection;

        private RowLock(MySqlConnection connection) => _connection = connection;

        public static async Task<RowLock> TakeAsync(GrainId id)
        {
            var connection = await MetaDbTestDatabase.Connections.OpenConnectionAsync(CancellationToken.None);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                START TRANSACTION;
                SELECT version FROM grain_state WHERE grain_type = @type AND grain_id = @id AND state_name = @state FOR UPDATE;
                """;
            command.Parameters.AddWithValue("@type", id.Type.ToString());
            command.Parameters.AddWithValue("@id", id.Key.ToString());
            command.Parameters.AddWithValue("@state", StateName);
            await command.ExecuteNonQueryAsync();
            return new RowLock(connection);
        }

        /// <summary>Waits until another session waits for this lock; answers that session's id.</summary>
        public async Task<long> WaitUntilSomeoneWaitsAsync()
        {
            var deadline = DateTime.UtcNow + Patience;
            while (true)
            {
                await using (var command = _connection!.CreateCommand())
                {
                    // MariaDB's lock-wait tables missed these waits: an UPDATE of grain_state still running after 200 ms, while
                    // this lock is held and nothing else writes, is a writer waiting for it.
                    command.CommandText = """
                        SELECT ID FROM information_schema.PROCESSLIST
                        WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND COMMAND = 'Query' AND INFO LIKE 'UPDATE grain_state%' AND TIME_MS > 200
                        LIMIT 1
                        """;
                    if (await command.ExecuteScalarAsync() is { } id and not DBNull) return Convert.ToInt64(id, CultureInfo.InvariantCulture);
                }

                if (DateTime.UtcNow > deadline) Assert.Fail("no session came to wait for the row lock; sessions: " + await SessionsAsync());
                await Task.Delay(10);
            }
        }

        private async Task<string> SessionsAsync()
        {
            await using var command = _connection!.CreateCommand();
            command.CommandText = "SELECT GROUP_CONCAT(CONCAT(ID, ' ', COMMAND, ' ', COALESCE(STATE, ''), ' ', LEFT(COALESCE(INFO, ''), 60)) SEPARATOR ' | ') FROM information_schema.PROCESSLIST WHERE DB = DATABASE()";
            return Convert.ToString(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture) ?? "";
        }

        public static async Task KillAsync(long session)
        {
            await using var connection = await MetaDbTestDatabase.Connections.OpenConnectionAsync(CancellationToken.None);
            await using var command = connection.CreateCommand();
            command.CommandText = string.Create(CultureInfo.InvariantCulture, $"KILL CONNECTION {session}");
            await command.ExecuteNonQueryAsync();
        }

        public async ValueTask DisposeAsync()
        {
            if (_connection is null) return;
            await using (var command = _connection.CreateCommand())
            {
                command.CommandText = "ROLLBACK";
                await command.ExecuteNonQueryAsync();
            }

            await _connection.DisposeAsync();
            _connection = null;
        }
    }
}
