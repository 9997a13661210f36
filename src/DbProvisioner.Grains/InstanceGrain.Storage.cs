using DbProvisioner.Api;
using DbProvisioner.Contracts;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

/// <summary>
/// How an instance is stored: one write per step carries the new state and its audit row (the outbox); the view
/// served is the one last stored; after a write the meta database did not take, memory goes back to what is stored
/// and the step is tried again. Audit rows and the derived catalog entry are written after the state (see
/// InstanceGrain.AfterStored.cs), retried until they are, and written once (the audit trail keys each row).
/// </summary>
public sealed partial class InstanceGrain
{
    private InstanceView? _stored;
    private InstanceState? _storedState;
    private bool _reloadNeeded;

    /// <summary>The state was read or written: what it holds now is what is stored, and may be served.</summary>
    private void MarkStored()
    {
        _reloadNeeded = false;
        _storedState = S.State;
        _stored = _storedState is null ? null : View();
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    /// <summary>Writes the state (one write: the step and its audit row), then sends the row and the catalog entry.</summary>
    private async Task PersistAsync(StepNote note, bool bumpVersion = true, StepNote? before = null)
    {
        await WriteAsync(note, bumpVersion, before);
        await AfterStoredAsync();
    }

    /// <summary>Writes the state (one write: the step and its audit row), or puts memory back to what is stored and throws.</summary>
    private async Task WriteAsync(StepNote note, bool bumpVersion = true, StepNote? before = null)
    {
        if (bumpVersion) S.Version++;
        var finding = bumpVersion ? null : clock.GetUtcNow().UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (before is { } first) S.Outbox.Add(PendingAudit.Of(InstanceAudit.EventOf(Id, S, first), finding));
        S.Outbox.Add(PendingAudit.Of(InstanceAudit.EventOf(Id, S, note), finding));
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
}
