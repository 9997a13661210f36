using DbProvisioner.Api;
using DbProvisioner.Contracts;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

/// <summary>
/// What follows a stored change: the audit rows waiting in the outbox, then the instance's entry in the catalog (a
/// derived index for lists). What fails is tried again on a timer until it is written; each row is written once.
/// </summary>
public sealed partial class InstanceGrain
{
    private Task? _flush;
    private IGrainTimer? _afterStoredTimer;

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
        }, new GrainTimerCreationOptions(TimeSpan.Zero, InstanceRetries.StorageDelay));
    }

    /// <summary>A row about a try that changes no state (a retried removal step): written now, best effort.</summary>
    private async Task AuditNowAsync(string step, string outcome, string? detail, double durationMs)
    {
        try
        {
            await audit.AppendAsync(InstanceAudit.EventOf(Id, S, new StepNote(step, outcome, detail, durationMs)), CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError("Instance {InstanceId}: audit row for {Step} not written: {Error}", Id, step, e.Message);
        }
    }
}
