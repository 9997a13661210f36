using DbProvisioner.Contracts;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Grains;

/// <summary>
/// The background disk work of one host: formats (and seeds) disks up to the watermark and wipes
/// released ones, one disk at a time. It keeps no state of its own: the host grain holds every
/// disk's state, so a crash mid-format leaves the disk Formatting or Releasing and the work is redone.
/// </summary>
public sealed class DiskPoolGrain(
    IHostRuntimeFactory runtimes,
    IOptions<ProvisioningOptions> options,
    ILogger<DiskPoolGrain> logger) : Grain, IDiskPoolGrain
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);
    private Task<int>? _round;
    private IGrainTimer? _retry;

    private string Id => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A periodic look, for work that failed transiently or was planned while this grain slept.
        this.RegisterGrainTimer(_ => KickAsync(), new GrainTimerCreationOptions(Period, Period) { Interleave = true });
        return Task.CompletedTask;
    }

    public Task KickAsync()
    {
        if (_round is null || _round.IsCompleted) _round = RunRoundsAsync();
        return Task.CompletedTask;
    }

    public async Task<int> RunUntilIdleAsync()
    {
        var done = 0;
        if (_round is { IsCompleted: false } running) done += await running;
        _round = RunRoundsAsync();
        return done + await _round;
    }

    private async Task<int> RunRoundsAsync()
    {
        var host = GrainFactory.GetGrain<IHostGrain>(Id);
        var done = 0;
        while (true)
        {
            var jobs = await host.TakeDiskWorkAsync();
            if (jobs.Count == 0) return done;
            var location = await host.GetLocationAsync();
            if (location is null)
            {
                await ReturnQuietlyAsync(host, [.. jobs.Select(static j => j.DiskId)]);
                return done;
            }
            var runtime = runtimes.For(location, options.Value.Image);
            var left = jobs.Select(static j => j.DiskId).ToList();
            try
            {
                foreach (var job in jobs)
                {
                    try
                    {
                        await runtime.FormatDiskAsync(job.DevicePath, job.Seed, CancellationToken.None);
                        await host.CompleteDiskWorkAsync(job.DiskId, true, job.Seed, null);
                        logger.LogInformation("Host {HostId}: disk {DiskId} ({Device}) formatted{Seeded}", Id, job.DiskId, job.DevicePath, job.Seed ? " and seeded" : "");
                    }
                    catch (HostRuntimeException e) when (e.Kind is not HostRuntimeErrorKind.EngineUnavailable)
                    {
                        await host.CompleteDiskWorkAsync(job.DiskId, false, false, e.Message);
                    }
                    catch (Exception e)
                    {
                        // The engine or the meta database is away: leave the disk as it is; a later round retries it.
                        logger.LogWarning("Host {HostId}: disk {DiskId} not formatted yet: {Error}", Id, job.DiskId, e.Message);
                        RetrySoon();
                        return done;
                    }
                    left.Remove(job.DiskId);
                    done++;
                }
            }
            finally
            {
                // Jobs this round took but did not finish go back, or the host would keep them "in flight" until it deactivates.
                if (left.Count > 0) await ReturnQuietlyAsync(host, left);
            }
        }
    }

    /// <summary>One look again shortly after a fault, rather than at the next period.</summary>
    private void RetrySoon()
    {
        _retry?.Dispose();
        _retry = this.RegisterGrainTimer(_ => KickAsync(), new GrainTimerCreationOptions(RetryAfter, Timeout.InfiniteTimeSpan) { Interleave = true });
    }

    private async Task ReturnQuietlyAsync(IHostGrain host, IReadOnlyList<string> diskIds)
    {
        try
        {
            await host.ReturnDiskWorkAsync(diskIds);
        }
        catch (Exception e)
        {
            // The host grain is away too: its next activation starts with nothing in flight.
            logger.LogWarning("Host {HostId}: could not give back disk work {DiskIds}: {Error}", Id, string.Join(",", diskIds), e.Message);
        }
    }
}
