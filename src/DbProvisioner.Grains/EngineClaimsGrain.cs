using System.Globalization;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

[GenerateSerializer, Alias("dbprov.StoredEngineClaim")]
public sealed record StoredEngineClaim(
    [property: Id(0)] List<string> Devices,
    [property: Id(1)] string MySqlAddress,
    [property: Id(2)] int FirstPort,
    [property: Id(3)] int LastPort,
    [property: Id(4)] DateTimeOffset ClaimedAt)
{
    public EngineClaim ToDomain() => new(Devices, MySqlAddress, FirstPort, LastPort, ClaimedAt);

    public static StoredEngineClaim From(EngineClaim c) => new([.. c.Devices], c.MySqlAddress, c.FirstPort, c.LastPort, c.ClaimedAt);
}

[GenerateSerializer, Alias("dbprov.EngineClaimsGrainState")]
public sealed class EngineClaimsGrainState
{
    [Id(0)] public Dictionary<string, StoredEngineClaim> Claims { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The one place that sees every host registered on an engine, so a check and its claim are one turn: two registrations
/// racing for the same device or port are decided one after the other. A claim left by a registration that never
/// finished (a crash before the host's write) is taken over once it is older than <see cref="AbandonedAfter"/> and its
/// host is not registered on this engine.
/// </summary>
public sealed class EngineClaimsGrain(
    [PersistentState("claims")] IPersistentState<EngineClaimsGrainState> state,
    TimeProvider clock,
    ILogger<EngineClaimsGrain> logger) : Grain, IEngineClaimsGrain
{
    /// <summary>Longer than any registration takes (discovery included), so a registration in flight is never taken over.</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(2);

    private string Engine => this.GetPrimaryKeyString();

    public async Task<Outcome<bool>> ClaimAsync(string hostId, IReadOnlyList<string> devices, string mySqlAddress, int firstPort, int lastPort)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostId);
        ArgumentNullException.ThrowIfNull(devices);
        var now = clock.GetUtcNow();
        var claim = new EngineClaim([.. devices], mySqlAddress, firstPort, lastPort, now);
        var claims = state.State.Claims;
        var abandoned = new List<string>();
        while (EngineClaims.Check(Held(claims, abandoned), hostId, claim) is { } conflict)
        {
            var holderHere = await GrainFactory.GetGrain<IHostGrain>(conflict.OtherHost).GetLocationAsync() is { } location
                && EngineClaims.EngineKey(location.EngineEndpoint) == Engine;
            if (!EngineClaims.IsAbandoned(claims[conflict.OtherHost].ToDomain(), holderHere, now, AbandonedAfter))
                return new Outcome<bool>(false, conflict.Message, OutcomeKind.Conflict, conflict.Field);
            abandoned.Add(conflict.OtherHost);
        }

        if (abandoned.Count == 0 && claims.TryGetValue(hostId, out var mine) && mine.ToDomain().SameAs(claim))
            return Outcome<bool>.Success(true);
        foreach (var gone in abandoned)
        {
            claims.Remove(gone);
            logger.LogWarning("Engine {Engine}: the claim of host {HostId}, which never finished registering, is given up", Engine, gone);
        }
        claims[hostId] = StoredEngineClaim.From(claim);
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        // Asked only at registration: no activation per engine stays in memory for a fleet of thousands.
        DeactivateOnIdle();
        return Outcome<bool>.Success(true);
    }

    public Task<IReadOnlyDictionary<string, string>> ListAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(state.State.Claims.ToDictionary(
            static c => c.Key,
            static c => string.Create(CultureInfo.InvariantCulture, $"{string.Join(",", c.Value.Devices)} {c.Value.MySqlAddress}:{c.Value.FirstPort}-{c.Value.LastPort}"),
            StringComparer.Ordinal));

    private static Dictionary<string, EngineClaim> Held(Dictionary<string, StoredEngineClaim> claims, List<string> skip) =>
        claims.Where(c => !skip.Contains(c.Key)).ToDictionary(static c => c.Key, static c => c.Value.ToDomain(), StringComparer.Ordinal);
}
