using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Runtime;

/// <summary>What is on a disk: its file system type (null when none) and whether it holds a MySQL data directory.</summary>
public sealed record DiskCheck(string Device, string? FileSystem, bool IsSeeded)
{
    public bool IsXfs => FileSystem == "xfs";
}

/// <summary>
/// A host's swap as discovered: the machine's total, and whether the engine enforces a container's
/// memory+swap limit (cgroup swap accounting); without it an instance's swap allowance cannot be kept.
/// </summary>
public sealed record HostSwapInfo(long TotalMiB, bool EngineLimitsSwap);

/// <summary>A started instance: its container, its data volume and where MySQL answers.</summary>
/// <param name="PhaseMs">How long each part of the start took (e.g. <c>create</c>, <c>start</c>), in the order done; empty when the runtime does not say.</param>
public sealed record InstanceHandle(string InstanceId, string ContainerId, string ContainerName, string VolumeName, string Address, int Port,
    IReadOnlyList<StartPhase>? PhaseMs = null);

/// <summary>One measured part of an instance's start, in milliseconds.</summary>
public sealed record StartPhase(string Name, double Ms);

/// <summary>The container state of an instance as the engine reports it.</summary>
public sealed record InstanceStatus(
    string InstanceId,
    string ContainerId,
    string State,
    bool Running,
    bool Restarting,
    long RestartCount,
    long ExitCode,
    DateTimeOffset? StartedAt,
    IReadOnlyDictionary<string, string> Labels);

public sealed record OwnedContainer(string Id, string Name, string State, IReadOnlyDictionary<string, string> Labels, DateTimeOffset? CreatedAt = null)
{
    public string? InstanceId => Labels.TryGetValue(OwnershipLabels.Instance, out var id) ? id : null;

    /// <summary>What a short-lived helper was for (format, check, topology, swap); null for an instance's container.</summary>
    public string? Helper => Labels.TryGetValue(OwnershipLabels.Helper, out var purpose) ? purpose : null;
}

public sealed record OwnedVolume(string Name, IReadOnlyDictionary<string, string> Labels, DateTimeOffset? CreatedAt = null)
{
    public string? InstanceId => Labels.TryGetValue(OwnershipLabels.Instance, out var id) ? id : null;

    /// <summary>What the helper that made this short-lived volume was for (format, check); null for an instance's data volume.</summary>
    public string? Helper => Labels.TryGetValue(OwnershipLabels.Helper, out var purpose) ? purpose : null;
}

public sealed record OwnedResources(IReadOnlyList<OwnedContainer> Containers, IReadOnlyList<OwnedVolume> Volumes);

/// <summary>
/// Credentials of one instance. Passwords reach the container only as files; <see cref="ToString"/>
/// redacts them so that no log line, audit record or exception message can carry them.
/// </summary>
public sealed record InstanceCredentials(string RootPassword, string? Database = null, string? User = null, string? UserPassword = null)
{
    public const string RootUser = "root";

    public static InstanceCredentials Generate(string? database = null, string? user = null) =>
        new(PasswordGenerator.Generate(), database, user, user is null ? null : PasswordGenerator.Generate());

    public override string ToString() =>
        $"InstanceCredentials {{ RootPassword = ***, Database = {Database ?? "-"}, User = {User ?? "-"}, UserPassword = {(UserPassword is null ? "-" : "***")} }}";
}

/// <summary>What the runtime needs to start one instance's container.</summary>
/// <param name="InstanceId">Lower-case letters, digits, '.', '_' and '-'; names the container and volume.</param>
/// <param name="Device">The claimed disk, e.g. /dev/sdb or a pool loop device, formatted with <see cref="IHostRuntime.FormatDiskAsync"/>.</param>
/// <param name="Cpus">The instance's exclusive CPUs.</param>
/// <param name="MemoryNodes">The NUMA nodes its memory is bound to; empty for interleave/none (no binding).</param>
/// <param name="MyCnf">The rendered my.cnf fragment (DbProvisioner.Domain.Config.MyCnf).</param>
/// <param name="Labels">Extra labels (cluster, shard, role…); the ownership labels are added by the runtime.</param>
public sealed record InstanceContainerSpec(
    string InstanceId,
    string Device,
    CpuSet Cpus,
    IReadOnlyList<int> MemoryNodes,
    long MemoryMiB,
    long SwapMiB,
    int Swappiness,
    int Port,
    string MyCnf,
    InstanceCredentials Credentials,
    IReadOnlyDictionary<string, string>? Labels = null)
{
    /// <summary>Throws <see cref="ArgumentException"/> when the spec cannot describe a container.</summary>
    public void Validate()
    {
        ResourceNames.ValidateInstanceId(InstanceId);
        ResourceNames.ValidateDevice(Device);
        if (Cpus is null || Cpus.IsEmpty) throw new ArgumentException("an instance needs at least one CPU", nameof(Cpus));
        if (MemoryNodes is null || MemoryNodes.Any(n => n < 0)) throw new ArgumentException("memory nodes must be NUMA node ids", nameof(MemoryNodes));
        if (MemoryMiB < 64) throw new ArgumentOutOfRangeException(nameof(MemoryMiB), MemoryMiB, "memory must be at least 64 MiB");
        if (SwapMiB < 0) throw new ArgumentOutOfRangeException(nameof(SwapMiB), SwapMiB, "swap must not be negative");
        if (Swappiness is < 0 or > 100) throw new ArgumentOutOfRangeException(nameof(Swappiness), Swappiness, "swappiness must be between 0 and 100");
        if (Port is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(Port), Port, "port must be between 1 and 65535");
        if (string.IsNullOrWhiteSpace(MyCnf)) throw new ArgumentException("my.cnf must not be empty", nameof(MyCnf));
        ArgumentNullException.ThrowIfNull(Credentials);
        if (string.IsNullOrEmpty(Credentials.RootPassword)) throw new ArgumentException("a root password is required", nameof(Credentials));
        if (Credentials.User is not null && string.IsNullOrEmpty(Credentials.UserPassword))
            throw new ArgumentException("a user needs a password", nameof(Credentials));
        foreach (var key in Labels?.Keys ?? [])
            if (OwnershipLabels.IsReserved(key)) throw new ArgumentException($"label {key} is set by the runtime", nameof(Labels));
    }
}

/// <summary>How far a pull got: bytes of the image's layers the engine downloaded (or found already there) of those it reported so far.</summary>
public sealed record ImagePull(long BytesDone, long BytesTotal);
