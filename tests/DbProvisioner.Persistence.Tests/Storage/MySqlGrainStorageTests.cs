using DbProvisioner.Persistence.Storage;
using System.Globalization;
using Orleans.Storage;

namespace DbProvisioner.Persistence.Tests.Storage;

[Category("MetaDb")]
public sealed class MySqlGrainStorageTests
{
    private const string StateName = "counter";

    private MySqlGrainStorage _storage = null!;

    [SetUp]
    public void CreateStorage() => _storage = StorageHarness.Create(MetaDbTestDatabase.Connections);

    [Test]
    public async Task ReadingAStateNeverWritten_GivesTheDefaultAndNoETag()
    {
        var state = new GrainState<CounterState>(new CounterState(7, "stale", []), "99");

        await _storage.ReadStateAsync(StateName, StorageHarness.NewGrainId(), state, CancellationToken.None);

        Assert.That(state.RecordExists, Is.False);
        Assert.That(state.ETag, Is.Null);
        Assert.That(state.State!.Count, Is.Zero);
    }

    [Test]
    public async Task WriteReadClear_RoundTrip()
    {
        var grainId = StorageHarness.NewGrainId();
        var written = new GrainState<CounterState>(new CounterState(3, "alice", ["a", "b"]));

        await _storage.WriteStateAsync(StateName, grainId, written, CancellationToken.None);
        Assert.That(written.ETag, Is.EqualTo("1"));
        Assert.That(written.RecordExists, Is.True);

        var read = await ReadAsync(grainId);
        Assert.That(read.RecordExists, Is.True);
        Assert.That(read.ETag, Is.EqualTo("1"));
        Assert.That(read.State!.Count, Is.EqualTo(3));
        Assert.That(read.State!.LastBy, Is.EqualTo("alice"));
        Assert.That(read.State!.History, Is.EqualTo(new[] { "a", "b" }));

        read.State = read.State! with { Count = 4 };
        await _storage.WriteStateAsync(StateName, grainId, read, CancellationToken.None);
        Assert.That(read.ETag, Is.EqualTo("2"));
        Assert.That((await ReadAsync(grainId)).State!.Count, Is.EqualTo(4));

        await _storage.ClearStateAsync(StateName, grainId, read, CancellationToken.None);
        Assert.That(read.RecordExists, Is.False);
        Assert.That(read.ETag, Is.EqualTo("3"), "a clear is a new version (tombstone)");

        var cleared = await ReadAsync(grainId);
        Assert.That(cleared.RecordExists, Is.False);
        Assert.That(cleared.ETag, Is.EqualTo("3"));
        Assert.That(cleared.State!.Count, Is.Zero);

        // Writing again after a clear continues from the tombstone's version.
        cleared.State = new CounterState(1, "bob", []);
        await _storage.WriteStateAsync(StateName, grainId, cleared, CancellationToken.None);
        Assert.That(cleared.ETag, Is.EqualTo("4"));
        Assert.That((await ReadAsync(grainId)).State!.LastBy, Is.EqualTo("bob"));
    }

    [Test]
    public async Task AStaleETag_FailsWithInconsistentState_AndChangesNothing()
    {
        var grainId = StorageHarness.NewGrainId();
        var first = new GrainState<CounterState>(new CounterState(1, "first", []));
        await _storage.WriteStateAsync(StateName, grainId, first, CancellationToken.None);
        var stale = await ReadAsync(grainId);
        first.State = new CounterState(2, "second", []);
        await _storage.WriteStateAsync(StateName, grainId, first, CancellationToken.None);
        var before = await RawRowAsync(grainId);

        stale.State = new CounterState(100, "stale", []);
        var error = Assert.ThrowsAsync<InconsistentStateException>(
            () => _storage.WriteStateAsync(StateName, grainId, stale, CancellationToken.None));

        Assert.That(error!.StoredEtag, Is.EqualTo("2"));
        Assert.That(error.CurrentEtag, Is.EqualTo("1"));
        Assert.That(stale.ETag, Is.EqualTo("1"), "the caller's ETag is left alone");
        Assert.That(await RawRowAsync(grainId), Is.EqualTo(before), "payload, version and time are untouched");
        Assert.That((await ReadAsync(grainId)).State!.LastBy, Is.EqualTo("second"));

        Assert.ThrowsAsync<InconsistentStateException>(
            () => _storage.ClearStateAsync(StateName, grainId, stale, CancellationToken.None));
        Assert.That(await RawRowAsync(grainId), Is.EqualTo(before), "a stale clear changes nothing either");
    }

    [Test]
    public async Task AFirstWrite_WhenSomeoneElseWroteFirst_IsAConflict()
    {
        var grainId = StorageHarness.NewGrainId();
        await _storage.WriteStateAsync(StateName, grainId, new GrainState<CounterState>(new CounterState(1, "winner", [])), CancellationToken.None);

        var late = new GrainState<CounterState>(new CounterState(1, "late", []));
        var error = Assert.ThrowsAsync<InconsistentStateException>(
            () => _storage.WriteStateAsync(StateName, grainId, late, CancellationToken.None));

        Assert.That(error!.StoredEtag, Is.EqualTo("1"));
        Assert.That((await ReadAsync(grainId)).State!.LastBy, Is.EqualTo("winner"));
    }

    [Test]
    public async Task AnETagFromBeforeAClear_CanNeverMatchAgain()
    {
        var grainId = StorageHarness.NewGrainId();
        var owner = new GrainState<CounterState>(new CounterState(1, "v1", []));
        await _storage.WriteStateAsync(StateName, grainId, owner, CancellationToken.None);
        var holderOfVersion1 = await ReadAsync(grainId);

        await _storage.ClearStateAsync(StateName, grainId, owner, CancellationToken.None);
        var fresh = await ReadAsync(grainId);
        fresh.State = new CounterState(1, "after-clear", []);
        await _storage.WriteStateAsync(StateName, grainId, fresh, CancellationToken.None);

        holderOfVersion1.State = new CounterState(9, "resurrected", []);
        Assert.ThrowsAsync<InconsistentStateException>(
            () => _storage.WriteStateAsync(StateName, grainId, holderOfVersion1, CancellationToken.None));
        Assert.That((await ReadAsync(grainId)).State!.LastBy, Is.EqualTo("after-clear"));
    }

    [Test]
    public async Task ConcurrentWritersWithTheSameETag_ExactlyOneWins()
    {
        const int writers = 8;
        var grainId = StorageHarness.NewGrainId();
        await _storage.WriteStateAsync(StateName, grainId, new GrainState<CounterState>(new CounterState(0, "seed", [])), CancellationToken.None);

        using var start = new ManualResetEventSlim();
        var attempts = Enumerable.Range(0, writers).Select(i => Task.Run(async () =>
        {
            var mine = new GrainState<CounterState>(new CounterState(i, $"writer-{i}", []), "1");
            start.Wait();
            try
            {
                await _storage.WriteStateAsync(StateName, grainId, mine, CancellationToken.None);
                return (Writer: i, Won: true);
            }
            catch (InconsistentStateException)
            {
                return (Writer: i, Won: false);
            }
        })).ToArray();
        start.Set();
        var outcomes = await Task.WhenAll(attempts);

        var winners = outcomes.Where(o => o.Won).ToArray();
        Assert.That(winners, Has.Length.EqualTo(1));
        var stored = await ReadAsync(grainId);
        Assert.That(stored.ETag, Is.EqualTo("2"));
        Assert.That(stored.State!.LastBy, Is.EqualTo($"writer-{winners[0].Writer}"));
    }

    [Test]
    public async Task StateSurvivesANewStorageInstanceAndPool()
    {
        var grainId = StorageHarness.NewGrainId();
        await _storage.WriteStateAsync(StateName, grainId, new GrainState<CounterState>(new CounterState(42, "before-restart", ["x"])), CancellationToken.None);

        await using var restartedPool = new MetaDbConnectionFactory(MetaDbTestDatabase.Options);
        var restarted = StorageHarness.Create(restartedPool);
        var read = new GrainState<CounterState>();
        await restarted.ReadStateAsync(StateName, grainId, read, CancellationToken.None);

        Assert.That(read.RecordExists, Is.True);
        Assert.That(read.ETag, Is.EqualTo("1"));
        Assert.That(read.State, Has.Property(nameof(CounterState.Count)).EqualTo(42).And.Property(nameof(CounterState.LastBy)).EqualTo("before-restart"));
    }

    [Test]
    public async Task StatesAreKeyedByGrainTypeIdAndStateName()
    {
        var grainId = StorageHarness.NewGrainId();
        var sameKeyOtherType = GrainId.Create("othertype", grainId.Key.ToString()!);
        await _storage.WriteStateAsync("a", grainId, new GrainState<CounterState>(new CounterState(1, "a", [])), CancellationToken.None);
        await _storage.WriteStateAsync("b", grainId, new GrainState<CounterState>(new CounterState(2, "b", [])), CancellationToken.None);
        await _storage.WriteStateAsync("a", sameKeyOtherType, new GrainState<CounterState>(new CounterState(3, "other", [])), CancellationToken.None);

        var a = new GrainState<CounterState>();
        var b = new GrainState<CounterState>();
        var other = new GrainState<CounterState>();
        await _storage.ReadStateAsync("a", grainId, a, CancellationToken.None);
        await _storage.ReadStateAsync("b", grainId, b, CancellationToken.None);
        await _storage.ReadStateAsync("a", sameKeyOtherType, other, CancellationToken.None);

        Assert.That(new[] { a.State!.LastBy, b.State!.LastBy, other.State!.LastBy }, Is.EqualTo(new[] { "a", "b", "other" }));
    }

    [Test]
    public void AForeignETag_IsAConflictNotACrash()
    {
        var state = new GrainState<CounterState>(new CounterState(0, null, []), "W/\"0x8DB\"");

        Assert.ThrowsAsync<InconsistentStateException>(
            () => _storage.WriteStateAsync(StateName, StorageHarness.NewGrainId(), state, CancellationToken.None));
    }

    private async Task<GrainState<CounterState>> ReadAsync(GrainId grainId)
    {
        var state = new GrainState<CounterState>();
        await _storage.ReadStateAsync(StateName, grainId, state, CancellationToken.None);
        return state;
    }

    private static async Task<string> RawRowAsync(GrainId grainId)
    {
        await using var connection = await MetaDbTestDatabase.Connections.OpenConnectionAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT CONCAT(HEX(payload), '|', version, '|', updated_at) FROM grain_state
            WHERE grain_type = @type AND grain_id = @id AND state_name = @state
            """;
        command.Parameters.AddWithValue("@type", grainId.Type.ToString());
        command.Parameters.AddWithValue("@id", grainId.Key.ToString());
        command.Parameters.AddWithValue("@state", StateName);
        return Convert.ToString(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture)!;
    }
}
