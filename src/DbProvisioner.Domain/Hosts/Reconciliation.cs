namespace DbProvisioner.Domain.Hosts;

/// <summary>A container the engine reports as the appliance's (by label).</summary>
public sealed record ObservedContainer(string Name, string? InstanceId, string? Helper, bool Running, DateTimeOffset? CreatedAt);

/// <summary>A volume the appliance owns as the engine reports it; <see cref="Helper"/> names a helper's purpose, null for data.</summary>
public sealed record ObservedVolume(string Name, string? Helper, DateTimeOffset? CreatedAt);

/// <summary>
/// An instance the grains know on a host, and whether it should have a container now. An instance
/// in flight (being provisioned or removed) may or may not have one: it is neither orphan nor vanished.
/// </summary>
public sealed record BelievedInstance(string InstanceId, bool ExpectsContainer, bool MarkedMissing, bool InFlight = false);

/// <summary>
/// A reservation a host holds, and where its instance says it lives: <paramref name="InstanceHost"/> is the host of its
/// stored placement (null before one), <paramref name="InstanceFinished"/> is Failed or Removed.
/// </summary>
public sealed record HeldReservation(string InstanceId, bool InstanceKnown, string? InstanceHost, bool InstanceFinished);

/// <summary>What reconciliation found on one host, and so what to do.</summary>
/// <param name="Orphans">Containers of instances nobody owns: reported; removed only when configured.</param>
/// <param name="Vanished">Instances whose container is gone: marked, so that it shows.</param>
/// <param name="Returned">Instances marked missing whose container is back.</param>
/// <param name="StaleHelpers">Helper containers made before the cut-off (left by a crash): removed.</param>
public sealed record ReconciliationReport(
    IReadOnlyList<string> Orphans,
    IReadOnlyList<string> Vanished,
    IReadOnlyList<string> Returned,
    IReadOnlyList<string> StaleHelpers)
{
    public bool Clean => Orphans.Count == 0 && Vanished.Count == 0 && Returned.Count == 0 && StaleHelpers.Count == 0;
}

/// <summary>What the grains believe against what the engine reports: a pure comparison, acted on by a grain.</summary>
public static class Reconciliation
{
    /// <param name="staleHelpersBefore">Helpers are short-lived: one made before this moment (e.g. before the appliance started) was left by a crash.</param>
    public static ReconciliationReport Compare(IEnumerable<BelievedInstance> believed, IEnumerable<ObservedContainer> observed, DateTimeOffset staleHelpersBefore)
    {
        ArgumentNullException.ThrowIfNull(believed);
        ArgumentNullException.ThrowIfNull(observed);
        var known = believed.ToDictionary(static b => b.InstanceId, StringComparer.Ordinal);
        var containers = observed.ToList();
        var instanceContainers = containers.Where(static c => c.Helper is null && c.InstanceId is not null).ToList();
        var present = instanceContainers.Select(static c => c.InstanceId!).ToHashSet(StringComparer.Ordinal);

        var orphans = instanceContainers
            .Where(c => !known.TryGetValue(c.InstanceId!, out var b) || (!b.ExpectsContainer && !b.InFlight))
            .Select(static c => c.Name).Order(StringComparer.Ordinal).ToList();
        var vanished = known.Values
            .Where(b => b.ExpectsContainer && !b.InFlight && !b.MarkedMissing && !present.Contains(b.InstanceId))
            .Select(static b => b.InstanceId).Order(StringComparer.Ordinal).ToList();
        var returned = known.Values
            .Where(b => b.MarkedMissing && present.Contains(b.InstanceId))
            .Select(static b => b.InstanceId).Order(StringComparer.Ordinal).ToList();
        var stale = containers
            .Where(c => c.Helper is not null && (c.CreatedAt is null || c.CreatedAt.Value < staleHelpersBefore))
            .Select(static c => c.Name).Order(StringComparer.Ordinal).ToList();
        return new ReconciliationReport(orphans, vanished, returned, stale);
    }

    /// <summary>
    /// Helper volumes made before the cut-off: a crash between a helper volume's creation and its removal leaves it
    /// (an instance's data volume is never one of them). Removed by name, lowest first.
    /// </summary>
    public static IReadOnlyList<string> StaleHelperVolumes(IEnumerable<ObservedVolume> volumes, DateTimeOffset staleHelpersBefore)
    {
        ArgumentNullException.ThrowIfNull(volumes);
        return [.. volumes.Where(v => v.Helper is not null && (v.CreatedAt is null || v.CreatedAt.Value < staleHelpersBefore))
            .Select(static v => v.Name).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Reservations nobody claims: a crash between a host's reservation and the instance's stored placement can leave one
    /// when the resumed instance places itself elsewhere, or fails. Given back only when the instance's stored state says
    /// so (placed on another host, or finished without this one); an instance still being placed, or not yet stored (a
    /// cluster reserves its members first), keeps its reservation.
    /// </summary>
    public static IReadOnlyList<string> UnclaimedReservations(string hostId, IEnumerable<HeldReservation> held)
    {
        ArgumentNullException.ThrowIfNull(held);
        return [.. held.Where(h => h.InstanceKnown && h.InstanceHost != hostId && (h.InstanceHost is not null || h.InstanceFinished))
            .Select(static h => h.InstanceId).Order(StringComparer.Ordinal)];
    }
}
