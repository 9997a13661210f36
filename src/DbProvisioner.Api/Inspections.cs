using System.Text.Json.Serialization;
using Orleans;

namespace DbProvisioner.Api;

// API v1 host inspection: what a host's engine runs against what the appliance holds (GET /hosts/{id}/inspection).

/// <summary>What a drift is about (<c>"cpuset-cpus"</c>); members are only ever added at the end.</summary>
[GenerateSerializer, JsonConverter(typeof(KebabCaseNames<DriftCode>))]
public enum DriftCode
{
    /// <summary>The host holds the instance, the engine has no container for it.</summary>
    MissingContainer,
    /// <summary>A container the appliance made for an instance the host does not hold (or holds without a container).</summary>
    UnknownContainer,
    /// <summary>The instance's container is not running.</summary>
    Stopped,
    /// <summary>The container runs on other CPUs than the instance's cpu set.</summary>
    CpusetCpus,
    /// <summary>The container's memory is bound to other NUMA nodes than held.</summary>
    CpusetMems,
    /// <summary>The container's memory limit is not the instance's memory.</summary>
    Memory,
    /// <summary>The container's memory+swap limit is not memory + the instance's swap.</summary>
    Swap,
    /// <summary>The container would not come back after a reboot as the same container (not unless-stopped).</summary>
    RestartPolicy,
    /// <summary>The data directory is on another disk than the one the instance holds.</summary>
    DataDisk,
    /// <summary>The host holds the instance, the engine has no data volume for it.</summary>
    MissingVolume,
    /// <summary>A data volume of an instance the host does not hold.</summary>
    UnknownVolume,
    /// <summary>A node that chooses the cores gave the instance more or fewer CPUs than reserved (no exclusive CPUs).</summary>
    CpuCount,
}

/// <summary>One difference: the container or volume, what the engine runs, what the appliance holds, and how to fix it.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.DriftView")]
public sealed record DriftView(DriftCode Kind, string Instance, string Subject, string Found, string Expected, string Fix);

/// <summary>
/// A host's engine against the appliance's books, read now: how many instances the host holds, how many instance
/// containers and data volumes the engine has, and every drift. <see cref="Error"/> says why the engine could not be read.
/// </summary>
[GenerateSerializer, Immutable, Alias("dbprov.HostInspectionView")]
public sealed record HostInspectionView(
    string HostId,
    DateTimeOffset At,
    int Instances,
    int Containers,
    int Volumes,
    IReadOnlyList<DriftView> Drifts,
    string? Error = null);
