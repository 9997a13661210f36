using System.Globalization;
using DbProvisioner.Domain.Disks;
using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Domain.Hosts;

/// <summary>
/// Builds simulated hosts (no engine behind them) for the scheduler benchmark, invariant tests and
/// grain tests: hosts h0001… spread round-robin over zones z1… and racks r1… within each zone, each
/// with the same topology, Ready disks d01…, a port range and swap (all of it for instances). Immutable: every With… returns a copy.
/// </summary>
public sealed record FleetBuilder(
    int Hosts,
    HostTopology Topology,
    string Pool = "general",
    int Zones = 3,
    int RacksPerZone = 3,
    int DisksPerHost = 16,
    string DiskClass = "nvme",
    long DiskSizeGiB = 1024,
    int SeededDisksPerHost = 4,
    int FirstPort = 3306,
    int PortsPerHost = 64,
    CpuSet? Reserved = null,
    long SwapMiB = 0)
{
    public FleetBuilder WithPool(string pool) => this with { Pool = pool };
    public FleetBuilder WithZones(int zones, int racksPerZone) => this with { Zones = zones, RacksPerZone = racksPerZone };
    public FleetBuilder WithDisks(int perHost, string diskClass, long sizeGiB, int seeded) =>
        this with { DisksPerHost = perHost, DiskClass = diskClass, DiskSizeGiB = sizeGiB, SeededDisksPerHost = seeded };
    public FleetBuilder WithPorts(int first, int perHost) => this with { FirstPort = first, PortsPerHost = perHost };
    public FleetBuilder WithReserved(CpuSet reserved) => this with { Reserved = reserved };
    public FleetBuilder WithSwap(long swapMiB) => this with { SwapMiB = swapMiB };

    public static string HostId(int index) => string.Create(CultureInfo.InvariantCulture, $"h{index + 1:D4}");

    public HostState[] Build()
    {
        if (Hosts < 0 || Zones < 1 || RacksPerZone < 1 || DisksPerHost < 0 || PortsPerHost < 0 || SwapMiB < 0)
            throw new InvalidOperationException("a fleet needs non-negative counts, at least one zone and one rack per zone");
        var ci = CultureInfo.InvariantCulture;
        var hosts = new HostState[Hosts];
        for (var i = 0; i < Hosts; i++)
        {
            var zone = i % Zones;
            var rack = i / Zones % RacksPerZone;
            var disks = new Disk[DisksPerHost];
            for (var d = 0; d < DisksPerHost; d++)
            {
                disks[d] = new Disk(string.Create(ci, $"d{d + 1:D2}"), string.Create(ci, $"/dev/disk/by-id/sim-{i + 1}-{d + 1}"),
                    DiskSizeGiB, DiskClass, DiskState.Ready, d < SeededDisksPerHost);
            }
            hosts[i] = HostState.Create(HostId(i), Pool, string.Create(ci, $"z{zone + 1}"), string.Create(ci, $"r{rack + 1}"),
                Topology, disks, new PortRange(FirstPort, FirstPort + PortsPerHost - 1), Reserved) with { Swap = HostSwap.Of(SwapMiB, SwapMiB) };
        }
        return hosts;
    }
}
