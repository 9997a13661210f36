using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Grains;

/// <summary>
/// Pulls the MySQL image onto one host's engine. It keeps no state of its own: the host grain holds the image's state,
/// so a pull cut off by a crash leaves the host Pulling and the host's next activation starts it again (the engine
/// keeps the layers it already has). The engine's per-layer messages are summed by the driver; the latest sum is
/// forwarded to the host grain once a second at most, never per message.
/// </summary>
public sealed class ImagePullGrain(
    IHostRuntimeFactory runtimes,
    IOptions<ProvisioningOptions> options,
    TimeProvider clock,
    ILogger<ImagePullGrain> logger) : Grain, IImagePullGrain
{
    private static readonly TimeSpan ForwardEvery = TimeSpan.FromSeconds(1);
    private Task<HostImage?>? _pull;
    private IGrainTimer? _retry;

    private string Id => this.GetPrimaryKeyString();

    public Task KickAsync()
    {
        if (_pull is null || _pull.IsCompleted) _pull = PullOnceAsync();
        return Task.CompletedTask;
    }

    public Task<HostImage?> PullAsync()
    {
        if (_pull is null || _pull.IsCompleted) _pull = PullOnceAsync();
        return _pull;
    }

    private async Task<HostImage?> PullOnceAsync()
    {
        var host = GrainFactory.GetGrain<IHostGrain>(Id);
        var location = await host.StartImagePullAsync();
        if (location is null) return null;
        var runtime = runtimes.For(location, options.Value.Image);
        var latest = new LatestPull();
        string? error = null;
        var pull = runtime.EnsureImageAsync(latest, CancellationToken.None);
        ImagePull? forwarded = null;
        while (!pull.IsCompleted)
        {
            await Task.WhenAny(pull, Task.Delay(ForwardEvery, clock));
            if (latest.Value is { } now && now != forwarded)
            {
                forwarded = now;
                await host.RecordImagePullProgressAsync(now.BytesDone, now.BytesTotal);
            }
        }
        try
        {
            await pull;
        }
        catch (Exception e)
        {
            // The engine's words (a HostRuntimeException's message): the host shows them and the pull is retried.
            error = e.Message;
        }
        if (error is null && latest.Value is { } last && last != forwarded) await host.RecordImagePullProgressAsync(last.BytesDone, last.BytesTotal);

        var image = await host.RecordImagePullEndAsync(error);
        if (image is { State: ImageState.Failed } failed)
        {
            var delay = HostImagePulls.RetryDelay(failed.Failures);
            logger.LogWarning("Host {HostId}: image pull failed ({Failures} in a row), next try in {Delay}: {Error}", Id, failed.Failures, delay, failed.Error);
            RetryAfter(delay);
        }
        return image;
    }

    private void RetryAfter(TimeSpan delay)
    {
        _retry?.Dispose();
        _retry = this.RegisterGrainTimer(_ => KickAsync(), new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan) { Interleave = true });
        // Retries are this activation's timer: it must stay until then (a silo restart resumes through the host grain).
        DelayDeactivation(delay + TimeSpan.FromMinutes(1));
    }

    /// <summary>The driver reports from its own threads: keep only the newest sum for the grain's loop to forward.</summary>
    private sealed class LatestPull : IProgress<ImagePull>
    {
        private ImagePull? _value;

        public ImagePull? Value => Volatile.Read(ref _value);

        public void Report(ImagePull value) => Volatile.Write(ref _value, value);
    }
}
