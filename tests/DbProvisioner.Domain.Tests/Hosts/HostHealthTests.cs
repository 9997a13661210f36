using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Tests.TestData;
using static DbProvisioner.Domain.Tests.TestData.Fleets;

namespace DbProvisioner.Domain.Tests.Hosts;

public sealed class HostHealthTests
{
    private const int Threshold = 3;
    private static readonly DateTimeOffset Earlier = new(2026, 11, 30, 4, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = Earlier.AddMinutes(1);
    private const string Refused = "the container engine of host node-1 does not answer";
    private const string DownReason = "its container engine does not answer: " + Refused + " (last seen 2026-11-30T04:00:00Z)";

    private static readonly HostHealth Seen = new(true, "", Earlier);
    private static HostHealth FailedTimes(int n) => Seen with { Failures = n };
    private static readonly HostHealth Down = new(false, DownReason, Earlier, Threshold);

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(HostHealth.Initial, HostProbe.Answered, new HostHealth(true, "", Now)).SetName("a first answer: healthy, seen now");
        yield return new TestCaseData(Seen, HostProbe.Failed(Refused), FailedTimes(1)).SetName("one failed ping: still healthy, failure counted");
        yield return new TestCaseData(FailedTimes(Threshold - 2), HostProbe.Failed(Refused), FailedTimes(Threshold - 1)).SetName("below the threshold: still healthy");
        yield return new TestCaseData(FailedTimes(Threshold - 1), HostProbe.Failed(Refused), Down).SetName("at the threshold: unhealthy, reason and last seen");
        yield return new TestCaseData(Down, HostProbe.Failed("another error"), Down with { Failures = Threshold + 1 }).SetName("still down: the reason stays as stored");
        yield return new TestCaseData(Seen, new HostProbe(Refused, CircuitOpen: true),
            new HostHealth(false, "the circuit of its container engine is open: calls keep failing (last seen 2026-11-30T04:00:00Z)", Earlier, 1)).SetName("an open circuit: unhealthy at once");
        yield return new TestCaseData(Down, new HostProbe(null, CircuitOpen: true), Down with { Failures = Threshold + 1 }).SetName("down, then its circuit opens: the reason stays");
        yield return new TestCaseData(Down, HostProbe.Answered, new HostHealth(true, "", Now)).SetName("the engine answers again: healthy");
        yield return new TestCaseData(FailedTimes(2), HostProbe.Answered, new HostHealth(true, "", Now)).SetName("an answer resets the failures");
        yield return new TestCaseData(Seen, new HostProbe(null, TopologyDrift: "the engine has 4 CPUs, 2 registered"),
            new HostHealth(false, "its topology changed: the engine has 4 CPUs, 2 registered", Now)).SetName("topology drift: unhealthy at once, still seen");
        yield return new TestCaseData(Seen, new HostProbe(null, MissingDevices: ["/dev/loop9", "/dev/loop3"]),
            new HostHealth(false, "disks /dev/loop3, /dev/loop9 of its pool are missing", Now)).SetName("missing disks: named in order");
        yield return new TestCaseData(Seen, new HostProbe(null, TopologyDrift: "t", MissingDevices: ["/dev/loop3"]),
            new HostHealth(false, "its topology changed: t; disk /dev/loop3 of its pool is missing", Now)).SetName("both drifts: both named");
        yield return new TestCaseData(new HostHealth(false, "disk /dev/loop3 of its pool is missing", Earlier), HostProbe.Failed(Refused),
            new HostHealth(false, "disk /dev/loop3 of its pool is missing", Earlier, 1)).SetName("a drifted host whose engine misses one ping keeps its reason");
    }

    [TestCaseSource(nameof(Cases))]
    public void Decides(HostHealth before, HostProbe probe, HostHealth expected)
    {
        var after = HostHealthDecision.Decide(before, probe, Now, Threshold);
        Assert.That(after, Is.EqualTo(expected));
        Assert.That(after.Healthy, Is.EqualTo(after.Reason.Length == 0), "healthy exactly when there is no reason");
    }

    [Test]
    public void A_dead_engine_changes_the_stored_state_once()
    {
        var health = Seen;
        var changes = 0;
        for (var beat = 0; beat < 10; beat++)
        {
            var next = HostHealthDecision.Decide(health, HostProbe.Failed(Refused), Now, Threshold);
            if (next.DiffersInStateFrom(health)) changes++;
            health = next;
        }
        Assert.That(changes, Is.EqualTo(1), "healthy → unhealthy once; the heartbeats after it change nothing to store");
    }

    [Test]
    public void Healthy_heartbeats_change_nothing_to_store()
    {
        var next = HostHealthDecision.Decide(Seen, HostProbe.Answered, Now, Threshold);
        Assert.That(next.DiffersInStateFrom(Seen), Is.False, "only last seen moved");
    }

    [Test]
    public void An_unhealthy_host_refuses_a_reservation_with_its_reason()
    {
        var host = Dual(1).Build()[0] with { Healthy = false, HealthReason = DownReason };
        var result = HostReservations.Reserve(host, Instance("a", 2));
        Assert.That(result.Reason, Is.EqualTo($"host {host.HostId} is unhealthy: {DownReason}"));
        Assert.That(HostCapacity.From(host).HealthReason, Is.EqualTo(DownReason), "placement's index carries the reason");
    }

    [Test]
    public void Threshold_below_one_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => HostHealthDecision.Decide(Seen, HostProbe.Answered, Now, 0));
}
