using DbProvisioner.Domain.Silos;

namespace DbProvisioner.Server.Hosting;

/// <summary>
/// This silo's share of the cluster-wide periodic work (heartbeats, reconciliation, fleet gauges), by its view of the
/// membership (<see cref="SiloShares"/>): with N silos each host is worked on by one of them, not N times.
/// </summary>
internal static class SiloShare
{
    /// <summary>The key that stands for the fleet-wide gauges, which one silo refreshes.</summary>
    public const string FleetMetricsKey = "fleet-metrics";

    /// <summary>The keys this silo owns; every key when the process has no membership (a host without a silo, as in some tests).</summary>
    public static IReadOnlyList<string> Mine(IServiceProvider services, IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetService<ISiloStatusOracle>() is not { } oracle || services.GetService<IClusterMembershipService>() is not { } membership)
        {
            return [.. keys];
        }

        var active = membership.CurrentSnapshot.Members.Values
            .Where(static m => m.Status == SiloStatus.Active)
            .Select(static m => m.SiloAddress.ToString())
            .ToList();
        return SiloShares.MineOf(keys, active, oracle.SiloAddress.ToString());
    }

    public static bool IsMine(IServiceProvider services, string key) => Mine(services, [key]).Count == 1;
}
