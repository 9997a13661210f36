namespace DbProvisioner.Persistence.Tests.Storage;

/// <summary>
/// Shaped like the Contracts project's state records: positional, immutable, explicit ids. The parameterless
/// constructor matters: Orleans creates the "no state yet" value with its activator, which for a record without
/// one yields an uninitialised object (History would be null).
/// </summary>
[GenerateSerializer, Immutable, Alias("dbprov.tests.CounterState")]
public sealed record CounterState(
    [property: Id(0)] int Count,
    [property: Id(1)] string? LastBy,
    [property: Id(2)] IReadOnlyList<string> History)
{
    public CounterState()
        : this(0, null, [])
    {
    }
}
