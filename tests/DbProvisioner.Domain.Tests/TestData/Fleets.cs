using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.TestData;

/// <summary>Simulated fleets and requests for placement tests.</summary>
public static class Fleets
{
    public static FleetBuilder Dual(int hosts) => new(hosts, Topologies.DualSocketHt, DisksPerHost: 8, DiskSizeGiB: 500, SeededDisksPerHost: 2, PortsPerHost: 16);

    public static HostCapacity[] Summaries(IEnumerable<HostState> hosts) => [.. hosts.Select(HostCapacity.From)];

    /// <summary>30 dual-socket hosts (swap 0, 4 or 8 GiB) after 200 reservations of random size and NUMA policy, as summaries.</summary>
    public static HostCapacity[] RandomlyFilled(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var hosts = Dual(30).Build().Select((h, i) => h with { Swap = HostSwap.Of(16384, i % 3 * 4096L) }).ToArray();
        for (var i = 0; i < 200; i++)
        {
            var h = rng.Next(hosts.Length);
            var r = HostReservations.Reserve(hosts[h], Instance($"f{i}", rng.Next(1, 20), (NumaPolicy)rng.Next(4), rng.Next(1, 40) * 1024L, swapMiB: rng.Next(3) * 1024L));
            if (r.Succeeded) hosts[h] = r.State;
        }
        return Summaries(hosts);
    }

    public static InstanceRequest Instance(string id, int cpus, NumaPolicy numa = NumaPolicy.Required, long memoryMiB = 4096, long diskGiB = 100, long swapMiB = 0) =>
        new(id, cpus, memoryMiB, numa, diskGiB, "nvme", swapMiB);

    public static PlacementRequest Request(InstanceRequest instance, ShardContext? shard = null, string pool = "general") => new(instance, pool, shard);

    public static ShardContext Shard(SpreadRule rule, params HostCapacity[] membersOn) =>
        new("c1", "s4", rule, [.. membersOn.Select(static (h, i) => new MemberLocation($"m{i}", h.HostId, h.Zone, h.Rack))]);
}
