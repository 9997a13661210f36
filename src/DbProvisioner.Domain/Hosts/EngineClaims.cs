namespace DbProvisioner.Domain.Hosts;

/// <summary>
/// What one registered host takes of the machine behind its engine: its disks (by device path) and its MySQL ports
/// on the address they are published on. Two hosts on one engine (logical slices of one machine) must not share either.
/// </summary>
public sealed record EngineClaim(IReadOnlyList<string> Devices, string MySqlAddress, int FirstPort, int LastPort, DateTimeOffset ClaimedAt)
{
    public bool SameAs(EngineClaim other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return MySqlAddress == other.MySqlAddress && FirstPort == other.FirstPort && LastPort == other.LastPort
            && Devices.Order(StringComparer.Ordinal).SequenceEqual(other.Devices.Order(StringComparer.Ordinal), StringComparer.Ordinal);
    }
}

/// <summary>Why a claim is refused: the request's field, the host that holds it, and the sentence for the DBA.</summary>
public sealed record ClaimConflict(string Field, string OtherHost, string Message);

/// <summary>The rule of the engine's claims: one device, one host; one port on one address, one host.</summary>
public static class EngineClaims
{
    /// <summary>
    /// The first conflict between <paramref name="claim"/> by <paramref name="hostId"/> and what other hosts hold on the
    /// same engine, or null. The host's own earlier claim never conflicts (registering again replaces it).
    /// </summary>
    public static ClaimConflict? Check(IReadOnlyDictionary<string, EngineClaim> held, string hostId, EngineClaim claim)
    {
        ArgumentNullException.ThrowIfNull(held);
        ArgumentNullException.ThrowIfNull(claim);
        foreach (var (other, theirs) in held.OrderBy(static h => h.Key, StringComparer.Ordinal))
        {
            if (other == hostId) continue;
            var device = claim.Devices.FirstOrDefault(d => theirs.Devices.Contains(d, StringComparer.Ordinal));
            if (device is not null)
                return new("disks", other, $"device {device} belongs to host {other} on the same engine");
            if (claim.MySqlAddress == theirs.MySqlAddress && claim.FirstPort <= theirs.LastPort && theirs.FirstPort <= claim.LastPort)
                return new("ports", other,
                    $"ports {claim.FirstPort}-{claim.LastPort} overlap ports {theirs.FirstPort}-{theirs.LastPort} of host {other} on {claim.MySqlAddress} of the same engine");
        }
        return null;
    }

    /// <summary>
    /// Whether a conflicting claim may be taken over because its host never finished registering: it is older than
    /// <paramref name="grace"/> and that host is not registered on this engine. A younger claim may be a registration in flight.
    /// </summary>
    public static bool IsAbandoned(EngineClaim theirs, bool holderRegisteredHere, DateTimeOffset now, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(theirs);
        return !holderRegisteredHere && now - theirs.ClaimedAt >= grace;
    }

    /// <summary>One key per machine: the endpoint without case in scheme and host, without a trailing slash.</summary>
    public static string EngineKey(string engineEndpoint)
    {
        ArgumentException.ThrowIfNullOrEmpty(engineEndpoint);
        if (!Uri.TryCreate(engineEndpoint, UriKind.Absolute, out var uri)) return engineEndpoint;
        var path = uri.AbsolutePath.TrimEnd('/');
        return uri.IsDefaultPort || uri.Port < 0
            ? $"{uri.Scheme.ToLowerInvariant()}://{uri.Host.ToLowerInvariant()}{path}"
            : $"{uri.Scheme.ToLowerInvariant()}://{uri.Host.ToLowerInvariant()}:{uri.Port}{path}";
    }
}
