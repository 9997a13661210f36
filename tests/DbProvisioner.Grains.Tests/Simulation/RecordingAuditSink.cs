using System.Collections.Concurrent;

namespace DbProvisioner.Grains.Tests.Simulation;

/// <summary>The audit trail kept in memory, so tests can read what was recorded.</summary>
public sealed class RecordingAuditSink : IAuditSink
{
    private readonly ConcurrentQueue<AuditEvent> _events = new();

    public IReadOnlyList<AuditEvent> Events => [.. _events];

    public IReadOnlyList<AuditEvent> About(string subjectId) => [.. _events.Where(e => e.SubjectId == subjectId)];

    public Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        _events.Enqueue(auditEvent);
        return Task.CompletedTask;
    }
}
