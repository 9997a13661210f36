using DbProvisioner.Domain.Hosts;

namespace DbProvisioner.Domain.Tests.Hosts;

public sealed class ReconciliationTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan HelperAge = TimeSpan.FromMinutes(5);

    private static ObservedContainer Instance(string id, bool running = true) => new($"dbprov-{id}", id, null, running, Now.AddHours(-1));
    private static ObservedContainer Helper(string name, TimeSpan age) => new(name, null, "format", false, Now - age);

    [Test]
    public void A_consistent_host_is_clean()
    {
        var report = Reconciliation.Compare([new BelievedInstance("a", true, false)], [Instance("a")], Now - HelperAge);
        Assert.That(report.Clean, Is.True);
    }

    [Test]
    public void A_container_nobody_owns_is_an_orphan()
    {
        var report = Reconciliation.Compare([new BelievedInstance("a", true, false)], [Instance("a"), Instance("ghost")], Now - HelperAge);
        Assert.That(report.Orphans, Is.EqualTo(new[] { "dbprov-ghost" }));
        Assert.That(report.Vanished, Is.Empty);
    }

    [Test]
    public void A_container_of_an_instance_that_should_have_none_is_an_orphan()
    {
        var report = Reconciliation.Compare([new BelievedInstance("old", false, false)], [Instance("old")], Now - HelperAge);
        Assert.That(report.Orphans, Is.EqualTo(new[] { "dbprov-old" }));
    }

    [Test]
    public void An_instance_whose_container_vanished_is_reported_once()
    {
        var first = Reconciliation.Compare([new BelievedInstance("a", true, false)], [], Now - HelperAge);
        var afterMarking = Reconciliation.Compare([new BelievedInstance("a", true, true)], [], Now - HelperAge);
        Assert.Multiple(() =>
        {
            Assert.That(first.Vanished, Is.EqualTo(new[] { "a" }));
            Assert.That(afterMarking.Vanished, Is.Empty, "already marked: nothing new to do");
        });
    }

    [Test]
    public void A_container_that_came_back_clears_the_mark()
    {
        var report = Reconciliation.Compare([new BelievedInstance("a", true, true)], [Instance("a", running: false)], Now - HelperAge);
        Assert.That(report.Returned, Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public void An_instance_in_flight_is_neither_orphan_nor_vanished()
    {
        var withContainer = Reconciliation.Compare([new BelievedInstance("a", false, false, InFlight: true)], [Instance("a")], Now - HelperAge);
        var without = Reconciliation.Compare([new BelievedInstance("a", true, false, InFlight: true)], [], Now - HelperAge);
        Assert.Multiple(() =>
        {
            Assert.That(withContainer.Clean, Is.True);
            Assert.That(without.Clean, Is.True);
        });
    }

    [Test]
    public void Only_helpers_past_their_age_are_stale()
    {
        var report = Reconciliation.Compare([], [Helper("dbprov-helper-format-1", TimeSpan.FromMinutes(30)), Helper("dbprov-helper-check-2", TimeSpan.FromSeconds(10))], Now - HelperAge);
        Assert.That(report.StaleHelpers, Is.EqualTo(new[] { "dbprov-helper-format-1" }));
        Assert.That(report.Orphans, Is.Empty, "a helper is never an instance's orphan");
    }

    [TestCase("format", 30 * 60, true, TestName = "A helper volume older than the cut-off is stale")]
    [TestCase("check", 10, false, TestName = "A helper volume made since the cut-off is in use")]
    [TestCase(null, 30 * 60, false, TestName = "An instance's data volume is never a helper's")]
    public void Stale_helper_volumes(string? helper, int ageSeconds, bool stale)
    {
        var volume = new ObservedVolume("dbprov-vol", helper, Now - TimeSpan.FromSeconds(ageSeconds));

        var found = Reconciliation.StaleHelperVolumes([volume], Now - HelperAge);

        Assert.That(found, stale ? Is.EqualTo(new[] { "dbprov-vol" }) : Is.Empty);
    }

    [TestCase(true, "h2", false, true, TestName = "placed on another host: given back")]
    [TestCase(true, "h2", true, true, TestName = "finished on another host: given back")]
    [TestCase(true, null, true, true, TestName = "failed before any placement was stored: given back")]
    [TestCase(true, "h1", false, false, TestName = "placed here: kept")]
    [TestCase(true, "h1", true, false, TestName = "finished here: kept (its own removal gives it back)")]
    [TestCase(true, null, false, false, TestName = "still being placed: kept")]
    [TestCase(false, null, false, false, TestName = "not stored yet (a cluster reserves its members first): kept")]
    public void A_reservation_is_given_back_only_when_its_instance_says_it_lives_elsewhere(bool known, string? instanceHost, bool finished, bool unclaimed)
    {
        var found = Reconciliation.UnclaimedReservations("h1", [new HeldReservation("i-1", known, instanceHost, finished)]);

        Assert.That(found, unclaimed ? Is.EqualTo(new[] { "i-1" }) : Is.Empty);
    }
}
