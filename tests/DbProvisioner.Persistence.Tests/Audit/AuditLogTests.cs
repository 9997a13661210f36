using System.Text.Json;
using DbProvisioner.Persistence.Audit;
using Microsoft.Extensions.Time.Testing;
using MySqlConnector;

namespace DbProvisioner.Persistence.Tests.Audit;

[Category("MetaDb")]
public sealed class AuditLogTests
{
    private static readonly DateTimeOffset Start = new(2031, 3, 4, 10, 0, 0, TimeSpan.Zero);

    private FakeTimeProvider _clock = null!;
    private AuditLog _audit = null!;
    private string _subject = null!;

    [SetUp]
    public void CreateLog()
    {
        _clock = new FakeTimeProvider(Start);
        _audit = new AuditLog(MetaDbTestDatabase.Connections, _clock);
        _subject = $"inst-{Guid.NewGuid():N}";
    }

    [Test]
    public async Task RowsAppendAndComeBackInOrder_WithEveryField()
    {
        var requested = await AppendAsync("carol", "scale-down.request", AuditOutcomes.Requested, version: 7,
            details: JsonSerializer.SerializeToElement(new { risks = new[] { "last-replica" }, shard = "s1" }));
        var refused = await AppendAsync("carol", "scale-down.approve", AuditOutcomes.Refused, version: 7);
        var approved = await AppendAsync("dave", "scale-down.approve", AuditOutcomes.Succeeded, version: 7);

        var rows = await _audit.QueryAsync(new AuditQuery { SubjectType = "instance", SubjectId = _subject }, CancellationToken.None);

        Assert.That(rows.Select(r => r.Id), Is.EqualTo(new[] { requested.Id, refused.Id, approved.Id }));
        Assert.That(rows.Select(r => r.Id), Is.Ordered.Ascending);
        Assert.That(rows.Select(r => r.At), Is.EqualTo(new[] { Start, Start.AddSeconds(1), Start.AddSeconds(2) }));
        var first = rows[0];
        Assert.That(first.Actor, Is.EqualTo("carol"));
        Assert.That(first.Action, Is.EqualTo("scale-down.request"));
        Assert.That(first.Outcome, Is.EqualTo(AuditOutcomes.Requested));
        Assert.That(first.RequestId, Is.EqualTo($"req-{_subject}"));
        Assert.That(first.StateVersion, Is.EqualTo(7));
        Assert.That(first.Details!.Value.GetProperty("risks")[0].GetString(), Is.EqualTo("last-replica"));
        Assert.That(rows[1].Details, Is.Null);
    }

    [Test]
    public async Task Filters_ByActorActionTimeAndLimit_AndPagesWithAfterId()
    {
        for (var i = 0; i < 5; i++)
        {
            await AppendAsync(i % 2 == 0 ? "erin" : "frank", i < 3 ? "provision.step" : "scale-down.request", AuditOutcomes.Succeeded);
        }

        var bySubject = new AuditQuery { SubjectType = "instance", SubjectId = _subject };

        var erin = await _audit.QueryAsync(bySubject with { Actor = "erin" }, CancellationToken.None);
        Assert.That(erin.Select(r => r.At), Is.EqualTo(new[] { Start, Start.AddSeconds(2), Start.AddSeconds(4) }));

        var steps = await _audit.QueryAsync(bySubject with { Action = "provision.step", Actor = "frank" }, CancellationToken.None);
        Assert.That(steps.Select(r => r.At), Is.EqualTo(new[] { Start.AddSeconds(1) }));

        var window = await _audit.QueryAsync(bySubject with { From = Start.AddSeconds(1), To = Start.AddSeconds(3) }, CancellationToken.None);
        Assert.That(window.Select(r => r.At), Is.EqualTo(new[] { Start.AddSeconds(1), Start.AddSeconds(2) }), "from inclusive, to exclusive");

        var page1 = await _audit.QueryAsync(bySubject with { Limit = 2 }, CancellationToken.None);
        var page2 = await _audit.QueryAsync(bySubject with { Limit = 2, AfterId = page1[^1].Id }, CancellationToken.None);
        var page3 = await _audit.QueryAsync(bySubject with { Limit = 2, AfterId = page2[^1].Id }, CancellationToken.None);
        Assert.That(page1.Concat(page2).Concat(page3).Select(r => r.At), Is.EqualTo(Enumerable.Range(0, 5).Select(s => Start.AddSeconds(s))));
        Assert.That(page3, Has.Count.EqualTo(1));
    }

    [Test]
    public void DetailsNamedLikeASecret_AreRefusedBeforeTheyReachTheTable()
    {
        var details = JsonSerializer.SerializeToElement(new { endpoint = "10.0.0.1:3307", credentials = new { user = "app" } });

        Assert.ThrowsAsync<ArgumentException>(() => AppendAsync("gina", "instance.ready", AuditOutcomes.Succeeded, details: details));
        Assert.ThrowsAsync<ArgumentException>(() => AppendAsync("gina", "instance.ready", AuditOutcomes.Succeeded,
            details: JsonSerializer.SerializeToElement(new[] { new { rootPassword = "x" } })));
    }

    [Test]
    public void ABadQueryLimit_IsRefused()
    {
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _audit.QueryAsync(new AuditQuery { Limit = 0 }, CancellationToken.None));
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _audit.QueryAsync(new AuditQuery { Limit = 1001 }, CancellationToken.None));
    }

    [Test]
    public async Task TheTableRefusesUpdateAndDelete_EvenFromOtherCode()
    {
        var row = await AppendAsync("henry", "host.cordon", AuditOutcomes.Succeeded);
        await using var connection = await MetaDbTestDatabase.Connections.OpenConnectionAsync(CancellationToken.None);

        foreach (var sql in new[] { "UPDATE audit SET outcome = 'failed' WHERE id = @id", "DELETE FROM audit WHERE id = @id" })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("@id", row.Id);
            var error = Assert.ThrowsAsync<MySqlException>(() => command.ExecuteNonQueryAsync());
            Assert.That(error!.Message, Does.Contain("append-only"));
        }

        var rows = await _audit.QueryAsync(new AuditQuery { SubjectId = _subject }, CancellationToken.None);
        Assert.That(rows.Single().Outcome, Is.EqualTo(AuditOutcomes.Succeeded));
    }

    private async Task<AuditRecord> AppendAsync(string actor, string action, string outcome, long? version = null, JsonElement? details = null)
    {
        var record = await _audit.AppendAsync(
            new AuditEntry(actor, action, "instance", _subject, outcome, $"req-{_subject}", version, details),
            CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(1));
        return record;
    }
}
