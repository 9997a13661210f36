namespace DbProvisioner.Domain.Tests;

public class SizesTests
{
    private const long TwoTo62 = 1L << 62;

    private static IEnumerable<TestCaseData> Conversions()
    {
        yield return new TestCaseData(0L, 0L).SetName("0 MiB");
        yield return new TestCaseData(1L, 1_048_576L).SetName("1 MiB");
        yield return new TestCaseData(1024L, 1L << 30).SetName("1 GiB");
        yield return new TestCaseData(Sizes.MaxMemoryMiB + Sizes.MaxSwapMiB, 1L << 45).SetName("largest memory + largest swap");
        yield return new TestCaseData(long.MaxValue / Sizes.BytesPerMiB, long.MaxValue / Sizes.BytesPerMiB * Sizes.BytesPerMiB).SetName("the largest that fits");
    }

    [TestCaseSource(nameof(Conversions))]
    public void MiB_become_bytes(long mib, long bytes) => Assert.That(Sizes.MiBToBytes(mib), Is.EqualTo(bytes));

    [TestCase(long.MaxValue / Sizes.BytesPerMiB + 1, TestName = "one past the largest")]
    [TestCase(TwoTo62, TestName = "2^62 MiB")]
    [TestCase(long.MaxValue, TestName = "long.MaxValue MiB")]
    public void MiB_beyond_64_bits_of_bytes_throw_instead_of_wrapping(long mib) =>
        Assert.Throws<OverflowException>(() => Sizes.MiBToBytes(mib));

    [Test]
    public void Negative_MiB_are_refused() => Assert.Throws<ArgumentOutOfRangeException>(() => Sizes.MiBToBytes(-1));

    [TestCase(1024L, 512L, 1536L)]
    [TestCase(Sizes.MaxMemoryMiB, Sizes.MaxSwapMiB, 2 * Sizes.MaxMemoryMiB)]
    public void Sizes_add_up(long a, long b, long sum) => Assert.That(Sizes.Add(a, b), Is.EqualTo(sum));

    [TestCase(TwoTo62, TwoTo62, TestName = "2^62 + 2^62")]
    [TestCase(long.MaxValue, 1L, TestName = "long.MaxValue + 1")]
    public void A_sum_beyond_64_bits_throws_instead_of_wrapping(long a, long b) =>
        Assert.Throws<OverflowException>(() => Sizes.Add(a, b));
}
