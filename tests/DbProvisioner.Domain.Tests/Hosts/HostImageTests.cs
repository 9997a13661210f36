using DbProvisioner.Api;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using static DbProvisioner.Domain.Tests.TestData.Fleets;

namespace DbProvisioner.Domain.Tests.Hosts;

/// <summary>What a pull's events mean for a host's image state, and for placement (issue 11, "hosts pull the image").</summary>
public sealed class HostImageTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
    private static readonly HostImage Pulling = new(ImageState.Pulling, 0, 0, null, T0);
    private static readonly HostImage Half = new(ImageState.Pulling, 50, 100, null, T0);
    private static readonly HostImage FailedOnce = new(ImageState.Failed, 10, 100, "manifest unknown", T0, 1);

    private static IEnumerable<TestCaseData> ProgressCases()
    {
        yield return new TestCaseData(Pulling, 10L, 100L, 0.5, Pulling with { BytesDone = 10, BytesTotal = 100, At = T0.AddSeconds(0.5) }, false)
            .SetName("progress soon after the last write: shown, not stored");
        yield return new TestCaseData(Pulling, 10L, 100L, 2.0, Pulling with { BytesDone = 10, BytesTotal = 100, At = T0.AddSeconds(2) }, true)
            .SetName("progress 2 s after the last write: stored");
        yield return new TestCaseData(Half, 50L, 100L, 10.0, Half, false).SetName("the same bytes again: no change at all");
        yield return new TestCaseData(Half, 150L, 100L, 3.0, Half with { BytesDone = 100, At = T0.AddSeconds(3) }, true).SetName("more done than the total: held at the total");
        yield return new TestCaseData(Half, 60L, 200L, 3.0, Half with { BytesDone = 60, BytesTotal = 200, At = T0.AddSeconds(3) }, true)
            .SetName("a layer's size becomes known: the total grows");
        yield return new TestCaseData(HostImage.Present, 10L, 100L, 5.0, HostImage.Present, false).SetName("a late message after the pull ended: ignored");
        yield return new TestCaseData(FailedOnce, 20L, 100L, 5.0, FailedOnce, false).SetName("a message on a failed pull: ignored");
    }

    [TestCaseSource(nameof(ProgressCases))]
    public void Progress_is_stored_at_most_every_interval(HostImage before, long done, long total, double secondsSinceStored, HostImage expected, bool store)
    {
        var (next, stored) = HostImagePulls.Progress(before, done, total, T0, T0.AddSeconds(secondsSinceStored));
        Assert.Multiple(() =>
        {
            Assert.That(next, Is.EqualTo(expected));
            Assert.That(stored, Is.EqualTo(store));
        });
    }

    [Test]
    public void A_pull_reporting_every_10_ms_for_a_minute_is_stored_about_every_2_seconds()
    {
        var image = Pulling;
        var storedAt = T0;
        var writes = 0;
        for (var ms = 10; ms <= 60_000; ms += 10)
        {
            var now = T0.AddMilliseconds(ms);
            (image, var store) = HostImagePulls.Progress(image, ms, 60_000, storedAt, now);
            if (!store) continue;
            writes++;
            storedAt = now;
        }
        Assert.That(writes, Is.EqualTo(30), "6,000 messages, one write per 2 s");
        Assert.That(image.BytesDone, Is.EqualTo(60_000));
    }

    private static IEnumerable<TestCaseData> LifeCases()
    {
        var now = T0.AddMinutes(1);
        yield return new TestCaseData(HostImagePulls.AtRegistration(true, now), HostImage.Present with { At = now }).SetName("registration on an engine that holds it: Present");
        yield return new TestCaseData(HostImagePulls.AtRegistration(false, now), new HostImage(ImageState.Pulling, 0, 0, null, now)).SetName("registration on an engine without it: Pulling");
        yield return new TestCaseData(HostImagePulls.Started(FailedOnce, now).Next, new HostImage(ImageState.Pulling, 0, 0, null, now, 1))
            .SetName("a retry after a failure: Pulling again, the error gone, the failure still counted");
        yield return new TestCaseData(HostImagePulls.Started(Half, now).Next, Half).SetName("started while pulling: unchanged");
        yield return new TestCaseData(HostImagePulls.Completed(Half, now), new HostImage(ImageState.Present, 100, 100, null, now))
            .SetName("completed: Present, every byte done");
        yield return new TestCaseData(HostImagePulls.Completed(FailedOnce with { State = ImageState.Pulling, Error = null }, now), new HostImage(ImageState.Present, 100, 100, null, now))
            .SetName("completed after failures: the failures forgotten");
        yield return new TestCaseData(HostImagePulls.Failed(Half, "  Get https://10.251.0.1:5000/v2/: connection refused ", now),
            Half with { State = ImageState.Failed, Error = "Get https://10.251.0.1:5000/v2/: connection refused", At = now, Failures = 1 })
            .SetName("failed: the engine's reason, one failure");
        yield return new TestCaseData(HostImagePulls.Failed(FailedOnce, "", now), FailedOnce with { Error = "the engine gave no reason", At = now, Failures = 2 })
            .SetName("failed again without a reason: said so, two failures");
    }

    [TestCaseSource(nameof(LifeCases))]
    public void A_pull_moves_the_image_through_its_states(HostImage decided, HostImage expected)
    {
        Assert.That(decided, Is.EqualTo(expected));
        Assert.That(decided.Error is not null, Is.EqualTo(decided.State == ImageState.Failed), "an error exactly when Failed");
    }

    [TestCase(1, 5)]
    [TestCase(2, 10)]
    [TestCase(3, 20)]
    [TestCase(6, 160)]
    [TestCase(7, 300)]
    [TestCase(1000, 300)]
    public void Failed_pulls_are_retried_with_doubling_backoff_up_to_five_minutes(int failures, int seconds) =>
        Assert.That(HostImagePulls.RetryDelay(failures), Is.EqualTo(TimeSpan.FromSeconds(seconds)));

    private static IEnumerable<TestCaseData> PlacementCases()
    {
        yield return new TestCaseData(HostImage.Present, FilterCode.Fits, "").SetName("Present: the host fits");
        yield return new TestCaseData(Pulling, FilterCode.Condition, "host is not ready: its MySQL image is being pulled").SetName("Pulling before any size: skipped");
        yield return new TestCaseData(Half with { BytesDone = 45 }, FilterCode.Condition, "host is not ready: its MySQL image is being pulled (45%)").SetName("Pulling: skipped with its progress");
        yield return new TestCaseData(FailedOnce, FilterCode.Condition, "host is not ready: pulling its MySQL image failed: manifest unknown").SetName("Failed: skipped with the engine's reason");
    }

    [TestCaseSource(nameof(PlacementCases))]
    public void Placement_skips_a_host_whose_image_is_not_present_with_the_reason(HostImage image, FilterCode code, string reason)
    {
        var host = Dual(1).Build()[0] with { Image = image };
        var capacity = HostCapacity.From(host);
        var request = Request(Instance("a", 4));
        var reserved = HostReservations.Reserve(host, request.Instance);
        Assert.Multiple(() =>
        {
            Assert.That(Filters.Check(capacity, request), Is.EqualTo(code));
            Assert.That(Fit.Evaluate(capacity, request, new ScoreWeights(), out _), Is.EqualTo(code), "the scheduler's hot path answers the same");
            Assert.That(Filters.Explain(code, capacity, request), Is.EqualTo(reason));
            Assert.That(reserved.Succeeded, Is.EqualTo(code == FilterCode.Fits), "the host's own reservation has the last word: " + reserved.Reason);
            if (code != FilterCode.Fits) Assert.That(reserved.Reason, Does.Contain(reason["host is not ready: ".Length..]));
        });
    }

    [Test]
    public void An_unhealthy_host_is_told_as_unhealthy_before_its_image()
    {
        var capacity = HostCapacity.From(Dual(1).Build()[0] with { Image = Pulling, Healthy = false, HealthReason = "its container engine does not answer: refused" });
        Assert.That(Filters.Condition(capacity, Request(Instance("a", 4))), Is.EqualTo("host is unhealthy: its container engine does not answer: refused"));
    }
}
