using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Topology;
using static DbProvisioner.Domain.Tests.TestData.Fleets;

namespace DbProvisioner.Domain.Tests.Hosts;

/// <summary>A host's swap is reserved like memory: never over-committed, given back on release, idempotent per instance.</summary>
public class SwapReservationTests
{
    /// <summary>A dual-socket host whose swap allowance is <paramref name="allocatableMiB"/> of <paramref name="totalMiB"/>, holding <paramref name="held"/>.</summary>
    private static HostState Host(long totalMiB, long allocatableMiB, params long[] held)
    {
        var host = Dual(1).Build()[0] with { Swap = HostSwap.Of(totalMiB, allocatableMiB) };
        for (var i = 0; i < held.Length; i++)
        {
            var r = HostReservations.Reserve(host, Instance($"held{i}", 2, swapMiB: held[i]));
            Assert.That(r.Succeeded, Is.True, r.Reason);
            host = r.State;
        }
        return host;
    }

    private static IEnumerable<TestCaseData> Reservations()
    {
        yield return new TestCaseData(Host(0, 0), 0L, true, "").SetName("no swap asked, host without swap: reserved");
        yield return new TestCaseData(Host(0, 0), 512L, false, "host h0001: no swap for instances (512 MiB asked)").SetName("host without swap refuses swap");
        yield return new TestCaseData(Host(4096, 0), 1L, false, "host h0001: no swap for instances (1 MiB asked)").SetName("host whose swap is not for instances refuses swap");
        yield return new TestCaseData(Host(4096, 2048), 2048L, true, "").SetName("the whole allowance");
        yield return new TestCaseData(Host(4096, 2048), 2049L, false, "host h0001: less than 2049 MiB free swap (2048 of 2048 MiB free)").SetName("more than the allowance, less than the host has");
        yield return new TestCaseData(Host(4096, 2048, 1024, 512), 512L, true, "").SetName("exactly what the others left");
        yield return new TestCaseData(Host(4096, 2048, 1024, 512), 513L, false, "host h0001: less than 513 MiB free swap (512 of 2048 MiB free)").SetName("one MiB over what the others left");
        yield return new TestCaseData(Host(4096, 2048, 2048), 0L, true, "").SetName("no swap asked on a host whose swap is all held");
    }

    [TestCaseSource(nameof(Reservations))]
    public void Reserve_books_swap_only_within_the_allowance(HostState host, long swapMiB, bool succeeds, string reason)
    {
        var before = host.Swap.UsedMiB;
        var r = HostReservations.Reserve(host, Instance("a", 2, swapMiB: swapMiB));
        Assert.Multiple(() =>
        {
            Assert.That(r.Succeeded, Is.EqualTo(succeeds));
            Assert.That(r.Reason, Is.EqualTo(reason));
            Assert.That(r.State.Swap.UsedMiB, Is.EqualTo(succeeds ? before + swapMiB : before), "swap booked only on success");
            Assert.That(r.State.Swap.UsedMiB, Is.LessThanOrEqualTo(r.State.Swap.AllocatableMiB), "never over-committed");
            Assert.That(HostReservations.Validate(r.State), Is.Empty);
            if (succeeds) Assert.That(r.Reservation!.SwapMiB, Is.EqualTo(swapMiB));
            else Assert.That(r.State, Is.SameAs(host), "a refusal changes nothing: no CPUs, disk or port either");
        });
    }

    [Test]
    public void Release_gives_the_swap_back_and_a_second_release_changes_nothing()
    {
        var host = Host(4096, 2048, 1024);
        var taken = HostReservations.Reserve(host, Instance("a", 2, swapMiB: 1024)).State;
        Assert.That(HostReservations.Reserve(taken, Instance("b", 2, swapMiB: 1)).Succeeded, Is.False, "the allowance is used up");

        var released = HostReservations.Release(taken, "a");
        Assert.Multiple(() =>
        {
            Assert.That(released.Swap.FreeMiB, Is.EqualTo(1024));
            Assert.That(released.Swap.HeldBy("a"), Is.Zero);
            Assert.That(released.Swap.HeldBy("held0"), Is.EqualTo(1024), "the other instance keeps its swap");
            Assert.That(HostReservations.Release(released, "a").Swap, Is.EqualTo(released.Swap));
            Assert.That(HostReservations.Reserve(released, Instance("b", 2, swapMiB: 1024)).Succeeded, Is.True, "what was given back is free again");
        });
    }

    [Test]
    public void Reserving_again_for_the_same_instance_holds_its_swap_once()
    {
        var first = HostReservations.Reserve(Host(4096, 2048), Instance("a", 2, swapMiB: 1536));
        var again = HostReservations.Reserve(first.State, Instance("a", 2, swapMiB: 1536));
        Assert.Multiple(() =>
        {
            Assert.That(again.Succeeded, Is.True, again.Reason);
            Assert.That(again.State.Swap.UsedMiB, Is.EqualTo(1536), "not 3072: booked once");
            Assert.That(again.Reservation, Is.EqualTo(first.Reservation));
        });
    }

    [TestCase(1536L, 1024L, "host h0001: instance a already holds 1536 MiB of swap; release it before asking for 1024 MiB")]
    [TestCase(0L, 512L, "host h0001: instance a already holds 0 MiB of swap; release it before asking for 512 MiB")]
    [TestCase(512L, 0L, "host h0001: instance a already holds 512 MiB of swap; release it before asking for 0 MiB")]
    public void Reserving_again_with_other_swap_is_refused(long first, long second, string reason)
    {
        var held = HostReservations.Reserve(Host(4096, 2048), Instance("a", 2, swapMiB: first)).State;
        var again = HostReservations.Reserve(held, Instance("a", 2, swapMiB: second));
        Assert.Multiple(() =>
        {
            Assert.That(again.Succeeded, Is.False);
            Assert.That(again.Reason, Is.EqualTo(reason));
            Assert.That(again.State, Is.SameAs(held));
        });
    }

    [Test]
    public void Validate_finds_over_committed_swap_and_swap_without_an_instance()
    {
        var host = Host(4096, 2048, 1024);
        var overCommitted = host with { Swap = host.Swap with { AllocatableMiB = 512 } };
        var stray = host with { Swap = host.Swap with { ByInstance = host.Swap.ByInstance.Add("ghost", 1) } };
        var beyondTotal = host with { Swap = host.Swap with { AllocatableMiB = 8192 } };
        Assert.Multiple(() =>
        {
            Assert.That(HostReservations.Validate(overCommitted), Has.Member("swap is over-committed: instances hold 1024 MiB of 512 MiB"));
            Assert.That(HostReservations.Validate(stray), Has.Member("instance ghost holds swap but no CPUs"));
            Assert.That(HostReservations.Validate(beyondTotal), Has.Member("swap allowance 8192 MiB is outside 0-4096 MiB (the host's swap)"));
        });
    }

    private static IEnumerable<TestCaseData> Allowances()
    {
        yield return new TestCaseData(2048L, null, true, HostSwap.Of(2048, 2048), "").SetName("discovered swap: all of it for instances");
        yield return new TestCaseData(2048L, 1024L, true, HostSwap.Of(2048, 1024), "").SetName("registration asks for part of it");
        yield return new TestCaseData(2048L, 2048L, true, HostSwap.Of(2048, 2048), "").SetName("registration asks for all of it");
        yield return new TestCaseData(0L, null, true, HostSwap.None, "").SetName("a host without swap registers with none");
        yield return new TestCaseData(0L, 0L, true, HostSwap.None, "").SetName("a host without swap, none asked");
        yield return new TestCaseData(2048L, 4096L, true, null, "host h1 has only 2048 MiB of swap (4096 MiB asked)").SetName("more than the host has");
        yield return new TestCaseData(0L, 512L, true, null, "host h1 has no swap (512 MiB asked); enable swap on it first").SetName("swap asked of a host without swap");
        yield return new TestCaseData(2048L, null, false, HostSwap.Of(2048, 0), "").SetName("engine cannot limit swap: none for instances");
        yield return new TestCaseData(2048L, 1024L, false, null, "the engine of host h1 cannot limit an instance's swap (no swap accounting in its kernel)").SetName("engine cannot limit swap, swap asked");
    }

    [TestCaseSource(nameof(Allowances))]
    public void The_allowance_is_what_the_registration_asks_within_what_the_host_has(long totalMiB, long? askedMiB, bool engineLimitsSwap, HostSwap? expected, string reason)
    {
        var (swap, why) = SwapAllowance.Decide("h1", totalMiB, askedMiB, engineLimitsSwap);
        Assert.Multiple(() =>
        {
            Assert.That(why, Is.EqualTo(reason));
            Assert.That(swap?.TotalMiB, Is.EqualTo(expected?.TotalMiB));
            Assert.That(swap?.AllocatableMiB, Is.EqualTo(expected?.AllocatableMiB));
            Assert.That(swap?.ByInstance, expected is null ? Is.Null : Is.Empty);
        });
    }
}
