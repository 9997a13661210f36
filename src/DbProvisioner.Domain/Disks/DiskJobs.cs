namespace DbProvisioner.Domain.Disks;

/// <summary>One disk for the disk pool's worker: format it (wiping whatever it holds) and maybe seed it.</summary>
public sealed record DiskJob(string DiskId, string DevicePath, bool Seed);

/// <summary>The disk work a host hands out: its pool with newly planned disks moved to Formatting, and the jobs.</summary>
public sealed record DiskWorkTaken(DiskPool Pool, IReadOnlyList<DiskJob> Jobs);

/// <summary>
/// Which disks a host's worker formats or wipes next, and whether each is seeded. Work a crash interrupted comes
/// first (a Formatting disk, redone as planned), then released disks (Releasing: wiped, and seeded while the class is
/// below its seeded watermark), then the watermark's plan (<see cref="DiskPool.Plan"/>). A disk a worker holds now is
/// never handed out twice.
/// </summary>
public static class DiskJobs
{
    public static DiskWorkTaken Take(DiskPool pool, IReadOnlyList<DiskWatermark> watermarks, IReadOnlySet<string> inFlight)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(watermarks);
        ArgumentNullException.ThrowIfNull(inFlight);
        var jobs = new List<DiskJob>();
        foreach (var d in pool.Disks.Values)
        {
            if (inFlight.Contains(d.Id)) continue;
            if (d.State == DiskState.Formatting) jobs.Add(new DiskJob(d.Id, d.DevicePath, d.Seeded));
            else if (d.State == DiskState.Releasing) jobs.Add(new DiskJob(d.Id, d.DevicePath, WantsSeed(pool, watermarks, d.DiskClass)));
        }

        var next = pool;
        foreach (var work in pool.Plan(watermarks))
        {
            var moved = next.Transition(work.DiskId, DiskState.Formatting, work.Seed);
            if (!moved.Succeeded) continue;
            next = moved.Pool;
            jobs.Add(new DiskJob(work.DiskId, moved.Disk!.DevicePath, work.Seed));
        }
        return new DiskWorkTaken(next, jobs);
    }

    /// <summary>The class has fewer seeded disks (Ready or being formatted) than its watermark asks for.</summary>
    public static bool WantsSeed(DiskPool pool, IReadOnlyList<DiskWatermark> watermarks, string diskClass)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(watermarks);
        var mark = watermarks.FirstOrDefault(w => w.DiskClass == diskClass);
        if (mark is null) return false;
        var seeded = pool.Disks.Values.Count(d => d.DiskClass == diskClass && d.Seeded && d.State is DiskState.Ready or DiskState.Formatting);
        return seeded < mark.MinSeeded;
    }
}
