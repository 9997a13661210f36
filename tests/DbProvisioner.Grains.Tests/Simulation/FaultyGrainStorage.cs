using System.Collections.Concurrent;
using DbProvisioner.Contracts;
using Orleans.Storage;

namespace DbProvisioner.Grains.Tests.Simulation;

/// <summary>
/// Grain storage that passes every call to the in-memory storage underneath, except the calls a test arms to fail as a
/// meta database that is away would (<see cref="StorageUnavailableException"/>, nothing written). A fake for grain
/// unit tests; the meta database itself is restarted for real in the end-to-end fault suites.
/// </summary>
public sealed class FaultyGrainStorage(IGrainStorage inner) : IGrainStorage
{
    private readonly ConcurrentDictionary<Guid, Func<GrainId, object?, bool>> _failWrites = new();
    private readonly ConcurrentDictionary<Guid, Func<GrainId, bool>> _failReads = new();
    private int _refusedWrites;

    /// <summary>How many writes were refused so far.</summary>
    public int RefusedWrites => Volatile.Read(ref _refusedWrites);

    /// <summary>Writes for which <paramref name="when"/> (grain, state about to be written) is true fail until the returned handle is disposed.</summary>
    public IDisposable FailWrites(Func<GrainId, object?, bool> when)
    {
        var id = Guid.NewGuid();
        _failWrites[id] = when;
        return new Arm(() => _failWrites.TryRemove(id, out _));
    }

    /// <summary>Reads of grains for which <paramref name="when"/> is true fail until the returned handle is disposed.</summary>
    public IDisposable FailReads(Func<GrainId, bool> when)
    {
        var id = Guid.NewGuid();
        _failReads[id] = when;
        return new Arm(() => _failReads.TryRemove(id, out _));
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_failReads.Values.Any(f => f(grainId))) throw new StorageUnavailableException($"read of {grainId} refused (simulated)");
        return inner.ReadStateAsync(stateName, grainId, grainState);
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_failWrites.Values.Any(f => f(grainId, grainState.State)))
        {
            Interlocked.Increment(ref _refusedWrites);
            throw new StorageUnavailableException($"write of {grainId} refused (simulated)");
        }
        return inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);

    private sealed class Arm(Action disarm) : IDisposable
    {
        public void Dispose() => disarm();
    }
}
