using System.Text.Json.Serialization;

namespace DbProvisioner.Contracts;

// What grains answer besides the API's records (DbProvisioner.Api): refusals with their kind.

/// <summary>
/// The outcome of a request that may be refused for a reason the caller should read. A refusal of one field of the
/// request names it in <see cref="Field"/> (its JSON name, e.g. <c>reservedCpus</c>), so the API answers a problem keyed by it.
/// </summary>
[GenerateSerializer, Immutable, Alias("dbprov.Outcome`1")]
public sealed record Outcome<T>(
    [property: Id(0)] T? Value,
    [property: Id(1)] string? Error,
    [property: Id(2)] OutcomeKind Kind,
    [property: Id(3)] string? Field = null)
{
    [JsonIgnore] public bool Ok => Kind == OutcomeKind.Ok;
    public static Outcome<T> Success(T value) => new(value, null, OutcomeKind.Ok);
    public static Outcome<T> Fail(OutcomeKind kind, string error) => new(default, error, kind);

    /// <summary>The request's <paramref name="field"/> is refused: <paramref name="error"/> says why, without the field's name.</summary>
    public static Outcome<T> Invalid(string field, string error) => new(default, error, OutcomeKind.Invalid, field);
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
