namespace DbProvisioner.Persistence.Tests.Storage;

public interface ICounterGrain : IGrainWithStringKey
{
    Task<CounterState> IncrementAsync(string by);

    Task<CounterState> GetAsync();

    Task<Guid> GetActivationMarkerAsync();

    Task ClearAsync();
}

public sealed class CounterGrain([PersistentState("counter")] IPersistentState<CounterState> counter) : Grain, ICounterGrain
{
    // A new value per activation, to tell a fresh activation from the old one.
    private readonly Guid _activationMarker = Guid.NewGuid();

    public async Task<CounterState> IncrementAsync(string by)
    {
        counter.State = counter.State with
        {
            Count = counter.State.Count + 1,
            LastBy = by,
            History = [.. counter.State.History, by],
        };
        await counter.WriteStateAsync();
        return counter.State;
    }

    public Task<CounterState> GetAsync() => Task.FromResult(counter.State);

    public Task<Guid> GetActivationMarkerAsync() => Task.FromResult(_activationMarker);

    public Task ClearAsync() => counter.ClearStateAsync();
}
