using System.Collections.Immutable;
using System.Globalization;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Disks;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Grains;

/// <summary>Between the API's records and the Domain's types.</summary>
public static class Mapping
{
    public static SpreadRule ToRule(SpreadSpec spread) => new(spread.Domain, spread.MaxPerDomain, spread.Mode);

    public static InstanceRequest ToRequest(string instanceId, InstanceSpec spec) =>
        new(instanceId, spec.Cpus, spec.MemoryMiB, spec.Numa, spec.DiskGiB, spec.DiskClass, spec.SwapMiB);

    public static string ShardKey(string cluster, string shard) => cluster + "/" + shard;

    /// <summary>
    /// An instance whose shard is named after itself (a standalone, or a cluster member given no shard) is its shard's only
    /// member: it places and reserves itself, with no shard grain between (the API keeps "i-" shard names for this).
    /// </summary>
    public static bool IsOwnShard(string instanceId, InstanceSpec spec) => spec.Shard == instanceId;

    public static string DiskIdOf(DiskSpec disk) =>
        disk.Id ?? disk.Device.Replace("/dev/", "", StringComparison.Ordinal).Replace('/', '-');

    /// <param name="diskErrors">Why a Faulty disk is Faulty, by disk id.</param>
    /// <param name="lastSeen">When the host's engine last answered a heartbeat (the grain keeps it in memory between health changes).</param>
    public static HostView ToView(HostState host, HostLocation location, IReadOnlyDictionary<string, string>? diskErrors = null, DateTimeOffset? lastSeen = null)
    {
        var owner = new Dictionary<int, string>();
        foreach (var a in host.Cpu.Assignments.Values)
            foreach (var cpu in a.Cpus.Cpus()) owner[cpu] = a.InstanceId;
        var nodes = host.Cpu.Topology.Nodes.Select(n => new NumaNodeView(
            n.Id, n.MemoryMiB, host.Cpu.FreeMemoryMiB(n.Id),
            [.. n.Cores.Select(c =>
            {
                var first = c.Cpus.Min();
                return new CoreView(c.Id, c.Cpus.ToString(), owner.GetValueOrDefault(first), c.Cpus.Overlaps(host.Cpu.Reserved));
            })])).ToList();
        var disks = host.Disks.Disks.Values.Select(d => ToView(d, d.State == DiskState.Faulty ? diskErrors?.GetValueOrDefault(d.Id) : null)).ToList();
        var instances = host.Cpu.Assignments.Values.Select(a => new HostInstanceView(
            a.InstanceId, a.Cpus.ToString(), host.PortsByInstance.GetValueOrDefault(a.InstanceId), a.MemoryMiB, host.Swap.HeldBy(a.InstanceId))).ToList();
        var capacity = HostCapacity.From(host);
        return new HostView(host.HostId, host.Pool, host.Zone, host.Rack, location.EngineEndpoint, host.Cordoned, host.Healthy,
            host.Cpu.Reserved.ToString(), new PortRangeSpec(host.Ports.First, host.Ports.Last), nodes, disks, instances,
            capacity.FreeCores, host.Labels, new HostSwapView(host.Swap.TotalMiB, host.Swap.AllocatableMiB, host.Swap.UsedMiB, host.Swap.FreeMiB),
            lastSeen, ReasonOf(host), ToView(host.Image));
    }

    public static HostImageView ToView(HostImage image) =>
        new(image.State, image.Percent, image.BytesDone, image.BytesTotal, image.Error, image.At);

    public static DiskView ToView(Disk d, string? error = null) =>
        new(d.Id, d.DevicePath, d.SizeGiB, d.DiskClass, d.State.ToString(), d.Seeded, d.ClaimedBy, error);

    public static HostSummary ToSummary(HostState host, DateTimeOffset? lastSeen = null) => ToSummary(host, HostCapacity.From(host), lastSeen);

    public static HostSummary ToSummary(HostState host, HostCapacity capacity, DateTimeOffset? lastSeen = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(capacity);
        return new HostSummary(host.HostId, host.Pool, host.Zone, host.Rack, host.Cordoned, capacity.FreeCores, capacity.TotalCores,
            host.Disks.Disks.Values.Count(static d => d.State == DiskState.Ready), host.Healthy, lastSeen, ReasonOf(host), ToView(host.Image));
    }

    // Null while healthy, so that the wire has no empty reason to misread.
    private static string? ReasonOf(HostState host) => host.Healthy ? null : host.HealthReason is { Length: > 0 } r ? r : "unhealthy";

    /// <summary>A described topology: hosts of one shape share one immutable instance, as when read back from storage.</summary>
    public static HostTopology ToTopology(TopologySpec spec) =>
        HostTopologyJsonConverter.UniformOf(spec.NumaNodes, spec.CoresPerNode, spec.ThreadsPerCore, spec.MemoryMiBPerNode);

    public static ImmutableSortedDictionary<string, string> ToLabels(IReadOnlyDictionary<string, string>? labels) =>
        (labels ?? new Dictionary<string, string>()).ToImmutableSortedDictionary(StringComparer.Ordinal);

    /// <summary>A stable MySQL server_id from the instance id (1 … 2^31-1).</summary>
    public static int ServerIdOf(string instanceId)
    {
        var hash = 2166136261u;
        foreach (var ch in instanceId) hash = (hash ^ ch) * 16777619u;
        return (int)(hash % int.MaxValue) + 1;
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
