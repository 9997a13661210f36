using System.Collections.Concurrent;
using DbProvisioner.Grains;

namespace DbProvisioner.Testing.Simulation;

/// <summary>
/// The audit trail kept in memory, so tests can read what was recorded. Like the meta database's trail, an event whose
/// key was written before is not written again; <see cref="FailWrites"/> makes it refuse every row, as a trail that is away.
/// </summary>
public sealed class RecordingAuditSink : IAuditSink
{
    private readonly ConcurrentQueue<AuditEvent> _events = new();
    private readonly ConcurrentDictionary<string, bool> _keys = new(StringComparer.Ordinal);

    public bool FailWrites { get; set; }

    private int _duplicates;

    /// <summary>How many times an event was sent again under a key already written.</summary>
    public int Duplicates => Volatile.Read(ref _duplicates);

    public IReadOnlyList<AuditEvent> Events => [.. _events];

    public IReadOnlyList<AuditEvent> About(string subjectId) => [.. _events.Where(e => e.SubjectId == subjectId)];

    public Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        if (FailWrites) throw new InvalidOperationException("the audit trail is away (simulated)");
        if (auditEvent.EventKey is { } key && !_keys.TryAdd(key, true))
        {
            Interlocked.Increment(ref _duplicates);
            return Task.CompletedTask;
        }
        _events.Enqueue(auditEvent);
        return Task.CompletedTask;
    }
}
