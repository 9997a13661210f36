using DbProvisioner.Domain;

namespace DbProvisioner.Runtime.Docker.Tests.Runtime;

/// <summary>The container's <c>Memory</c> and <c>MemorySwap</c> (memory + swap) in bytes, as the Docker driver gives them to the engine.</summary>
public sealed class ContainerLimitsTests
{
    private const long GiB = 1L << 30;

    private static IEnumerable<TestCaseData> Limits()
    {
        yield return new TestCaseData(1024L, 0L, 1, new ContainerLimits(GiB, GiB, 1)).SetName("no swap: memory+swap = memory");
        yield return new TestCaseData(1024L, 512L, 10, new ContainerLimits(GiB, GiB + (GiB / 2), 10)).SetName("1 GiB + 512 MiB swap");
        yield return new TestCaseData(Sizes.MaxMemoryMiB, Sizes.MaxSwapMiB, 60, new ContainerLimits(1L << 44, 1L << 45, 60))
            .SetName("the largest sizes the API accepts");
    }

    [TestCaseSource(nameof(Limits))]
    public void Memory_and_memory_plus_swap_are_in_bytes(long memoryMiB, long swapMiB, int swappiness, ContainerLimits expected) =>
        Assert.That(ContainerLimits.Of(memoryMiB, swapMiB, swappiness), Is.EqualTo(expected));

    [TestCase(1024L, 1L << 62, 1, TestName = "swap 2^62 MiB (once wrapped to memory+swap = memory: no swap at all)")]
    [TestCase(1L << 62, 0L, 1, TestName = "memory 2^62 MiB")]
    [TestCase(1L << 62, 1L << 62, 1, TestName = "memory + swap beyond 64 bits of MiB")]
    [TestCase(long.MaxValue / (1L << 20), 1L, 1, TestName = "memory fits, memory + swap does not")]
    [TestCase(0L, 0L, 1, TestName = "no memory")]
    [TestCase(1024L, -1L, 1, TestName = "negative swap")]
    [TestCase(1024L, 0L, 101, TestName = "swappiness above 100")]
    public void A_size_that_cannot_be_a_container_limit_throws_instead_of_wrapping(long memoryMiB, long swapMiB, int swappiness) =>
        Assert.Throws(Is.InstanceOf<ArgumentOutOfRangeException>(), () => ContainerLimits.Of(memoryMiB, swapMiB, swappiness));
}
