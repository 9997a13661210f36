using System.Collections.Immutable;
using System.Globalization;

namespace DbProvisioner.Domain.Hosts;

/// <summary>
/// A host's swap, accounted like memory: what the machine has (<see cref="TotalMiB"/>), what
/// instances may use (<see cref="AllocatableMiB"/>, the allowance) and what each instance holds.
/// Invariants (<see cref="Validate"/>): 0 ≤ allocatable ≤ total, every holding positive, and the
/// holdings together never more than the allowance. An instance asking for no swap holds nothing.
/// </summary>
public sealed record HostSwap(long TotalMiB, long AllocatableMiB, ImmutableSortedDictionary<string, long> ByInstance)
{
    private static readonly ImmutableSortedDictionary<string, long> Nobody = ImmutableSortedDictionary.Create<string, long>(StringComparer.Ordinal);

    /// <summary>A host without swap (and a host stored before swap was accounted).</summary>
    public static HostSwap None { get; } = new(0, 0, Nobody);

    public static HostSwap Of(long totalMiB, long allocatableMiB) =>
        totalMiB == 0 && allocatableMiB == 0 ? None : new(totalMiB, allocatableMiB, Nobody);

    public long UsedMiB
    {
        get
        {
            long used = 0;
            foreach (var (_, mib) in ByInstance) used += mib; // the struct enumerator: Values is a boxed iterator
            return used;
        }
    }

    public long FreeMiB => AllocatableMiB - UsedMiB;

    /// <summary>The swap the instance holds; 0 when none.</summary>
    public long HeldBy(string instanceId) => ByInstance.GetValueOrDefault(instanceId);

    /// <summary>
    /// Books <paramref name="swapMiB"/> for the instance. Idempotent: an instance already reserved on
    /// the host (<paramref name="reservedBefore"/>) gets its holding back when it asks for the same
    /// amount, and a reason when it asks for another. Returns the next swap, or null and the reason.
    /// </summary>
    public (HostSwap? Next, string Reason) Reserve(string instanceId, long swapMiB, bool reservedBefore)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        var ci = CultureInfo.InvariantCulture;
        if (swapMiB < 0) return (null, string.Create(ci, $"instance {instanceId} asks for negative swap"));
        if (reservedBefore || ByInstance.ContainsKey(instanceId))
        {
            var held = HeldBy(instanceId);
            return held == swapMiB
                ? (this, "")
                : (null, string.Create(ci, $"instance {instanceId} already holds {held} MiB of swap; release it before asking for {swapMiB} MiB"));
        }
        if (swapMiB == 0) return (this, "");
        if (swapMiB > FreeMiB) return (null, Shortfall(swapMiB));
        return (this with { ByInstance = ByInstance.Add(instanceId, swapMiB) }, "");
    }

    /// <summary>Gives the instance's swap back; unknown instance: no change.</summary>
    public HostSwap Release(string instanceId) =>
        ByInstance.ContainsKey(instanceId) ? this with { ByInstance = ByInstance.Remove(instanceId) } : this;

    /// <summary>Why <paramref name="swapMiB"/> does not fit, in the words of the placement filter.</summary>
    public string Shortfall(long swapMiB) => AllocatableMiB == 0
        ? string.Create(CultureInfo.InvariantCulture, $"no swap for instances ({swapMiB} MiB asked)")
        : string.Create(CultureInfo.InvariantCulture, $"less than {swapMiB} MiB free swap ({FreeMiB} of {AllocatableMiB} MiB free)");

    /// <summary>Every broken invariant, in words; empty when sound.</summary>
    public IReadOnlyList<string> Validate()
    {
        var ci = CultureInfo.InvariantCulture;
        var problems = new List<string>();
        if (ByInstance is null) return ["swap holdings are missing"];
        if (TotalMiB < 0 || AllocatableMiB < 0 || AllocatableMiB > TotalMiB)
            problems.Add(string.Create(ci, $"swap allowance {AllocatableMiB} MiB is outside 0-{TotalMiB} MiB (the host's swap)"));
        foreach (var (id, mib) in ByInstance)
            if (mib <= 0) problems.Add(string.Create(ci, $"instance {id} holds {mib} MiB of swap"));
        if (UsedMiB > AllocatableMiB)
            problems.Add(string.Create(ci, $"swap is over-committed: instances hold {UsedMiB} MiB of {AllocatableMiB} MiB"));
        return problems;
    }
}

/// <summary>How much of a host's swap instances may use, decided once at registration.</summary>
public static class SwapAllowance
{
    /// <summary>
    /// The host's swap with its allowance: <paramref name="askedMiB"/> (the registration's
    /// <c>swapMiB</c>, at most what the host has), else all of it. An engine that cannot limit an
    /// instance's swap (no swap accounting in the kernel) gets no allowance: it could not keep
    /// one instance from taking all of it. Returns the swap, or null and the reason.
    /// </summary>
    public static (HostSwap? Swap, string Reason) Decide(string hostId, long totalMiB, long? askedMiB, bool engineLimitsSwap)
    {
        var ci = CultureInfo.InvariantCulture;
        if (totalMiB < 0) return (null, string.Create(ci, $"host {hostId} reports {totalMiB} MiB of swap"));
        if (askedMiB is < 0) return (null, "must not be negative");
        if (askedMiB > totalMiB)
        {
            return (null, totalMiB == 0
                ? string.Create(ci, $"host {hostId} has no swap ({askedMiB} MiB asked); enable swap on it first")
                : string.Create(ci, $"host {hostId} has only {totalMiB} MiB of swap ({askedMiB} MiB asked)"));
        }
        if (!engineLimitsSwap)
        {
            return askedMiB is > 0
                ? (null, string.Create(ci, $"the engine of host {hostId} cannot limit an instance's swap (no swap accounting in its kernel)"))
                : (HostSwap.Of(totalMiB, 0), "");
        }
        return (HostSwap.Of(totalMiB, askedMiB ?? totalMiB), "");
    }
}
