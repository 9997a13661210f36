using DbProvisioner.Testing;

namespace DbProvisioner.Grains.Tests.Support;

/// <summary>The one wait helper of the suites: it must return as soon as the condition holds and fail saying what it waited for.</summary>
public sealed class EventuallyTests
{
    [Test]
    public async Task UntilAsync_ReturnsTheFirstValueForWhichTheConditionHolds()
    {
        var probes = 0;

        var value = await Eventually.UntilAsync(() => Task.FromResult(++probes), static n => n >= 3, TimeSpan.FromSeconds(10), "the third probe");

        Assert.Multiple(() =>
        {
            Assert.That(value, Is.EqualTo(3));
            Assert.That(probes, Is.EqualTo(3), "no probe after the condition held");
        });
    }

    [Test]
    public void UntilAsync_FailsNamingWhatWasAwaitedAndTheLastValueSeen()
    {
        var probes = 0;

        var failure = Assert.ThrowsAsync<TimeoutException>(() =>
            Eventually.UntilAsync(() => Task.FromResult(++probes), static _ => false, TimeSpan.FromMilliseconds(100), "the counter to stop", static n => $"count {n}"));

        Assert.That(failure!.Message, Does.Contain("the counter to stop").And.Contain($"last seen: count {probes}"));
        Assert.That(probes, Is.GreaterThan(1), "probed more than once before giving up");
    }

    [Test]
    public async Task PollAsync_SaysTheConditionWasNotMet_WithTheLastValue_InsteadOfThrowing()
    {
        var polled = await Eventually.PollAsync(() => Task.FromResult("still busy"), static s => s == "done", TimeSpan.FromMilliseconds(50));

        Assert.Multiple(() =>
        {
            Assert.That(polled.Met, Is.False);
            Assert.That(polled.Last, Is.EqualTo("still busy"));
            Assert.That(polled.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(50)));
        });
    }

    [Test]
    public void AFailingProbe_EndsTheWaitWithItsOwnError()
    {
        static Task<int> Probe() => throw new InvalidOperationException("disk Faulty");

        var failure = Assert.ThrowsAsync<InvalidOperationException>(() => Eventually.UntilAsync(Probe, static _ => true, TimeSpan.FromSeconds(10), "a disk"));

        Assert.That(failure!.Message, Is.EqualTo("disk Faulty"));
    }
}
