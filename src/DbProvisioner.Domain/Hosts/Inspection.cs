using System.Globalization;
using DbProvisioner.Domain.Instances;
using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Domain.Hosts;

/// <summary>
/// An instance's container as the engine runs it: its limits as the engine reports them (cpuset strings, bytes),
/// and the device behind its data volume (null when the volume is gone or not on a device).
/// </summary>
public sealed record InspectedContainer(
    string Name,
    string InstanceId,
    bool Running,
    string CpusetCpus,
    string CpusetMems,
    long MemoryBytes,
    long MemorySwapBytes,
    string RestartPolicy,
    string? DataDevice);

/// <summary>An instance's data volume the engine holds, with the device it mounts (null when it names none).</summary>
public sealed record InspectedVolume(string Name, string InstanceId, string? Device);

/// <summary>What a host holds for one instance: its CPUs, the NUMA nodes its memory is bound to, memory, swap and disk.</summary>
public sealed record Booking(string InstanceId, CpuSet Cpus, IReadOnlyList<int> MemoryNodes, long MemoryMiB, long SwapMiB, string? Device)
{
    /// <summary>Every instance the host's books hold, by instance id: one entry per CPU assignment.</summary>
    public static IReadOnlyList<Booking> On(HostState host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return [.. host.Cpu.Assignments.Values.Select(a => new Booking(a.InstanceId, a.Cpus, a.MemoryNodes(), a.MemoryMiB,
            host.Swap.HeldBy(a.InstanceId), host.Disks.ClaimedBy(a.InstanceId)?.DevicePath))];
    }

    public HeldInstance Held(ContainerExpectation container) => new(InstanceId, Cpus, MemoryNodes, MemoryMiB, SwapMiB, Device, container);
}

/// <summary>An instance the host grain holds: what it reserved for it, and whether it should have a container now.</summary>
public sealed record HeldInstance(
    string InstanceId,
    CpuSet Cpus,
    IReadOnlyList<int> MemoryNodes,
    long MemoryMiB,
    long SwapMiB,
    string? Device,
    ContainerExpectation Container);

/// <summary>What differs between the engine and the appliance's books, in the order a DBA reads a report.</summary>
public enum DriftKind
{
    MissingContainer,
    UnknownContainer,
    Stopped,
    CpusetCpus,
    CpusetMems,
    Memory,
    Swap,
    RestartPolicy,
    DataDisk,
    MissingVolume,
    UnknownVolume,
    /// <summary>A runtime that chooses the cores itself gave the instance more or fewer CPUs than reserved (last: new kinds append).</summary>
    CpuCount,
}

/// <param name="Subject">The container or volume (or instance when it has neither) the drift is about.</param>
/// <param name="Found">What the engine runs ("-" when nothing).</param>
/// <param name="Expected">What the appliance holds ("-" when nothing).</param>
/// <param name="Fix">A command or action that removes the drift.</param>
public sealed record Drift(DriftKind Kind, string InstanceId, string Subject, string Found, string Expected, string Fix);

/// <summary>The engine's containers and volumes against the host grain's reservations: a pure comparison, a list of drifts.</summary>
public static class Inspection
{
    /// <summary>The restart policy every instance container has (DESIGN.md: a reboot restarts the same container on the same data).</summary>
    public const string ExpectedRestartPolicy = "unless-stopped";

    private const string Nothing = "-";

    /// <summary>Every drift, ordered by instance, then kind; an instance in flight is not judged (its container is being made or removed).</summary>
    /// <param name="runtime">What the host's runtime honours (Docker when null): where it chooses the cores or the memory nodes itself, only what it promised is judged.</param>
    public static IReadOnlyList<Drift> Compare(IEnumerable<HeldInstance> held, IEnumerable<InspectedContainer> containers, IEnumerable<InspectedVolume> volumes,
        Placement.RuntimeCapabilities? runtime = null)
    {
        runtime ??= Placement.RuntimeCapabilities.Docker;
        ArgumentNullException.ThrowIfNull(held);
        ArgumentNullException.ThrowIfNull(containers);
        ArgumentNullException.ThrowIfNull(volumes);
        var books = held.ToDictionary(static h => h.InstanceId, StringComparer.Ordinal);
        var byInstance = containers.GroupBy(static c => c.InstanceId, StringComparer.Ordinal).ToDictionary(static g => g.Key, static g => g.First(), StringComparer.Ordinal);
        var volumeOf = volumes.GroupBy(static v => v.InstanceId, StringComparer.Ordinal).ToDictionary(static g => g.Key, static g => g.First(), StringComparer.Ordinal);
        var drifts = new List<Drift>();

        foreach (var instance in books.Values)
        {
            byInstance.TryGetValue(instance.InstanceId, out var container);
            volumeOf.TryGetValue(instance.InstanceId, out var volume);
            drifts.AddRange(instance.Container switch
            {
                ContainerExpectation.Expected => Judge(instance, container, volume, runtime),
                ContainerExpectation.Absent => Leftovers(instance.InstanceId, container, volume, "the appliance holds no container for it"),
                _ => [],
            });
        }

        foreach (var container in byInstance.Values.Where(c => !books.ContainsKey(c.InstanceId)))
            drifts.AddRange(Leftovers(container.InstanceId, container, null, "no instance on this host"));
        foreach (var volume in volumeOf.Values.Where(v => !books.ContainsKey(v.InstanceId)))
            drifts.AddRange(Leftovers(volume.InstanceId, null, volume, "no instance on this host"));

        return [.. drifts.OrderBy(static d => d.InstanceId, StringComparer.Ordinal).ThenBy(static d => d.Kind).ThenBy(static d => d.Subject, StringComparer.Ordinal)];
    }

    private static IEnumerable<Drift> Judge(HeldInstance instance, InspectedContainer? container, InspectedVolume? volume, Placement.RuntimeCapabilities runtime)
    {
        var id = instance.InstanceId;
        if (volume is null)
            yield return new Drift(DriftKind.MissingVolume, id, id, Nothing, $"a data volume on {instance.Device ?? "its disk"}",
                "reconciliation marks the container missing; recreate the instance (scale it down and request it again) to restore it");
        if (container is null)
        {
            yield return new Drift(DriftKind.MissingContainer, id, id, Nothing, "a running container",
                "the container is gone: reconciliation marks the instance; recreate it on its disk (its data stays there)");
            yield break;
        }

        var name = container.Name;
        if (!container.Running)
            yield return new Drift(DriftKind.Stopped, id, name, "stopped", "running", $"docker start {name}");

        var expectedCpus = instance.Cpus.ToString();
        if (!runtime.ExactCpuSet)
        {
            // The node chose the cores: other ids are its right, another count means the instance has no exclusive CPUs.
            if (CpuSet.TryParse(container.CpusetCpus, out var observed, out _) && CpusetObservation.Judge(instance.Cpus, observed, exactCpuSet: false) is { Finding: CpusetFinding.CountMismatch } seen)
                yield return new Drift(DriftKind.CpuCount, id, name, Show(container.CpusetCpus), $"{instance.Cpus.Count} exclusive CPUs",
                    $"{seen.Note}: set the node's kubelet to --cpu-manager-policy=static, then recreate the instance");
        }
        else if (!SameSet(container.CpusetCpus, instance.Cpus))
            yield return new Drift(DriftKind.CpusetCpus, id, name, Show(container.CpusetCpus), expectedCpus,
                $"cpuset {Show(container.CpusetCpus)} expected {expectedCpus}: docker update --cpuset-cpus {expectedCpus} {name}, or recreate");

        var expectedMems = instance.MemoryNodes.Count == 0 ? CpuSet.Empty : CpuSet.Of(instance.MemoryNodes);
        if (runtime.NumaBinding && !SameSet(container.CpusetMems, expectedMems))
        {
            var wanted = expectedMems.IsEmpty ? "" : expectedMems.ToString();
            yield return new Drift(DriftKind.CpusetMems, id, name, Show(container.CpusetMems), Show(wanted),
                expectedMems.IsEmpty
                    ? $"memory bound to NUMA node {container.CpusetMems}, expected unbound: recreate {name} (docker update cannot clear cpuset-mems)"
                    : $"cpuset-mems {Show(container.CpusetMems)} expected {wanted}: docker update --cpuset-mems {wanted} {name}, or recreate");
        }

        var memoryBytes = Sizes.MiBToBytes(instance.MemoryMiB);
        var swapBytes = Sizes.MiBToBytes(Sizes.Add(instance.MemoryMiB, instance.SwapMiB));
        if (container.MemoryBytes != memoryBytes)
            yield return new Drift(DriftKind.Memory, id, name, Bytes(container.MemoryBytes), Bytes(memoryBytes),
                $"memory {Bytes(container.MemoryBytes)} expected {Bytes(memoryBytes)}: docker update --memory {memoryBytes} --memory-swap {swapBytes} {name}");
        if (container.MemorySwapBytes != swapBytes)
            yield return new Drift(DriftKind.Swap, id, name, Bytes(container.MemorySwapBytes), Bytes(swapBytes),
                $"memory+swap {Bytes(container.MemorySwapBytes)} expected {Bytes(swapBytes)} (memory {instance.MemoryMiB} MiB + swap {instance.SwapMiB} MiB): docker update --memory-swap {swapBytes} {name}");

        if (!string.Equals(container.RestartPolicy, ExpectedRestartPolicy, StringComparison.Ordinal))
            yield return new Drift(DriftKind.RestartPolicy, id, name, Show(container.RestartPolicy), ExpectedRestartPolicy,
                $"docker update --restart {ExpectedRestartPolicy} {name}");

        var device = volume?.Device ?? container.DataDevice;
        if (instance.Device is { } claimed && device is not null && !string.Equals(device, claimed, StringComparison.Ordinal))
            yield return new Drift(DriftKind.DataDisk, id, volume?.Name ?? name, device, claimed,
                $"the data directory is on {device}, but the instance holds disk {claimed}: check which disk has its data before anything else, then recreate the instance on it");
    }

    private static IEnumerable<Drift> Leftovers(string id, InspectedContainer? container, InspectedVolume? volume, string why)
    {
        if (container is not null)
            yield return new Drift(DriftKind.UnknownContainer, id, container.Name, container.Running ? "running" : "stopped", Nothing,
                $"{why}: reconciliation reports it as an orphan; remove it with docker rm -f {container.Name} once nobody needs it");
        if (volume is not null)
            yield return new Drift(DriftKind.UnknownVolume, id, volume.Name, volume.Device ?? "a volume", Nothing,
                $"{why}: keep it while its data may be needed, else docker volume rm {volume.Name}");
    }

    /// <summary>"0-1" and "0,1" are one set; text that is no set never matches.</summary>
    private static bool SameSet(string observed, CpuSet expected) =>
        string.IsNullOrWhiteSpace(observed) ? expected.IsEmpty : CpuSet.TryParse(observed, out var set, out _) && set == expected;

    private static string Show(string text) => string.IsNullOrWhiteSpace(text) ? "(none)" : text;

    private static string Bytes(long bytes) => bytes % Sizes.BytesPerMiB == 0
        ? (bytes / Sizes.BytesPerMiB).ToString(CultureInfo.InvariantCulture) + " MiB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " bytes";
}
