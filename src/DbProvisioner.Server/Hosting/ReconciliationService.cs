using DbProvisioner.Contracts;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Server.Hosting;

/// <summary>How reconciliation runs.</summary>
public sealed class ReconciliationOptions
{
    public const string SectionName = "Reconciliation";

    /// <summary>How often every host is reconciled (besides once at start).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Remove containers that belong to no instance. Off by default: they are reported, not touched.</summary>
    public bool RemoveOrphans { get; set; }
}

/// <summary>
/// At start and then periodically, asks each host's reconciler to compare what the grains believe with what the
/// engine reports. At start every helper container is stale (helpers are short-lived and this process made none yet);
/// later only helpers older than ten minutes are. With several silos each reconciles only its share of the hosts (<see cref="SiloShare"/>).
/// </summary>
internal sealed partial class ReconciliationService(
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    IOptions<ReconciliationOptions> options,
    TimeProvider clock,
    ILogger<ReconciliationService> logger) : BackgroundService
{
    private static readonly TimeSpan HelperMaxAge = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = clock.GetUtcNow();
        if (!await SiloActivity.WaitUntilActiveAsync(services, lifetime, TimeSpan.FromMilliseconds(250), stoppingToken))
        {
            return;
        }

        var grains = services.GetRequiredService<IGrainFactory>();
        var cutoff = started;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ReconcileAllAsync(grains, cutoff, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRoundFailed(logger, e);
            }

            await Task.Delay(options.Value.Interval, clock, stoppingToken);
            var aged = clock.GetUtcNow() - HelperMaxAge;
            cutoff = aged > started ? aged : started;
        }
    }

    internal async Task ReconcileAllAsync(IGrainFactory grains, DateTimeOffset staleHelpersBefore, CancellationToken cancellationToken)
    {
        var hosts = await grains.ListHostsAsync().WaitAsync(cancellationToken);
        foreach (var hostId in SiloShare.Mine(services, hosts.Select(static h => h.Id)))
        {
            var view = await grains.GetGrain<IReconcilerGrain>(hostId).ReconcileAsync(options.Value.RemoveOrphans, staleHelpersBefore).WaitAsync(cancellationToken);
            if (view.Error is not null) LogHostUnreachable(logger, hostId, view.Error);
            else if (view.Orphans.Count + view.Vanished.Count + view.Returned.Count + view.StaleHelpersRemoved.Count > 0)
            {
                LogFindings(logger, hostId, string.Join(", ", view.Orphans), string.Join(", ", view.Vanished),
                    string.Join(", ", view.Returned), view.StaleHelpersRemoved.Count);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation of host {HostId}: orphans [{Orphans}], vanished [{Vanished}], returned [{Returned}], {Helpers} stale helpers removed")]
    private static partial void LogFindings(ILogger logger, string hostId, string orphans, string vanished, string returned, int helpers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation of host {HostId} skipped: {Error}")]
    private static partial void LogHostUnreachable(ILogger logger, string hostId, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "A reconciliation round failed")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
