using DbProvisioner.Domain;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// An instance's memory limits as the engine takes them: <c>Memory</c>, and <c>MemorySwap</c> = memory + swap (DESIGN.md), both in
/// bytes. Computed before anything is created, so that a size that does not fit is refused instead of wrapping
/// around (a wrapped sum once made the swap silently 0).
/// </summary>
public readonly record struct ContainerLimits(long MemoryBytes, long MemorySwapBytes, long Swappiness)
{
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, zero memory, a swappiness outside 0–100, or a size the engine's byte counts cannot hold.</exception>
    public static ContainerLimits Of(long memoryMiB, long swapMiB, int swappiness)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(memoryMiB);
        ArgumentOutOfRangeException.ThrowIfNegative(swapMiB);
        if (swappiness is < 0 or > 100) throw new ArgumentOutOfRangeException(nameof(swappiness), swappiness, "swappiness must be between 0 and 100");
        try
        {
            return new ContainerLimits(Sizes.MiBToBytes(memoryMiB), Sizes.MiBToBytes(Sizes.Add(memoryMiB, swapMiB)), swappiness);
        }
        catch (OverflowException e)
        {
            throw new ArgumentOutOfRangeException(
                $"memory {memoryMiB} MiB + swap {swapMiB} MiB does not fit a container's limits (at most {long.MaxValue / Sizes.BytesPerMiB} MiB in all)", e);
        }
    }
}
