using System.Globalization;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Hosts;

/// <summary>
/// Whether a host's engine holds the MySQL image, and how far a pull got. <see cref="Failures"/> counts failed pulls in a
/// row (for the backoff); <see cref="At"/> is when this state was decided.
/// Invariants: <see cref="Error"/> is set exactly when Failed; 0 ≤ <see cref="BytesDone"/> ≤ <see cref="BytesTotal"/> once a total is known.
/// </summary>
public sealed record HostImage(ImageState State, long BytesDone, long BytesTotal, string? Error, DateTimeOffset? At, int Failures = 0)
{
    /// <summary>An engine that holds the image (also what a host stored before pulls were tracked reads as).</summary>
    public static HostImage Present { get; } = new(ImageState.Present, 0, 0, null, null);

    public bool IsPresent => State == ImageState.Present;

    /// <summary>Whole percent of the bytes the engine reported so far, or null before it reported any size.</summary>
    public int? Percent => BytesTotal > 0 ? (int)Math.Min(100, BytesDone * 100 / BytesTotal) : null;

    /// <summary>Why placement skips the host for its image, in a DBA's words; empty when the image is Present.</summary>
    public string Refusal => State switch
    {
        ImageState.Present => "",
        ImageState.Pulling => Percent is { } p
            ? string.Create(CultureInfo.InvariantCulture, $"its MySQL image is being pulled ({p}%)")
            : "its MySQL image is being pulled",
        _ => "pulling its MySQL image failed: " + (Error ?? "unknown error"),
    };
}

/// <summary>
/// What a pull's events mean for the host's image state (pure): when a change is worth a write (state changes always,
/// progress at most every <see cref="ProgressInterval"/>), and how long to wait before pulling again after a failure.
/// </summary>
public static class HostImagePulls
{
    /// <summary>Progress is stored at most this often: a pull reports many messages a second, the meta database need not see them.</summary>
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan LongestRetry = TimeSpan.FromMinutes(5);

    /// <summary>The image at registration: Present when the engine already holds it, else Pulling from nothing.</summary>
    public static HostImage AtRegistration(bool engineHoldsImage, DateTimeOffset now) =>
        engineHoldsImage ? HostImage.Present with { At = now } : new HostImage(ImageState.Pulling, 0, 0, null, now);

    /// <summary>A pull (re)starts: Pulling, the failures so far kept for the next backoff. Already Pulling: unchanged.</summary>
    public static (HostImage Next, bool Store) Started(HostImage before, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(before);
        return before.State switch
        {
            ImageState.Pulling => (before, false),
            _ => (new HostImage(ImageState.Pulling, 0, 0, null, now, before.Failures), true),
        };
    }

    /// <summary>
    /// Bytes reported by the engine: the next state always (for views), stored only when <see cref="ProgressInterval"/>
    /// passed since the last stored one. Progress on an image that is not Pulling (a late message) changes nothing.
    /// </summary>
    public static (HostImage Next, bool Store) Progress(HostImage before, long bytesDone, long bytesTotal, DateTimeOffset lastStored, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(before);
        if (before.State != ImageState.Pulling) return (before, false);
        var total = Math.Max(0, bytesTotal);
        var done = Math.Clamp(bytesDone, 0, total);
        if (done == before.BytesDone && total == before.BytesTotal) return (before, false);
        var next = before with { BytesDone = done, BytesTotal = total, At = now };
        return (next, now - lastStored >= ProgressInterval);
    }

    /// <summary>The engine holds the image now: Present, failures forgotten.</summary>
    public static HostImage Completed(HostImage before, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(before);
        return new HostImage(ImageState.Present, before.BytesTotal, before.BytesTotal, null, now);
    }

    /// <summary>The pull failed with the engine's reason: Failed, one more failure in a row.</summary>
    public static HostImage Failed(HostImage before, string error, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(before);
        var reason = string.IsNullOrWhiteSpace(error) ? "the engine gave no reason" : error.Trim();
        return before with { State = ImageState.Failed, Error = reason, At = now, Failures = before.Failures + 1 };
    }

    /// <summary>How long after its <paramref name="failures"/>-th failure in a row a pull is tried again: 5 s, doubling, at most 5 min.</summary>
    public static TimeSpan RetryDelay(int failures)
    {
        if (failures <= 1) return FirstRetry;
        var doublings = Math.Min(failures - 1, 16);
        var delay = TimeSpan.FromTicks(FirstRetry.Ticks << doublings);
        return delay < LongestRetry ? delay : LongestRetry;
    }
}
