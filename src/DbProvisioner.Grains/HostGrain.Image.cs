using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

/// <summary>
/// The host's MySQL image: checked at registration, pulled by <see cref="ImagePullGrain"/>, decided by
/// <see cref="HostImagePulls"/>. A pull's state changes are stored; its progress is stored at most every
/// <see cref="HostImagePulls.ProgressInterval"/> and shown from memory in between.
/// </summary>
public sealed partial class HostGrain
{
    // Progress newer than the stored state (views show it; a restart falls back to the stored one).
    private HostImage? _liveImage;
    private DateTimeOffset _imageStoredAt;

    private HostState Shown(HostState host) => _liveImage is { } live ? host with { Image = live } : host;

    // Whether this activation asked the pull grain for the image; a described host whose engine has not answered has not.
    private bool _imagePullAsked;

    /// <summary>
    /// The image when a host registers: Present when its engine holds it, else Pulling. A described host is Pulling until its
    /// first answered heartbeat asks the pull grain (<see cref="AskForImageOnceAnswered"/>), which finds the image or pulls it.
    /// Topology discovery runs in the image, so a host to be discovered on an engine without it pulls first, here.
    /// </summary>
    private async Task<(HostImage? Image, string? Error, bool Answered)> ImageAtRegistrationAsync(HostLocation location, bool discoverTopology)
    {
        // A described host's engine is not asked here: one that never answers (a simulated fleet, a machine not yet up) would
        // cost retries on the request path and a pull retried forever; its first answered heartbeat asks instead.
        if (!discoverTopology) return (HostImagePulls.AtRegistration(false, clock.GetUtcNow()), null, false);
        var runtime = RuntimeOf(location);
        bool holds;
        try
        {
            holds = await runtime.HasImageAsync(CancellationToken.None);
        }
        catch (HostRuntimeException)
        {
            return (HostImagePulls.AtRegistration(false, clock.GetUtcNow()), null, true); // discovery names the engine's failure
        }
        if (holds) return (HostImagePulls.AtRegistration(true, clock.GetUtcNow()), null, true);
        try
        {
            logger.LogInformation("Host {HostId}: its engine lacks {Image}, which topology discovery runs: pulling it before registering", Id, options.Value.Image);
            await runtime.EnsureImageAsync(new Progress<ImagePull>(), CancellationToken.None);
            return (HostImagePulls.AtRegistration(true, clock.GetUtcNow()), null, true);
        }
        catch (HostRuntimeException e)
        {
            return (null, $"cannot pull image {options.Value.Image} onto host {Id} to discover its topology: {e.Message}", false);
        }
    }

    /// <summary>Asks the pull grain for the image (once per activation; the pull grain retries failed pulls itself).</summary>
    private async Task AskForImagePullAsync()
    {
        _imagePullAsked = true;
        await GrainFactory.GetGrain<IImagePullGrain>(Id).KickAsync();
    }

    /// <summary>A heartbeat the engine answered: a host whose image is not Present and was never asked for starts its pull now.</summary>
    private void AskForImageOnceAnswered(HostProbe probe)
    {
        if (probe.EngineError is not null || _imagePullAsked || state.State.Host is not { Image.IsPresent: false }) return;
        logger.LogInformation("Host {HostId}: its engine answers, asking it for image {Image}", Id, options.Value.Image);
        AskForImagePullAsync().Ignore();
    }

    /// <summary>Starts a pull: where the engine is, or null when the host needs none (not registered, or its image is Present).</summary>
    public async Task<HostLocation?> StartImagePullAsync()
    {
        if (state.State.Host is not { } host || state.State.Location is not { } location || host.Image.IsPresent) return null;
        var (next, store) = HostImagePulls.Started(_liveImage ?? host.Image, clock.GetUtcNow());
        if (store) await StoreImageAsync(host with { Image = next });
        return location;
    }

    public async Task RecordImagePullProgressAsync(long bytesDone, long bytesTotal)
    {
        if (state.State.Host is not { } host) return;
        var before = _liveImage ?? host.Image;
        var (next, store) = HostImagePulls.Progress(before, bytesDone, bytesTotal, _imageStoredAt, clock.GetUtcNow());
        if (ReferenceEquals(next, before)) return;
        if (store)
        {
            await StoreImageAsync(host with { Image = next });
            return;
        }
        _liveImage = next;
        PushSummary(Shown(host), HostCapacity.From(host));
    }

    public async Task<HostImage?> RecordImagePullEndAsync(string? error)
    {
        if (state.State.Host is not { } host) return null;
        var before = _liveImage ?? host.Image;
        var now = clock.GetUtcNow();
        var next = error is null ? HostImagePulls.Completed(before, now) : HostImagePulls.Failed(before, error, now);
        await StoreImageAsync(host with { Image = next });
        if (next.IsPresent)
        {
            logger.LogInformation("Host {HostId}: image {Image} is present ({Bytes} bytes pulled)", Id, options.Value.Image, next.BytesDone);
            // Disk work waited for the image its helpers run.
            await GrainFactory.GetGrain<IDiskPoolGrain>(Id).KickAsync();
        }
        else logger.LogWarning("Host {HostId}: pulling image {Image} failed ({Failures} in a row): {Error}", Id, options.Value.Image, next.Failures, next.Error);
        return next;
    }

    private async Task StoreImageAsync(HostState next)
    {
        state.State.Host = next;
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        _liveImage = null;
        _imageStoredAt = clock.GetUtcNow();
        if (next.Image.IsPresent) await PushGrownCapacityAsync(next);
        else PushCapacity(next);
    }

    /// <summary>
    /// A host stored while its image was pulling (a kill mid-pull) resumes the pull when it wakes; a described one at its
    /// first answered heartbeat, as at registration (its engine may never have answered).
    /// </summary>
    private void ResumeImagePull(HostState host)
    {
        _imageStoredAt = host.Image.At ?? DateTimeOffset.MinValue;
        if (!host.Image.IsPresent && state.State.Registration is not { Topology: not null }) AskForImagePullAsync().Ignore();
    }
}
