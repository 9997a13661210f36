using System.Collections.Immutable;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Tests.TestData;
using DbProvisioner.Domain.Topology;
using static DbProvisioner.Domain.Tests.TestData.Fleets;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.Placement;

public class FilterTests
{
    private static HostState Host() => Dual(1).Build()[0];

    private static HostState Reserved(HostState host, InstanceRequest request)
    {
        var r = HostReservations.Reserve(host, request);
        Assert.That(r.Succeeded, Is.True, r.Reason);
        return r.State;
    }

    private static HostState Filled(int cpus, long memory = 1024)
    {
        var r = HostReservations.Reserve(Host(), Instance("x", cpus, NumaPolicy.Preferred, memory));
        Assert.That(r.Succeeded, Is.True, r.Reason);
        return r.State;
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        var rack = new SpreadRule(SpreadDomain.Rack, 1, SpreadMode.Hard);
        var host = HostCapacity.From(Host());
        yield return new TestCaseData(host, Request(Instance("a", 4)), FilterCode.Fits, "").SetName("fits");
        yield return new TestCaseData(host, Request(Instance("a", 4), pool: "high-io"), FilterCode.Pool, "host is in pool general, not high-io").SetName("pool");
        yield return new TestCaseData(host, Request(Instance("a", 4)) with { RequiredLabels = ImmutableSortedDictionary.Create<string, string>().Add("ssd", "yes") },
            FilterCode.Labels, "label ssd=yes missing").SetName("labels");
        yield return new TestCaseData(host with { Cordoned = true }, Request(Instance("a", 4)), FilterCode.Condition, "host is cordoned").SetName("cordoned");
        yield return new TestCaseData(host with { Healthy = false }, Request(Instance("a", 4)), FilterCode.Condition, "host is unhealthy").SetName("unhealthy");
        yield return new TestCaseData(host with { Healthy = false, HealthReason = "its container engine does not answer: refused" }, Request(Instance("a", 4)),
            FilterCode.Condition, "host is unhealthy: its container engine does not answer: refused").SetName("unhealthy with its reason");
        yield return new TestCaseData(HostCapacity.From(Filled(40)), Request(Instance("a", 26)), FilterCode.Cpu, "no 26 free CPUs on one NUMA node").SetName("cpu required");
        yield return new TestCaseData(HostCapacity.From(Filled(40)), Request(Instance("a", 26, NumaPolicy.Preferred)), FilterCode.Cpu, "fewer than 26 free CPUs on whole cores").SetName("cpu preferred");
        yield return new TestCaseData(host, Request(Instance("a", 4, memoryMiB: 70000)), FilterCode.Memory, "no NUMA node with 4 free CPUs has 70000 MiB free memory").SetName("memory required");
        yield return new TestCaseData(host, Request(Instance("a", 4, NumaPolicy.Preferred, memoryMiB: 140000)), FilterCode.Memory, "less than 140000 MiB free memory").SetName("memory preferred");
        var swap = HostCapacity.From(Host() with { Swap = HostSwap.Of(2048, 1024) });
        var swapHalfUsed = HostCapacity.From(Reserved(Host() with { Swap = HostSwap.Of(2048, 1024) }, Instance("x", 2, swapMiB: 768)));
        yield return new TestCaseData(host, Request(Instance("a", 4, swapMiB: 512)), FilterCode.Swap, "no swap for instances (512 MiB asked)").SetName("swap on a host without swap");
        yield return new TestCaseData(host, Request(Instance("a", 4)), FilterCode.Fits, "").SetName("no swap asked fits a host without swap");
        yield return new TestCaseData(swap, Request(Instance("a", 4, swapMiB: 1024)), FilterCode.Fits, "").SetName("swap: the whole allowance");
        yield return new TestCaseData(swap, Request(Instance("a", 4, swapMiB: 1025)), FilterCode.Swap, "less than 1025 MiB free swap").SetName("swap: over the allowance, within the host's total");
        yield return new TestCaseData(swapHalfUsed, Request(Instance("a", 4, swapMiB: 512)), FilterCode.Swap, "less than 512 MiB free swap").SetName("swap: held by another instance");
        yield return new TestCaseData(swapHalfUsed, Request(Instance("a", 4, swapMiB: 256)), FilterCode.Fits, "").SetName("swap: what is left");
        yield return new TestCaseData(host, Request(Instance("a", 4, memoryMiB: 140000, swapMiB: 512)), FilterCode.Memory, "no NUMA node with 4 free CPUs has 140000 MiB free memory").SetName("memory is told before swap");
        yield return new TestCaseData(host, Request(Instance("a", 4, diskGiB: 600, swapMiB: 512)), FilterCode.Swap, "no swap for instances (512 MiB asked)").SetName("swap is told before disk");
        yield return new TestCaseData(host, Request(Instance("a", 4, diskGiB: 600)), FilterCode.Disk, "no Ready or Discovered nvme disk of 600 GiB or more").SetName("disk");
        yield return new TestCaseData(host with { FreePorts = 0 }, Request(Instance("a", 4)), FilterCode.Port, "no free port").SetName("port");
        yield return new TestCaseData(host, Request(Instance("a", 4), Shard(rack, host)), FilterCode.Spread,
            "rack z1/r1 already holds a member of shard c1/s4 (hard spread: at most 1 per rack)").SetName("hard spread");
        yield return new TestCaseData(host, Request(Instance("a", 4), Shard(rack with { Mode = SpreadMode.Soft }, host)), FilterCode.Fits, "").SetName("soft spread only scores");
        yield return new TestCaseData(host, Request(Instance("a", 4), Shard(rack with { MaxPerDomain = 2 }, host)), FilterCode.Fits, "").SetName("max per domain 2");
    }

    [TestCaseSource(nameof(Cases))]
    public void Each_filter_says_why_a_host_does_not_fit(HostCapacity host, PlacementRequest request, FilterCode code, string reason)
    {
        Assert.Multiple(() =>
        {
            Assert.That(Filters.Check(host, request), Is.EqualTo(code));
            Assert.That(Filters.Explain(code, host, request), Is.EqualTo(reason));
            Assert.That(Filters.All(host, request), code == FilterCode.Fits ? Is.Empty : Does.Contain(reason));
        });
    }

    [Test]
    public void The_summary_tracks_free_cores_memory_disks_and_ports()
    {
        var c = HostCapacity.From(Filled(5, 2048));
        Assert.Multiple(() =>
        {
            Assert.That(c.Nodes.Select(static n => n.FreeCores), Is.EqualTo(new[] { 13, 16 }));
            Assert.That(c.Nodes.Select(static n => n.FreeMemoryMiB), Is.EqualTo(new[] { 65536L - 2048, 65536L }));
            Assert.That(c.FreePorts, Is.EqualTo(15));
            Assert.That(c.ReadyDisks, Is.EqualTo(new[] { new DiskCapacity("nvme", 500, true, 1), new DiskCapacity("nvme", 500, false, 6) }));
        });
    }

    [Test]
    public void The_summary_tracks_the_swap_allowance_and_what_is_free()
    {
        var host = Reserved(Host() with { Swap = HostSwap.Of(4096, 3072) }, Instance("x", 2, swapMiB: 1024));
        var c = HostCapacity.From(host);
        var released = HostCapacity.From(HostReservations.Release(host, "x"));
        Assert.Multiple(() =>
        {
            Assert.That(c.AllocatableSwapMiB, Is.EqualTo(3072), "the allowance, not the host's total");
            Assert.That(c.FreeSwapMiB, Is.EqualTo(2048));
            Assert.That(released.FreeSwapMiB, Is.EqualTo(3072), "release gives the swap back");
        });
    }

    [Test]
    public void Discovered_disks_are_claimable_on_demand_after_every_ready_disk()
    {
        var host = Host();
        host = host with { Disks = Domain.Disks.DiskPool.Of(host.Disks.Disks.Values.Select((d, i) => i < 3 ? d : d with { State = Domain.Disks.DiskState.Discovered, Seeded = false })) };
        var c = HostCapacity.From(host);
        Assert.That(c.ReadyDisks, Is.EqualTo(new[] { new DiskCapacity("nvme", 500, true, 2), new DiskCapacity("nvme", 500, false, 1), new DiskCapacity("nvme", 500, false, 5, OnDemand: true) }));
        for (var i = 0; i < 4; i++)
        {
            var request = Instance($"i{i}", 2);
            Assert.That(Filters.Check(c, Request(request)), Is.EqualTo(FilterCode.Fits));
            var assumed = c.Assume(request);
            var r = HostReservations.Reserve(host, request);
            Assert.That(r.Succeeded, Is.True, r.Reason);
            Assert.That(r.Reservation!.Disk.OnDemand, Is.EqualTo(i == 3), "Ready disks first, then on demand");
            host = r.State;
            c = HostCapacity.From(host);
            Assert.That(assumed.ReadyDisks, Is.EqualTo(c.ReadyDisks));
        }
    }

    [Test]
    public void Assume_matches_the_hosts_own_reservation()
    {
        var host = Filled(6) with { Swap = HostSwap.Of(8192, 8192) };
        foreach (var (cpus, numa) in new[] { (4, NumaPolicy.Required), (31, NumaPolicy.Preferred), (3, NumaPolicy.Interleave), (2, NumaPolicy.None) })
        {
            var request = Instance($"i{cpus}", cpus, numa, 3000, swapMiB: cpus * 100L);
            var assumed = HostCapacity.From(host).Assume(request);
            var r = HostReservations.Reserve(host, request);
            Assert.That(r.Succeeded, Is.True, r.Reason);
            host = r.State;
            Assert.That(assumed, Is.EqualTo(HostCapacity.From(host)).Using<HostCapacity>(static (a, b) =>
                a.Nodes.SequenceEqual(b.Nodes) && a.ReadyDisks.SequenceEqual(b.ReadyDisks) && a.FreePorts == b.FreePorts && a.FreeSwapMiB == b.FreeSwapMiB), $"{cpus} {numa}");
        }
    }
}
