using System.Runtime.InteropServices;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID). On a machine shared with other
/// work, wall time counts the time the scheduler gave to others; this counts only our own core-time.
/// </summary>
internal static partial class ThreadClock
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    public static bool Available { get; } = OperatingSystem.IsLinux() && Probe();

    /// <summary>Seconds of CPU this thread has used, or NaN where the clock is unavailable.</summary>
    public static double Seconds()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(ClockThreadCpuTimeId, out var t) != 0) return double.NaN;
        return t.Seconds + (t.Nanoseconds / 1e9);
    }

    private static bool Probe()
    {
        try
        {
            return !double.IsNaN(Seconds());
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }
}
