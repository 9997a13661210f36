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
/// <see cref="OnDemand"/> on a Claimed disk means it was claimed straight from Discovered, never
/// prepared by the pool: whoever attaches it must format it first, whatever it holds.
/// </summary>
public sealed record Disk(string Id, string DevicePath, long SizeGiB, string DiskClass, DiskState State, bool Seeded = false, string? ClaimedBy = null, bool OnDemand = false);

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
/// Releasing (wipe and re-format) before it is Ready again, so it is never handed out with old data;
/// a disk claimed straight from Discovered (on demand, when no Ready disk fits) is marked
/// <see cref="Disk.OnDemand"/> so that it is formatted before use; only a Claimed disk is OnDemand.
/// </summary>
public sealed record DiskPool(ImmutableSortedDictionary<string, Disk> Disks)
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    // The disks as an array in id order, filled on first use; `with` copies the slot, Index re-derives when Disks changed.
    private CacheSlot<DiskIndex> _index;

    internal DiskIndex Index
    {
        get
        {
            var i = _index.Value;
            if (i is null || !ReferenceEquals(i.Source, Disks)) _index.Value = i = new DiskIndex(Disks, [.. Disks.Values]);
            return i;
        }
    }

    /// <summary>This pool with one disk replaced, carrying the index forward instead of re-deriving it.</summary>
    private DiskPool WithDisk(Disk disk)
    {
        var index = Index;
        var next = this with { Disks = Disks.SetItem(disk.Id, disk) };
        var at = index.IndexOf(disk.Id);
        if (at >= 0) next._index.Value = index.With(next.Disks, at, disk);
        return next;
    }

    public static DiskPool Empty { get; } = new(ImmutableSortedDictionary.Create<string, Disk>(StringComparer.Ordinal));

    public static DiskPool Of(IEnumerable<Disk> disks) =>
        new(disks.ToImmutableSortedDictionary(static d => d.Id, static d => d, StringComparer.Ordinal));

    private static readonly IReadOnlyDictionary<DiskState, DiskState[]> Legal = new Dictionary<DiskState, DiskState[]>
    {
        // Discovered → Claimed: on demand, when no Ready disk fits; formatted when attached.
        [DiskState.Discovered] = [DiskState.Formatting, DiskState.Claimed, DiskState.Faulty],
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
        foreach (var d in Index.Disks)
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
                (_, DiskState.Claimed) => ": only a Ready or Discovered disk can be claimed",
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
            OnDemand = false,
        };
        return new(WithDisk(next), next, "");
    }

    /// <summary>
    /// Claims the smallest Ready disk of the class that is at least <paramref name="minSizeGiB"/>;
    /// among equal sizes a seeded disk first, then the lowest id. When no Ready disk fits, the
    /// smallest fitting Discovered disk (lowest id on ties) is claimed on demand, marked
    /// <see cref="Disk.OnDemand"/>. Idempotent per instance.
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
        var claimed = best.State == DiskState.Discovered
            ? best with { State = DiskState.Claimed, ClaimedBy = instanceId, Seeded = false, OnDemand = true }
            : best with { State = DiskState.Claimed, ClaimedBy = instanceId, OnDemand = false };
        return new(WithDisk(claimed), claimed, "");
    }

    /// <summary>The disk <see cref="Claim"/> would take, without taking it: a Ready one, else a Discovered one.</summary>
    public Disk? Best(string diskClass, long minSizeGiB)
    {
        Disk? best = null;
        Disk? discovered = null;
        foreach (var d in Index.Disks)
        {
            if (d.SizeGiB < minSizeGiB || !string.Equals(d.DiskClass, diskClass, StringComparison.Ordinal)) continue;
            if (d.State == DiskState.Ready)
            {
                if (best is null || d.SizeGiB < best.SizeGiB || (d.SizeGiB == best.SizeGiB && d.Seeded && !best.Seeded)) best = d;
            }
            else if (d.State == DiskState.Discovered && (discovered is null || d.SizeGiB < discovered.SizeGiB)) discovered = d;
        }
        return best ?? discovered; // the disks are in id order, so the lowest id wins the remaining ties.
    }

    /// <summary>Starts giving a disk back: the instance's disk goes to Releasing (wipe, re-format). Unknown instance: no change.</summary>
    public DiskPoolResult Release(string instanceId)
    {
        var held = ClaimedBy(instanceId);
        if (held is null) return new(this, null, "");
        var next = held with { State = DiskState.Releasing, ClaimedBy = null, Seeded = false, OnDemand = false };
        return new(WithDisk(next), next, "");
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
            if (d.OnDemand && d.State != DiskState.Claimed) problems.Add($"disk {id} is {d.State} but marked as claimed on demand");
        }
        foreach (var g in Disks.Values.Where(static d => d.ClaimedBy is not null).GroupBy(static d => d.ClaimedBy!).Where(static g => g.Count() > 1))
            problems.Add($"instance {g.Key} claims disks {string.Join(", ", g.Select(static d => d.Id))}");
        return problems;
    }

    private string NoDiskReason(string diskClass, long minSizeGiB)
    {
        var ofClass = Disks.Values.Where(d => d.DiskClass == diskClass).ToList();
        if (ofClass.Count == 0) return $"no {diskClass} disks on this host";
        var free = ofClass.Where(static d => d.State is DiskState.Ready or DiskState.Discovered).ToList();
        if (free.Count == 0) return string.Create(Ci, $"no Ready or Discovered {diskClass} disk ({ofClass.Count} disks, none Ready or Discovered)");
        return string.Create(Ci, $"no Ready or Discovered {diskClass} disk of {minSizeGiB} GiB (largest: {free.Max(static d => d.SizeGiB)} GiB)");
    }
}

/// <summary>A pool's disks in id order and its claimable-disk summary, derived once per pool.</summary>
internal sealed class DiskIndex(ImmutableSortedDictionary<string, Disk> source, Disk[] disks)
{
    private ImmutableArray<Placement.DiskCapacity> _claimable;

    /// <summary>The index of <paramref name="next"/>: these disks with the one at <paramref name="at"/> replaced.</summary>
    public DiskIndex With(ImmutableSortedDictionary<string, Disk> next, int at, Disk disk)
    {
        var disks = (Disk[])Disks.Clone();
        var old = disks[at];
        disks[at] = disk;
        var index = new DiskIndex(next, disks);
        if (!_claimable.IsDefault) index._claimable = Count(Count(_claimable, old, -1), disk, +1);
        return index;
    }

    private static ImmutableArray<Placement.DiskCapacity> Count(ImmutableArray<Placement.DiskCapacity> groups, Disk d, int delta)
    {
        if (d.State is not (DiskState.Ready or DiskState.Discovered)) return groups;
        var group = Group(d, 1);
        for (var i = 0; i < groups.Length; i++)
        {
            var c = Compare(groups[i], group);
            if (c == 0)
            {
                var count = groups[i].Count + delta;
                return count <= 0 ? groups.RemoveAt(i) : groups.SetItem(i, groups[i] with { Count = count });
            }
            if (c > 0) return delta > 0 ? groups.Insert(i, group) : groups;
        }
        return delta > 0 ? groups.Add(group) : groups;
    }

    private static Placement.DiskCapacity Group(Disk d, int count)
    {
        var onDemand = d.State == DiskState.Discovered;
        return new Placement.DiskCapacity(d.DiskClass, d.SizeGiB, d.Seeded && !onDemand, count, onDemand);
    }

    /// <summary>Claim's order within a class: Ready before Discovered (on demand), smaller first, seeded first.</summary>
    private static int Compare(Placement.DiskCapacity a, Placement.DiskCapacity b)
    {
        var c = string.CompareOrdinal(a.DiskClass, b.DiskClass);
        if (c == 0) c = a.OnDemand.CompareTo(b.OnDemand);
        if (c == 0) c = a.SizeGiB.CompareTo(b.SizeGiB);
        if (c == 0) c = b.Seeded.CompareTo(a.Seeded);
        return c;
    }

    public ImmutableSortedDictionary<string, Disk> Source { get; } = source;

    public Disk[] Disks { get; } = disks;

    public int IndexOf(string diskId)
    {
        int lo = 0, hi = Disks.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = Source.KeyComparer.Compare(Disks[mid].Id, diskId);
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return -1;
    }

    /// <summary>
    /// Claimable disks grouped by class, size, seeding and readiness, in the order Claim prefers
    /// them within a class: Ready before Discovered (on demand), smaller first, seeded first.
    /// </summary>
    public ImmutableArray<Placement.DiskCapacity> Claimable
    {
        get
        {
            if (!_claimable.IsDefault) return _claimable;
            var groups = new List<Placement.DiskCapacity>();
            foreach (var d in Disks)
            {
                if (d.State is not (DiskState.Ready or DiskState.Discovered)) continue;
                var g = Group(d, 1);
                var i = groups.Count - 1;
                while (i >= 0 && Compare(groups[i], g) != 0) i--;
                if (i < 0) groups.Add(g);
                else groups[i] = groups[i] with { Count = groups[i].Count + 1 };
            }
            groups.Sort(Compare); // the groups are distinct, so the order is total
            return _claimable = [.. groups];
        }
    }
}
