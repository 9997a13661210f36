using System.Globalization;
using DbProvisioner.Api;
using DbProvisioner.Contracts;

namespace DbProvisioner.Grains.Tests.TestData;

/// <summary>Test-data builders: simulated hosts and instance requests, with unique ids per test.</summary>
public static class TestFleet
{
    public const string DiskClass = "ssd";

    /// <summary>2 NUMA nodes × 4 cores × 2 threads, 16 GiB per node: CPUs 0-15, siblings n and n+8.</summary>
    public static TopologySpec SmallTopology { get; } = new(2, 4, 2, 16384);

    /// <summary>A test host's swap: room for the default instance (512 MiB) on every one of its 8 ports.</summary>
    public const long HostSwapMiB = 4096;

    /// <summary>A short id that no other test uses: lower-case, valid as an instance id and a container name.</summary>
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    public static string[] Devices(int count) =>
        [.. Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"/dev/sim-disk-{i}"))];

    public static RegisterHostRequest Host(
        string id,
        string pool,
        int disks = 4,
        int firstPort = 3306,
        int ports = 8,
        string? reservedCpus = null,
        TopologySpec? topology = null,
        string zone = "zone-a",
        string? rack = null,
        int? minReady = null,
        int minSeeded = 2,
        long? swapMiB = HostSwapMiB) =>
        new(
            Id: id,
            EngineEndpoint: $"tcp://{id}.sim:2375",
            Zone: zone,
            Rack: rack ?? $"rack-{id}",
            Pool: pool,
            Disks: [.. Devices(disks).Select(d => new DiskSpec(d, 100, DiskClass))],
            ReservedCpus: reservedCpus,
            Ports: new PortRangeSpec(firstPort, firstPort + ports - 1),
            MySqlAddress: "127.0.0.1",
            Labels: new Dictionary<string, string> { ["simulated"] = "true" },
            Topology: topology ?? SmallTopology,
            Watermarks: [new WatermarkSpec(DiskClass, minReady ?? disks, Math.Min(minSeeded, minReady ?? disks))],
            SwapMiB: swapMiB);

    public static InstanceSpec Instance(
        string pool,
        string? cluster = null,
        string shard = "s0",
        string role = "primary",
        int cpus = 2,
        long memoryMiB = 2048,
        NumaPolicy numa = NumaPolicy.Required,
        SpreadSpec? spread = null,
        long swapMiB = 512) =>
        new(
            Cluster: cluster ?? NewId("c"),
            Shard: shard,
            Role: role,
            Cpus: cpus,
            MemoryMiB: memoryMiB,
            SwapMiB: swapMiB,
            Swappiness: 1,
            DiskGiB: 50,
            DiskClass: DiskClass,
            Numa: numa,
            Pool: pool,
            Spread: spread ?? SpreadSpec.HostHard);
}
