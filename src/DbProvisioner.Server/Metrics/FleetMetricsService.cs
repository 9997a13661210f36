using DbProvisioner.Contracts;
using DbProvisioner.Server.Hosting;

namespace DbProvisioner.Server.Metrics;

/// <summary>
/// Feeds the fleet gauges (<c>dbprov_instances</c>, <c>dbprov_pool_free_cores</c>, <c>dbprov_pool_ready_disks</c>) from a
/// snapshot refreshed on a timer from the catalog and the pools' placement indexes. The gauge callback only reads the
/// cached snapshot: a scrape never waits on a grain. With several silos only the one owning <see cref="SiloShare.FleetMetricsKey"/>
/// reports the gauges (the others report none), so a sum over the silo label counts the fleet once.
/// </summary>
internal sealed partial class FleetMetricsService(
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    DbProvisionerMetrics metrics,
    ILogger<FleetMetricsService> logger) : BackgroundService
{
    public static readonly TimeSpan RefreshPeriod = TimeSpan.FromSeconds(15);

    private volatile FleetMetricsSnapshot snapshot = FleetMetricsSnapshot.Empty;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await SiloActivity.WaitUntilActiveAsync(services, lifetime, TimeSpan.FromMilliseconds(250), stoppingToken))
        {
            return;
        }

        var grains = services.GetRequiredService<IGrainFactory>();
        using var source = metrics.RegisterFleetSource(() => snapshot);
        using var timer = new PeriodicTimer(RefreshPeriod);
        do
        {
            try
            {
                snapshot = SiloShare.IsMine(services, SiloShare.FleetMetricsKey) ? await ReadAsync(grains, stoppingToken) : FleetMetricsSnapshot.Empty;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Keep the last snapshot: stale gauges beat missing ones, and the next tick retries.
                LogRefreshFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    internal static async Task<FleetMetricsSnapshot> ReadAsync(IGrainFactory grains, CancellationToken cancellationToken)
    {
        var instances = await grains.ListInstancesAsync().WaitAsync(cancellationToken);
        var hosts = await grains.ListHostsAsync().WaitAsync(cancellationToken);

        var byState = instances.GroupBy(i => i.State, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
        var freeCores = new Dictionary<string, long>(StringComparer.Ordinal);
        var readyDisks = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var pool in hosts.Select(h => h.Pool).Distinct(StringComparer.Ordinal))
        {
            // The placement index has the capacity after every reservation; the catalog's host summaries only after registration.
            var capacities = await grains.GetGrain<IPlacementGrain>(pool).SnapshotAsync().WaitAsync(cancellationToken);
            freeCores[pool] = capacities.Sum(c => (long)c.FreeCores);
            readyDisks[pool] = capacities.Sum(c => c.ReadyDisks.Where(static d => !d.OnDemand).Sum(d => (long)d.Count));
        }

        return new FleetMetricsSnapshot(byState, freeCores, readyDisks);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh the fleet metrics; keeping the previous snapshot")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
