using DbProvisioner.Contracts;
using DbProvisioner.Grains;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Server.Hosting;

/// <summary>
/// The heartbeat of the fleet: every <see cref="HostHealthOptions.Interval"/>, each host grain probes its engine and
/// decides its health (HostGrain.Health.cs); hosts are probed side by side, so one dead engine delays no other. With
/// several silos each beats only its share of the hosts (<see cref="SiloShare"/>), read afresh every round, so a dead
/// silo's hosts are taken by the survivors at their next round after the membership declares it dead.
/// </summary>
internal sealed partial class HostHeartbeatService(
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    IOptions<HostHealthOptions> options,
    Metrics.DbProvisionerMetrics metrics,
    TimeProvider clock,
    ILogger<HostHeartbeatService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await SiloActivity.WaitUntilActiveAsync(services, lifetime, TimeSpan.FromMilliseconds(250), stoppingToken)) return;
        var grains = services.GetRequiredService<IGrainFactory>();
        var every = Math.Max(1, options.Value.DiskCheckEvery);
        for (var round = 0L; !stoppingToken.IsCancellationRequested; round++)
        {
            try
            {
                var hosts = await grains.ListHostsAsync().WaitAsync(stoppingToken);
                var mine = SiloShare.Mine(services, hosts.Select(static h => h.Id));
                await Task.WhenAll(mine.Select(id => BeatAsync(grains, id, round % every == 0, stoppingToken)));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRoundFailed(logger, e);
            }
            await Task.Delay(options.Value.Interval, clock, stoppingToken);
        }
    }

    private async Task BeatAsync(IGrainFactory grains, string hostId, bool checkDisks, CancellationToken cancellationToken)
    {
        try
        {
            metrics.RecordHeartbeat(hostId);
            await grains.GetGrain<IHostGrain>(hostId).HeartbeatAsync(checkDisks).WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogBeatFailed(logger, hostId, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The heartbeat of host {HostId} failed")]
    private static partial void LogBeatFailed(ILogger logger, string hostId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A heartbeat round failed")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
