namespace DbProvisioner.Testing.Simulation;

/// <summary>
/// Makes one kind of simulated call wait until released, so a test sees the control plane mid-call at a point it
/// chose instead of racing a delay. Calls that began while held all go on at <see cref="Release"/>.
/// </summary>
public sealed class SimulatedHold
{
    private readonly object _gate = new();
    private TaskCompletionSource? _hold;
    private int _waiting;

    /// <summary>How many calls are waiting on the hold now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public void Hold()
    {
        lock (_gate) _hold ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Release()
    {
        TaskCompletionSource? hold;
        lock (_gate)
        {
            hold = _hold;
            _hold = null;
        }
        hold?.TrySetResult();
    }

    /// <summary>Completes at once when not held; otherwise when released (or cancelled).</summary>
    public async Task PassAsync(CancellationToken cancellationToken)
    {
        Task hold;
        lock (_gate) hold = _hold?.Task ?? Task.CompletedTask;
        if (hold.IsCompleted) return;
        Interlocked.Increment(ref _waiting);
        try
        {
            await hold.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }
}
