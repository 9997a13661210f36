using System.Text.Json.Serialization;

namespace DbProvisioner.Contracts;

// What grains answer besides the API's records (DbProvisioner.Api): refusals with their kind.

/// <summary>The outcome of a request that may be refused for a reason the caller should read.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.Outcome`1")]
public sealed record Outcome<T>([property: Id(0)] T? Value, [property: Id(1)] string? Error, [property: Id(2)] OutcomeKind Kind)
{
    [JsonIgnore] public bool Ok => Kind == OutcomeKind.Ok;
    public static Outcome<T> Success(T value) => new(value, null, OutcomeKind.Ok);
    public static Outcome<T> Fail(OutcomeKind kind, string error) => new(default, error, kind);
}

[GenerateSerializer]
public enum OutcomeKind
{
    Ok,
    NotFound,
    Conflict,
    Invalid,
    Unplaceable,
    Forbidden,
}
