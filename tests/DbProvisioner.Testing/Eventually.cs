using System.Diagnostics;

namespace DbProvisioner.Testing;

/// <summary>
/// The one way tests wait for something that happens in the background: poll a probe with a short backoff until a
/// condition holds. A wait that times out fails with what was awaited and the last value seen, never with a bare
/// timeout; no test sleeps a fixed time hoping the thing is done by then.
/// </summary>
public static class Eventually
{
    /// <summary>The first pause between two probes; it doubles up to the maximum.</summary>
    public static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest pause between two probes unless a caller asks for another.</summary>
    public static readonly TimeSpan DefaultMaxPause = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Probes until <paramref name="done"/> holds for the value and returns that value; after <paramref name="timeout"/>
    /// throws a <see cref="TimeoutException"/> naming <paramref name="what"/> and the last value (as <paramref name="describe"/> puts it).
    /// </summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what,
        Func<T, string>? describe = null, TimeSpan? maxPause = null, CancellationToken cancellationToken = default)
    {
        var polled = await PollAsync(probe, done, timeout, maxPause, cancellationToken);
        if (polled.Met) return polled.Last;
        throw new TimeoutException(
            $"waited {polled.Elapsed.TotalSeconds:0.0} s ({polled.Probes} probes) for {what}; last seen: {Describe(polled.Last, describe)}");
    }

    /// <summary>Probes until the condition holds; after <paramref name="timeout"/> throws, naming <paramref name="what"/>.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, TimeSpan? maxPause = null,
        CancellationToken cancellationToken = default) =>
        UntilAsync(condition, static met => met, timeout, what, static _ => "not yet", maxPause, cancellationToken);

    /// <summary>
    /// Probes until <paramref name="done"/> holds or <paramref name="timeout"/> passes, and says which, with the last value:
    /// for callers whose timeout is an outcome to report rather than a failure.
    /// </summary>
    public static async Task<Polled<T>> PollAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout,
        TimeSpan? maxPause = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(done);
        var longest = maxPause ?? DefaultMaxPause;
        var pause = FirstPause < longest ? FirstPause : longest;
        var watch = Stopwatch.StartNew();
        for (var probes = 1; ; probes++)
        {
            var last = await probe();
            if (done(last)) return new Polled<T>(last, true, watch.Elapsed, probes);
            var left = timeout - watch.Elapsed;
            if (left <= TimeSpan.Zero) return new Polled<T>(last, false, watch.Elapsed, probes);
            await Task.Delay(pause < left ? pause : left, cancellationToken);
            pause = pause * 2 < longest ? pause * 2 : longest;
        }
    }

    private static string Describe<T>(T last, Func<T, string>? describe) =>
        describe is not null ? describe(last) : last?.ToString() ?? "null";
}

/// <summary>The end of a poll: the last value probed, whether the condition held for it, how long and how many probes it took.</summary>
public sealed record Polled<T>(T Last, bool Met, TimeSpan Elapsed, int Probes);
