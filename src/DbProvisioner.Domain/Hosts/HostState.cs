using System.Collections.Immutable;
using System.Globalization;
using DbProvisioner.Domain.Cpu;
using DbProvisioner.Domain.Disks;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Hosts;

/// <summary>The ports a host hands out to instances, both ends included.</summary>
public sealed record PortRange(int First, int Last)
{
    public int Count => Last < First ? 0 : Last - First + 1;
}

/// <summary>What one instance needs from a host; <paramref name="SwapMiB"/> 0 needs no swap.</summary>
public sealed record InstanceRequest(string InstanceId, int Cpus, long MemoryMiB, NumaPolicy Numa, long DiskGiB, string DiskClass, long SwapMiB = 0);

/// <summary>What a host reserved for one instance: CPUs and memory, swap, a disk and a port.</summary>
public sealed record HostReservation(string InstanceId, string HostId, CpuAssignment Cpu, Disk Disk, int Port, long SwapMiB = 0);

/// <summary>The outcome of a reservation: the next host state and the reservation, or the unchanged state and a reason.</summary>
public sealed record ReservationResult(HostState State, HostReservation? Reservation, string Reason)
{
    public bool Succeeded => Reservation is not null;
}

/// <summary>
/// Everything a host grain decides with: labels, condition, CPU state, swap, disks and ports.
/// Invariants: those of <see cref="HostCpuState"/>, <see cref="HostSwap"/> and <see cref="DiskPool"/>,
/// plus no port given twice, every port inside the range, and swap held only by reserved instances.
/// </summary>
public sealed record HostState(
    string HostId,
    string Pool,
    string Zone,
    string Rack,
    ImmutableSortedDictionary<string, string> Labels,
    bool Cordoned,
    bool Healthy,
    HostCpuState Cpu,
    DiskPool Disks,
    PortRange Ports,
    ImmutableSortedDictionary<string, int> PortsByInstance)
{
    public static HostState Create(string hostId, string pool, string zone, string rack, HostTopology topology, IEnumerable<Disk> disks, PortRange ports, CpuSet? reserved = null) =>
        new(hostId, pool, zone, rack, ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal), false, true,
            HostCpuState.Create(topology, reserved), DiskPool.Of(disks), ports, ImmutableSortedDictionary.Create<string, int>(StringComparer.Ordinal));

    /// <summary>The host's swap and who holds it; a state stored before swap was accounted reads as no swap.</summary>
    public HostSwap Swap { get; init; } = HostSwap.None;

    /// <summary>Why the host is unhealthy (the heartbeat's words), empty while it is healthy.</summary>
    public string HealthReason { get; init; } = "";

    /// <summary>Whether the engine holds the MySQL image; a state stored before pulls were tracked had it (fleet.sh pre-pulled).</summary>
    public HostImage Image { get; init; } = HostImage.Present;

    /// <summary>The runtime of the host's engine endpoint; a state stored before runtimes were told apart is Docker's.</summary>
    public Placement.HostRuntimeKind Runtime { get; init; } = Placement.HostRuntimeKind.Docker;
}

/// <summary>Reserve and release on one host, all-or-nothing: CPUs and memory, then swap, then disk, then port.</summary>
public static class HostReservations
{
    public static ReservationResult Reserve(HostState host, InstanceRequest request)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(request);
        if (host.Cordoned && !host.Cpu.Assignments.ContainsKey(request.InstanceId)) return new(host, null, $"host {host.HostId} is cordoned");
        if (!host.Healthy && !host.Cpu.Assignments.ContainsKey(request.InstanceId)) return new(host, null, host.HealthReason.Length > 0 ? $"host {host.HostId} is unhealthy: {host.HealthReason}" : $"host {host.HostId} is unhealthy");
        if (!host.Image.IsPresent && !host.Cpu.Assignments.ContainsKey(request.InstanceId)) return new(host, null, $"host {host.HostId}: {host.Image.Refusal}");

        var reservedBefore = host.Cpu.Assignments.ContainsKey(request.InstanceId);
        var capabilities = Placement.RuntimeCapabilities.Of(host.Runtime);
        if (!reservedBefore && !capabilities.Admits(request)) return new(host, null, $"host {host.HostId}: {capabilities.Refusal(host.Runtime, request)}");
        var cpu = CpuAllocator.Allocate(host.Cpu, new CpuRequest(request.InstanceId, request.Cpus, request.MemoryMiB, request.Numa));
        if (!cpu.Succeeded) return new(host, null, $"host {host.HostId}: {cpu.Reason}");
        var swap = host.Swap.Reserve(request.InstanceId, request.SwapMiB, reservedBefore);
        if (swap.Next is null) return new(host, null, $"host {host.HostId}: {swap.Reason}");
        var disk = host.Disks.Claim(request.InstanceId, request.DiskClass, request.DiskGiB);
        if (!disk.Succeeded) return new(host, null, $"host {host.HostId}: {disk.Reason}");
        if (!host.PortsByInstance.TryGetValue(request.InstanceId, out var port))
        {
            port = LowestFreePort(host);
            if (port < 0) return new(host, null, string.Create(CultureInfo.InvariantCulture, $"host {host.HostId}: all {host.Ports.Count} ports of {host.Ports.First}-{host.Ports.Last} are taken"));
        }
        var next = host with { Cpu = cpu.State, Swap = swap.Next, Disks = disk.Pool, PortsByInstance = host.PortsByInstance.SetItem(request.InstanceId, port) };
        return new(next, new HostReservation(request.InstanceId, host.HostId, cpu.Assignment!, disk.Disk!, port, request.SwapMiB), "");
    }

    /// <summary>Gives back CPUs, memory, swap and port, and sends the disk to Releasing. Unknown instance: no change.</summary>
    public static HostState Release(HostState host, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host with
        {
            Cpu = CpuAllocator.Release(host.Cpu, instanceId),
            Swap = host.Swap.Release(instanceId),
            Disks = host.Disks.Release(instanceId).Pool,
            PortsByInstance = host.PortsByInstance.Remove(instanceId),
        };
    }

    /// <summary>Every broken invariant of the host, in words; empty when sound.</summary>
    public static IReadOnlyList<string> Validate(HostState host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var problems = new List<string>();
        problems.AddRange(CpuAllocator.Validate(host.Cpu));
        problems.AddRange(host.Disks.Validate());
        problems.AddRange(host.Swap.Validate());
        foreach (var id in host.Swap.ByInstance?.Keys ?? Enumerable.Empty<string>())
            if (!host.Cpu.Assignments.ContainsKey(id)) problems.Add($"instance {id} holds swap but no CPUs");
        foreach (var g in host.PortsByInstance.GroupBy(static p => p.Value).Where(static g => g.Count() > 1))
            problems.Add($"port {g.Key} is given to {string.Join(" and ", g.Select(static p => p.Key))}");
        foreach (var (id, port) in host.PortsByInstance)
            if (port < host.Ports.First || port > host.Ports.Last) problems.Add($"instance {id} has port {port} outside {host.Ports.First}-{host.Ports.Last}");
        return problems;
    }

    private static int LowestFreePort(HostState host)
    {
        var count = host.Ports.Count;
        if (host.PortsByInstance.Count >= count) return -1;
        var taken = count <= 4096 ? stackalloc bool[count] : new bool[count];
        foreach (var (_, p) in host.PortsByInstance) // the struct enumerator: Values is a boxed iterator
            if (p >= host.Ports.First && p <= host.Ports.Last) taken[p - host.Ports.First] = true;
        var free = taken.IndexOf(false);
        return free < 0 ? -1 : host.Ports.First + free;
    }
}
