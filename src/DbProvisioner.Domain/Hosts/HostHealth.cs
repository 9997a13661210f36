using System.Globalization;

namespace DbProvisioner.Domain.Hosts;

/// <summary>
/// What one heartbeat found on a host. <paramref name="EngineError"/> is null when the engine answered;
/// the checks after it (topology, disks) mean something only then.
/// </summary>
/// <param name="CircuitOpen">The driver's circuit for the host is open: its calls kept failing and are refused for a while.</param>
/// <param name="TopologyDrift">How the engine's machine differs from the registered topology, or null when it matches (or was not checked).</param>
/// <param name="MissingDevices">Disks of the host's pool that are no longer there; empty when all are (or they were not checked).</param>
public sealed record HostProbe(
    string? EngineError,
    bool CircuitOpen = false,
    string? TopologyDrift = null,
    IReadOnlyList<string>? MissingDevices = null)
{
    public static HostProbe Answered { get; } = new((string?)null);

    public static HostProbe Failed(string error) => new(error);
}

/// <summary>
/// A host's health as heartbeats decided it. <see cref="Failures"/> counts engine failures in a row
/// (kept in memory only); <see cref="LastSeen"/> is the last time the engine answered.
/// Invariant: <see cref="Healthy"/> ⇔ <see cref="Reason"/> is empty.
/// </summary>
public sealed record HostHealth(bool Healthy, string Reason, DateTimeOffset? LastSeen, int Failures = 0)
{
    /// <summary>A host nobody probed yet: healthy, as registration just reached it (or was told its shape).</summary>
    public static HostHealth Initial { get; } = new(true, "", null);

    /// <summary>Unhealthy because its engine does not answer (rather than a drift the engine reported).</summary>
    public bool IsEngineDown => !Healthy &&
        (Reason.StartsWith(HostHealthDecision.EngineDownPrefix, StringComparison.Ordinal) || Reason.StartsWith(HostHealthDecision.CircuitOpenReason, StringComparison.Ordinal));

    /// <summary>Whether the change from <paramref name="before"/> must be stored and told to placement (not every heartbeat is).</summary>
    public bool DiffersInStateFrom(HostHealth before)
    {
        ArgumentNullException.ThrowIfNull(before);
        return Healthy != before.Healthy || !string.Equals(Reason, before.Reason, StringComparison.Ordinal);
    }
}

/// <summary>The heartbeat's decision: healthy or unhealthy from one probe and the history, with the reason in words.</summary>
public static class HostHealthDecision
{
    /// <param name="failureThreshold">Engine failures in a row that make a host unhealthy (one lost ping is not a dead engine).</param>
    public static HostHealth Decide(HostHealth before, HostProbe probe, DateTimeOffset now, int failureThreshold)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentOutOfRangeException.ThrowIfLessThan(failureThreshold, 1);

        if (probe.CircuitOpen || probe.EngineError is not null)
        {
            var failures = before.Failures + 1;
            // Still down: keep the reason stored when it went down, so that a dead host is not rewritten at every heartbeat.
            if (before.IsEngineDown) return before with { Failures = failures };
            // An open circuit already sums up several failed calls; a single failed ping is not yet a dead engine.
            if (!probe.CircuitOpen && failures < failureThreshold) return before with { Failures = failures };
            var reason = probe.CircuitOpen ? CircuitOpenReason : EngineDownPrefix + probe.EngineError;
            return new HostHealth(false, reason + Since(before.LastSeen), before.LastSeen, failures);
        }

        var missing = probe.MissingDevices ?? [];
        var problems = new List<string>();
        if (probe.TopologyDrift is { } drift) problems.Add("its topology changed: " + drift);
        if (missing.Count > 0)
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{(missing.Count == 1 ? "disk" : "disks")} {string.Join(", ", missing.Order(StringComparer.Ordinal))} of its pool {(missing.Count == 1 ? "is" : "are")} missing"));
        return new HostHealth(problems.Count == 0, string.Join("; ", problems), now, 0);
    }

    internal const string EngineDownPrefix = "its container engine does not answer: ";
    internal const string CircuitOpenReason = "the circuit of its container engine is open: calls keep failing";

    private static string Since(DateTimeOffset? lastSeen) =>
        lastSeen is { } seen ? string.Create(CultureInfo.InvariantCulture, $" (last seen {seen:yyyy-MM-ddTHH:mm:ssZ})") : "";
}
