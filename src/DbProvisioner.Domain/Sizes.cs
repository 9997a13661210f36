using System.Globalization;

namespace DbProvisioner.Domain;

/// <summary>
/// The largest sizes the appliance accepts anywhere (API edge, host registration), and the one checked
/// way to turn MiB into the bytes an engine takes: a size is refused or throws, it never wraps around.
/// </summary>
public static class Sizes
{
    public const long BytesPerMiB = 1L << 20;

    /// <summary>16 TiB in MiB: more than any one database host (or NUMA node) carries today.</summary>
    public const long MaxMemoryMiB = 16L << 20;

    /// <summary>A swap allowance is at most as large as the largest memory.</summary>
    public const long MaxSwapMiB = MaxMemoryMiB;

    /// <summary>1 PiB in GiB: larger than any one block device.</summary>
    public const long MaxDiskGiB = 1L << 20;

    /// <summary><paramref name="mib"/> in bytes; throws rather than wrap around.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    /// <exception cref="OverflowException">More bytes than a 64-bit count holds.</exception>
    public static long MiBToBytes(long mib)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(mib);
        return mib <= long.MaxValue / BytesPerMiB
            ? mib * BytesPerMiB
            : throw new OverflowException(string.Create(CultureInfo.InvariantCulture, $"{mib} MiB is more bytes than a 64-bit count holds"));
    }

    /// <summary>The sum of two sizes in the same unit; throws rather than wrap around.</summary>
    /// <exception cref="OverflowException">The sum does not fit in 64 bits.</exception>
    public static long Add(long a, long b) => checked(a + b);
}
