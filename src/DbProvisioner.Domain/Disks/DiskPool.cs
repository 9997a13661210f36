using System.Collections.Immutable;
using System.Globalization;

namespace DbProvisioner.Domain.Disks;

/// <summary>A disk's life (DESIGN.md "disk"): Discovered → Formatting → Ready → Claimed → Releasing → Ready, or Faulty.</summary>
public enum DiskState
{
    Discovered,
    Formatting,
    Ready,
    Claimed,
    Releasing,
    Faulty,
}

/// <summary>
/// One whole block device on a host. <see cref="Seeded"/> on a Ready disk means it holds an
/// initialised MySQL data directory; on a Formatting disk, that it is being seeded.
/// </summary>
public sealed record Disk(string Id, string DevicePath, long SizeGiB, string DiskClass, DiskState State, bool Seeded = false, string? ClaimedBy = null);

/// <summary>How many Ready disks (and of those, seeded) a host keeps per class.</summary>
public sealed record DiskWatermark(string DiskClass, int MinReady, int MinSeeded);

/// <summary>Background work the watermark asks for: format (and maybe seed) a disk.</summary>
public sealed record DiskWork(string DiskId, string DiskClass, DiskState From, bool Seed);

/// <summary>The outcome of a disk decision: the next pool and the disk concerned, or the unchanged pool and a reason.</summary>
public sealed record DiskPoolResult(DiskPool Pool, Disk? Disk, string Reason)
{
    public bool Succeeded => Reason.Length == 0;
}

/// <summary>
/// A host's disks by id. Invariants: a disk is claimed by at most one instance and an instance
/// claims at most one disk; only Claimed disks have an owner; a released disk goes through
/// Releasing (wipe and re-format) before it is Ready again, so it is never handed out with old data.
/// </summary>
public sealed record DiskPool(ImmutableSortedDictionary<string, Disk> Disks)
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static DiskPool Empty { get; } = new(ImmutableSortedDictionary.Create<string, Disk>(StringComparer.Ordinal));

    public static DiskPool Of(IEnumerable<Disk> disks) =>
        new(disks.ToImmutableSortedDictionary(static d => d.Id, static d => d, StringComparer.Ordinal));

    private static readonly IReadOnlyDictionary<DiskState, DiskState[]> Legal = new Dictionary<DiskState, DiskState[]>
    {
        [DiskState.Discovered] = [DiskState.Formatting, DiskState.Faulty],
        [DiskState.Formatting] = [DiskState.Ready, DiskState.Faulty],
        // Ready → Formatting seeds a disk that was formatted without a data directory.
        [DiskState.Ready] = [DiskState.Claimed, DiskState.Formatting, DiskState.Faulty],
        [DiskState.Claimed] = [DiskState.Releasing, DiskState.Faulty],
        [DiskState.Releasing] = [DiskState.Ready, DiskState.Faulty],
        // An operator who replaced or repaired a device puts it back as newly discovered.
        [DiskState.Faulty] = [DiskState.Discovered],
    };

    public static bool IsLegal(DiskState from, DiskState to) => Legal[from].Contains(to);

    public Disk? Find(string diskId) => Disks.GetValueOrDefault(diskId);

    public Disk? ClaimedBy(string instanceId)
    {
        foreach (var (_, d) in Disks) // the struct enumerator: Values allocates an iterator
            if (d.State == DiskState.Claimed && string.Equals(d.ClaimedBy, instanceId, StringComparison.Ordinal)) return d;
        return null;
    }

    /// <summary>Moves a disk to another state; an illegal move is refused with a reason naming both states.</summary>
    public DiskPoolResult Transition(string diskId, DiskState to, bool seeded = false)
    {
        if (!Disks.TryGetValue(diskId, out var disk)) return new(this, null, $"disk {diskId} is not on this host");
        if (!IsLegal(disk.State, to))
        {
            var why = (disk.State, to) switch
            {
                (DiskState.Claimed, DiskState.Ready) => ": a released disk must be wiped and re-formatted (Releasing) first",
                (_, DiskState.Claimed) => ": only a Ready disk can be claimed",
                _ => "",
            };
            return new(this, disk, $"disk {diskId} cannot go from {disk.State} to {to}{why}");
        }
        if (to == DiskState.Formatting && disk.State == DiskState.Ready && (disk.Seeded || !seeded))
            return new(this, disk, $"disk {diskId} cannot go from Ready to Formatting: only an unseeded Ready disk is re-formatted, to seed it");
        if (to == DiskState.Claimed) return new(this, disk, $"disk {diskId}: claim it with Claim, which names the instance");
        var next = disk with
        {
            State = to,
            Seeded = to is DiskState.Formatting or DiskState.Ready ? seeded || (to == DiskState.Ready && disk.State == DiskState.Formatting && disk.Seeded) : false,
            ClaimedBy = null,
        };
        return new(this with { Disks = Disks.SetItem(diskId, next) }, next, "");
    }

    /// <summary>
    /// Claims the smallest Ready disk of the class that is at least <paramref name="minSizeGiB"/>;
    /// among equal sizes a seeded disk first, then the lowest id. Idempotent per instance.
    /// </summary>
    public DiskPoolResult Claim(string instanceId, string diskClass, long minSizeGiB)
    {
        if (string.IsNullOrWhiteSpace(instanceId)) return new(this, null, "an instance id is required");
        var held = ClaimedBy(instanceId);
        if (held is not null)
        {
            return held.DiskClass == diskClass && held.SizeGiB >= minSizeGiB
                ? new(this, held, "")
                : new(this, held, string.Create(Ci, $"instance {instanceId} already holds disk {held.Id} ({held.DiskClass}, {held.SizeGiB} GiB); release it first"));
        }
        var best = Best(diskClass, minSizeGiB);
        if (best is null) return new(this, null, NoDiskReason(diskClass, minSizeGiB));
        var claimed = best with { State = DiskState.Claimed, ClaimedBy = instanceId };
        return new(this with { Disks = Disks.SetItem(best.Id, claimed) }, claimed, "");
    }

    /// <summary>The disk <see cref="Claim"/> would take, without taking it.</summary>
    public Disk? Best(string diskClass, long minSizeGiB)
    {
        Disk? best = null;
        foreach (var (_, d) in Disks)
        {
            if (d.State != DiskState.Ready || d.SizeGiB < minSizeGiB || !string.Equals(d.DiskClass, diskClass, StringComparison.Ordinal)) continue;
            if (best is null || d.SizeGiB < best.SizeGiB || (d.SizeGiB == best.SizeGiB && d.Seeded && !best.Seeded)) best = d;
        }
        return best; // Disks is sorted by id, so the lowest id wins the remaining ties.
    }

    /// <summary>Starts giving a disk back: the instance's disk goes to Releasing (wipe, re-format). Unknown instance: no change.</summary>
    public DiskPoolResult Release(string instanceId)
    {
        var held = ClaimedBy(instanceId);
        if (held is null) return new(this, null, "");
        var next = held with { State = DiskState.Releasing, ClaimedBy = null, Seeded = false };
        return new(this with { Disks = Disks.SetItem(held.Id, next) }, next, "");
    }

    /// <summary>
    /// The watermark rule: per class, format Discovered disks (lowest id first) until Ready plus
    /// Formatting reaches MinReady; seed until seeded Ready plus seeding reaches MinSeeded, first
    /// by seeding disks that are about to be formatted anyway, then unseeded Ready disks.
    /// </summary>
    public IReadOnlyList<DiskWork> Plan(IEnumerable<DiskWatermark> watermarks)
    {
        ArgumentNullException.ThrowIfNull(watermarks);
        var work = new List<DiskWork>();
        foreach (var w in watermarks.OrderBy(static w => w.DiskClass, StringComparer.Ordinal))
        {
            var ofClass = Disks.Values.Where(d => d.DiskClass == w.DiskClass).ToList();
            var ready = ofClass.Count(static d => d.State is DiskState.Ready or DiskState.Formatting);
            var seeded = ofClass.Count(static d => d.State is DiskState.Ready or DiskState.Formatting && d.Seeded);
            var seedWanted = Math.Max(0, w.MinSeeded - seeded);
            foreach (var d in ofClass.Where(static d => d.State == DiskState.Discovered).Take(Math.Max(0, w.MinReady - ready)))
            {
                var seed = seedWanted > 0;
                if (seed) seedWanted--;
                work.Add(new DiskWork(d.Id, w.DiskClass, DiskState.Discovered, seed));
            }
            foreach (var d in ofClass.Where(static d => d.State == DiskState.Ready && !d.Seeded).Take(seedWanted))
                work.Add(new DiskWork(d.Id, w.DiskClass, DiskState.Ready, true));
        }
        return work;
    }

    /// <summary>Every broken invariant of the pool, in words; empty when sound.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        foreach (var (id, d) in Disks)
        {
            if (id != d.Id) problems.Add($"disk stored under {id} is {d.Id}");
            if (d.State == DiskState.Claimed && string.IsNullOrEmpty(d.ClaimedBy)) problems.Add($"disk {id} is Claimed by nobody");
            if (d.State != DiskState.Claimed && d.ClaimedBy is not null) problems.Add($"disk {id} is {d.State} but names owner {d.ClaimedBy}");
            if (d.SizeGiB <= 0) problems.Add($"disk {id} has no size");
        }
        foreach (var g in Disks.Values.Where(static d => d.ClaimedBy is not null).GroupBy(static d => d.ClaimedBy!).Where(static g => g.Count() > 1))
            problems.Add($"instance {g.Key} claims disks {string.Join(", ", g.Select(static d => d.Id))}");
        return problems;
    }

    private string NoDiskReason(string diskClass, long minSizeGiB)
    {
        var ofClass = Disks.Values.Where(d => d.DiskClass == diskClass).ToList();
        if (ofClass.Count == 0) return $"no {diskClass} disks on this host";
        var ready = ofClass.Where(static d => d.State == DiskState.Ready).ToList();
        if (ready.Count == 0) return string.Create(Ci, $"no Ready {diskClass} disk ({ofClass.Count} disks, none Ready)");
        return string.Create(Ci, $"no Ready {diskClass} disk of {minSizeGiB} GiB (largest Ready: {ready.Max(static d => d.SizeGiB)} GiB)");
    }
}
