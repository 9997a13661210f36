using DbProvisioner.Api;
using DbProvisioner.Contracts;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

/// <summary>
/// How an instance is stored: one write per step carries the new state and its audit row (the outbox); the view
/// served is the one last stored; after a write the meta database did not take, memory goes back to what is stored
/// and the step is tried again. Audit rows and the derived catalog entry are written after the state, retried until
/// they are, and written once (the audit trail keys each row).
/// </summary>
public sealed partial class InstanceGrain
{
    private static readonly TimeSpan StorageRetryDelay = TimeSpan.FromSeconds(1);

    private InstanceView? _stored;
    private bool _reloadNeeded;
    private Task? _flush;
    private IGrainTimer? _afterStoredTimer;

    /// <summary>One step's audit row, made into an event once the state version it records is known.</summary>
    private readonly record struct StepNote(string Step, string Outcome, string? Detail, double DurationMs);

    private static StepNote Audited(string step, string outcome, string? detail, double durationMs) => new(step, outcome, detail, durationMs);

    /// <summary>The state was read or written: what it holds now is what is stored, and may be served.</summary>
    private void MarkStored()
    {
        _reloadNeeded = false;
        _stored = S.State.Length == 0 ? null : View();
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    /// <summary>Writes the state (one write: the step and its audit row), or puts memory back to what is stored and throws.</summary>
    private async Task PersistAsync(StepNote note, bool bumpVersion = true, StepNote? before = null)
    {
        if (bumpVersion) S.Version++;
        var finding = bumpVersion ? null : clock.GetUtcNow().UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (before is { } first) S.Outbox.Add(PendingAudit.Of(EventOf(first), finding));
        S.Outbox.Add(PendingAudit.Of(EventOf(note), finding));
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _reloadNeeded = true;
            await TryReloadAsync();
            throw new StorageUnavailableException($"instance {Id}: state not stored: {(e.InnerException ?? e).Message}", e);
        }
        MarkStored();
        await AfterStoredAsync();
    }

    /// <summary>Before a request acts on the state: it must be what is stored, else the request fails (503) and changes nothing.</summary>
    private async Task EnsureStoredAsync()
    {
        if (_reloadNeeded && !await TryReloadAsync())
            throw new StorageUnavailableException($"instance {Id}: the meta database does not answer; nothing was changed");
    }

    private async Task<bool> TryReloadAsync()
    {
        try
        {
            await state.ReadStateAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("Instance {InstanceId}: cannot read its stored state yet ({Reason})", Id, e.Message);
            return false;
        }
        MarkStored();
        ScheduleAfterStored();
        return true;
    }

    /// <summary>
    /// Audit rows waiting in the outbox, then the catalog entry; what fails is tried again on a timer. A flush under way
    /// (the timer's) may have read the state before this write, so the caller waits for it and then flushes itself:
    /// when a step's write returns, its row and its catalog entry have been sent.
    /// </summary>
    private async Task AfterStoredAsync()
    {
        while (_flush is { IsCompleted: false } running) await running;
        _flush = FlushAsync();
        await _flush;
    }

    private async Task FlushAsync()
    {
        bool done;
        try
        {
            var spec = S.Spec;
            done = await AuditOutbox.FlushAsync(S.Outbox, audit, logger);
            if (spec is not null && _stored is { } stored)
            {
                await GrainFactory.For(Id).UpsertInstanceAsync(new InstanceSummary(Id, stored.State, spec.Cluster, spec.Shard, stored.Host));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("Instance {InstanceId}: catalog entry not written yet ({Reason}); trying again", Id, e.Message);
            done = false;
        }

        if (done)
        {
            _afterStoredTimer?.Dispose();
            _afterStoredTimer = null;
        }
        else
        {
            ScheduleAfterStored();
        }
    }

    private void ScheduleAfterStored()
    {
        _afterStoredTimer ??= this.RegisterGrainTimer(async _ =>
        {
            if (_reloadNeeded) return; // the loop or the next request reads the state again first
            await AfterStoredAsync();
        }, new GrainTimerCreationOptions(TimeSpan.Zero, StorageRetryDelay));
    }

    /// <summary>A row about a try that changes no state (a retried removal step): written now, best effort.</summary>
    private async Task AuditNowAsync(string step, string outcome, string? detail, double durationMs)
    {
        try
        {
            await audit.AppendAsync(EventOf(new StepNote(step, outcome, detail, durationMs)), CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError("Instance {InstanceId}: audit row for {Step} not written: {Error}", Id, step, e.Message);
        }
    }

    private AuditEvent EventOf(StepNote note)
    {
        var details = new Dictionary<string, string> { ["durationMs"] = note.DurationMs.ToString("0", System.Globalization.CultureInfo.InvariantCulture) };
        if (S.Host is { } host) details["host"] = host.HostId;
        if (S.Reservation is { } r)
        {
            details["cpus"] = r.Cpu.Cpus.ToString();
            details["port"] = r.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            details["disk"] = r.Disk.Id;
        }
        var removing = S.RemovalRequestId is not null;
        return new AuditEvent(removing ? S.RemovalApprovedBy ?? "system" : S.RequestedBy,
            (removing ? "removal." : "provisioning.") + note.Step, "instance", Id, note.Outcome, S.RemovalRequestId, S.Version, details, note.Detail);
    }
}
