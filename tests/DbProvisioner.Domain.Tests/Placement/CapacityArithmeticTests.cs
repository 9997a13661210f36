using System.Collections.Immutable;
using DbProvisioner.Domain.Config;
using DbProvisioner.Domain.Cpu;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.Placement;

/// <summary>Sums and products of sizes in the Domain: exact up to the largest sizes accepted, an exception beyond 64 bits, never a wrap.</summary>
public class CapacityArithmeticTests
{
    private static HostCapacity Host(params NodeCapacity[] nodes) =>
        new("h1", "general", "z1", "r1", ImmutableSortedDictionary<string, string>.Empty, false, true, [.. nodes], 10, []);

    private static NodeCapacity Node(int id, long memoryMiB, int cores = 4, int threads = 2) => new(id, cores, threads, memoryMiB, cores, memoryMiB);

    [TestCase(1, 1, 1)]
    [TestCase(1, 2, 1)]
    [TestCase(2, 2, 1)]
    [TestCase(3, 2, 2)]
    [TestCase(0, 2, 0)]
    [TestCase(int.MaxValue, 1, int.MaxValue)]
    [TestCase(int.MaxValue, 2, 1 << 30)] // (cpus + threads - 1) would wrap to a negative count
    public void Cores_for_a_cpu_count_round_up(int cpus, int threads, int cores) =>
        Assert.That(Node(0, 1024, threads: threads).CoresFor(cpus), Is.EqualTo(cores));

    [Test]
    public void A_host_at_the_largest_accepted_sizes_totals_exactly()
    {
        var nodes = Enumerable.Range(0, 64).Select(i => Node(i, Sizes.MaxMemoryMiB, cores: 1024, threads: 8)).ToArray();

        var host = Host(nodes);

        Assert.Multiple(() =>
        {
            Assert.That(host.TotalMemoryMiB, Is.EqualTo(64 * Sizes.MaxMemoryMiB));
            Assert.That(host.FreeMemoryMiB, Is.EqualTo(64 * Sizes.MaxMemoryMiB));
            Assert.That(host.FreeCpus, Is.EqualTo(64 * 1024 * 8));
        });
    }

    [Test]
    public void A_host_whose_memory_adds_up_beyond_64_bits_throws_instead_of_wrapping() =>
        Assert.Throws<OverflowException>(() => Host(Node(0, (long.MaxValue / 2) + 1), Node(1, (long.MaxValue / 2) + 1)));

    [Test]
    public void A_host_whose_cpus_add_up_beyond_32_bits_throws_instead_of_wrapping() =>
        Assert.Throws<OverflowException>(() => Host(Node(0, 1024, cores: int.MaxValue / 2, threads: 4)));

    [Test]
    public void The_allocator_throws_when_free_memory_adds_up_beyond_64_bits()
    {
        var state = HostCpuState.Create(TopologyBuilder.Uniform(2, 2, 1, long.MaxValue), CpuSet.Empty);

        Assert.Throws<OverflowException>(() => CpuAllocator.Allocate(state, new CpuRequest("i1", 1, 1024, NumaPolicy.Interleave)));
    }

    [TestCase(Sizes.MaxMemoryMiB, 11_744_000L)]
    [TestCase(1024L, 640L)]
    public void The_buffer_pool_of_the_largest_memory_is_exact(long memoryMiB, long bufferPoolMiB) =>
        Assert.That(MyCnf.BufferPoolMiB(memoryMiB), Is.EqualTo(bufferPoolMiB));

    [Test]
    public void A_buffer_pool_beyond_64_bits_throws_instead_of_wrapping_to_the_floor() =>
        Assert.Throws<OverflowException>(() => MyCnf.BufferPoolMiB(long.MaxValue / 10));
}
