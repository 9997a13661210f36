using System.Text.Json.Serialization;

namespace DbProvisioner.Contracts;

// The public API v1 (DESIGN.md): request and response records, also passed to grains.

[GenerateSerializer, Immutable, Alias("dbprov.PortRangeSpec")]
public sealed record PortRangeSpec([property: Id(0)] int First, [property: Id(1)] int Last);

[GenerateSerializer, Immutable, Alias("dbprov.DiskSpec")]
public sealed record DiskSpec(
    [property: Id(0)] string Device,
    [property: Id(1)] long SizeGiB,
    [property: Id(2)] string? Class = null,
    [property: Id(3)] string? Id = null);

/// <summary>A topology given instead of discovered: simulated hosts, and hosts whose sysfs cannot be read.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.TopologySpec")]
public sealed record TopologySpec(
    [property: Id(0)] int NumaNodes,
    [property: Id(1)] int CoresPerNode,
    [property: Id(2)] int ThreadsPerCore,
    [property: Id(3)] long MemoryMiBPerNode);

[GenerateSerializer, Immutable, Alias("dbprov.WatermarkSpec")]
public sealed record WatermarkSpec([property: Id(0)] string Class, [property: Id(1)] int MinReady, [property: Id(2)] int MinSeeded);

[GenerateSerializer, Immutable, Alias("dbprov.RegisterHostRequest")]
public sealed record RegisterHostRequest(
    [property: Id(0)] string? Id,
    [property: Id(1)] string? EngineEndpoint,
    [property: Id(2)] string? Zone,
    [property: Id(3)] string? Rack,
    [property: Id(4)] string? Pool,
    [property: Id(5)] IReadOnlyList<DiskSpec>? Disks,
    [property: Id(6)] string? ReservedCpus,
    [property: Id(7)] PortRangeSpec? Ports,
    [property: Id(8)] string? MySqlAddress = null,
    [property: Id(9)] IReadOnlyDictionary<string, string>? Labels = null,
    [property: Id(10)] TopologySpec? Topology = null,
    [property: Id(11)] IReadOnlyList<WatermarkSpec>? Watermarks = null,
    [property: Id(12)] long? SwapMiB = null);

[GenerateSerializer, Immutable, Alias("dbprov.CoreView")]
public sealed record CoreView([property: Id(0)] int Core, [property: Id(1)] string Cpus, [property: Id(2)] string? Instance, [property: Id(3)] bool Reserved);

[GenerateSerializer, Immutable, Alias("dbprov.NumaNodeView")]
public sealed record NumaNodeView(
    [property: Id(0)] int Id,
    [property: Id(1)] long MemoryMiB,
    [property: Id(2)] long FreeMemoryMiB,
    [property: Id(3)] IReadOnlyList<CoreView> Cores);

/// <summary>One disk of a host; <see cref="Error"/> says why a Faulty disk is Faulty (e.g. not a disk-pool device).</summary>
[GenerateSerializer, Immutable, Alias("dbprov.DiskView")]
public sealed record DiskView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Device,
    [property: Id(2)] long SizeGiB,
    [property: Id(3)] string Class,
    [property: Id(4)] string State,
    [property: Id(5)] bool Seeded,
    [property: Id(6)] string? ClaimedBy,
    [property: Id(7)] string? Error = null);

[GenerateSerializer, Immutable, Alias("dbprov.HostInstanceView")]
public sealed record HostInstanceView([property: Id(0)] string Id, [property: Id(1)] string Cpus, [property: Id(2)] int Port, [property: Id(3)] long MemoryMiB, [property: Id(4)] long SwapMiB = 0);

/// <summary>A host's swap: what the machine has, what instances may use (the allowance), what they hold and what is free of it.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.HostSwapView")]
public sealed record HostSwapView([property: Id(0)] long TotalMiB, [property: Id(1)] long AllocatableMiB, [property: Id(2)] long UsedMiB, [property: Id(3)] long FreeMiB);

[GenerateSerializer, Immutable, Alias("dbprov.HostView")]
public sealed record HostView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Pool,
    [property: Id(2)] string Zone,
    [property: Id(3)] string Rack,
    [property: Id(4)] string EngineEndpoint,
    [property: Id(5)] bool Cordoned,
    [property: Id(6)] bool Healthy,
    [property: Id(7)] string ReservedCpus,
    [property: Id(8)] PortRangeSpec Ports,
    [property: Id(9)] IReadOnlyList<NumaNodeView> NumaNodes,
    [property: Id(10)] IReadOnlyList<DiskView> Disks,
    [property: Id(11)] IReadOnlyList<HostInstanceView> Instances,
    [property: Id(12)] int FreeCores,
    [property: Id(13)] IReadOnlyDictionary<string, string> Labels,
    [property: Id(14)] HostSwapView? Swap = null);

[GenerateSerializer, Immutable, Alias("dbprov.HostSummary")]
public sealed record HostSummary(
    [property: Id(0)] string Id,
    [property: Id(1)] string Pool,
    [property: Id(2)] string Zone,
    [property: Id(3)] string Rack,
    [property: Id(4)] bool Cordoned,
    [property: Id(5)] int FreeCores,
    [property: Id(6)] int TotalCores,
    [property: Id(7)] int ReadyDisks);

[GenerateSerializer, Immutable, Alias("dbprov.CreateInstanceRequest")]
public sealed record CreateInstanceRequest(
    [property: Id(0)] string? Cluster,
    [property: Id(1)] string? Shard,
    [property: Id(2)] string? Role,
    [property: Id(3)] int? Cpus,
    [property: Id(4)] long? MemoryMiB,
    [property: Id(5)] long? SwapMiB,
    [property: Id(6)] long? DiskGiB,
    [property: Id(7)] string? DiskClass,
    [property: Id(8)] string? Numa,
    [property: Id(9)] string? Pool,
    [property: Id(10)] int? Swappiness = null);

/// <summary>A validated instance request, as the instance grain keeps it.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.InstanceSpec")]
public sealed record InstanceSpec(
    [property: Id(0)] string Cluster,
    [property: Id(1)] string Shard,
    [property: Id(2)] string Role,
    [property: Id(3)] int Cpus,
    [property: Id(4)] long MemoryMiB,
    [property: Id(5)] long SwapMiB,
    [property: Id(6)] int Swappiness,
    [property: Id(7)] long DiskGiB,
    [property: Id(8)] string DiskClass,
    [property: Id(9)] string Numa,
    [property: Id(10)] string Pool,
    [property: Id(11)] SpreadSpec Spread);

[GenerateSerializer, Immutable, Alias("dbprov.SpreadSpec")]
public sealed record SpreadSpec(
    [property: Id(0)] string Domain,
    [property: Id(1)] int MaxPerDomain,
    [property: Id(2)] string Mode)
{
    public static SpreadSpec HostHard { get; } = new("host", 1, "hard");
}

[GenerateSerializer, Immutable, Alias("dbprov.StepView")]
public sealed record StepView(
    [property: Id(0)] string Step,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] double DurationMs,
    [property: Id(3)] string Outcome);

[GenerateSerializer, Immutable, Alias("dbprov.EndpointView")]
public sealed record EndpointView([property: Id(0)] string Host, [property: Id(1)] int Port);

[GenerateSerializer, Immutable, Alias("dbprov.InstanceView")]
public sealed record InstanceView(
    [property: Id(0)] string Id,
    [property: Id(1)] string State,
    [property: Id(2)] string? Reason,
    [property: Id(3)] InstanceSpec Spec,
    [property: Id(4)] string? Host,
    [property: Id(5)] string? CpuSet,
    [property: Id(6)] IReadOnlyList<int> NumaNodes,
    [property: Id(7)] string? Disk,
    [property: Id(8)] string? Device,
    [property: Id(9)] EndpointView? Endpoint,
    [property: Id(10)] IReadOnlyList<StepView> Steps,
    [property: Id(11)] long Version,
    [property: Id(12)] string RequestedBy,
    [property: Id(13)] DateTimeOffset CreatedAt,
    [property: Id(14)] bool ContainerMissing = false,
    [property: Id(15)] string? RemovalRequestId = null);

[GenerateSerializer, Immutable, Alias("dbprov.InstanceSummary")]
public sealed record InstanceSummary(
    [property: Id(0)] string Id,
    [property: Id(1)] string State,
    [property: Id(2)] string Cluster,
    [property: Id(3)] string Shard,
    [property: Id(4)] string? Host);

[GenerateSerializer, Immutable, Alias("dbprov.CredentialsView")]
public sealed record CredentialsView(
    [property: Id(0)] string Host,
    [property: Id(1)] int Port,
    [property: Id(2)] string User,
    [property: Id(3)] string Password)
{
    public override string ToString() => $"CredentialsView {{ Host = {Host}, Port = {Port}, User = {User}, Password = *** }}";
}

[GenerateSerializer, Immutable, Alias("dbprov.InstanceTemplateSpec")]
public sealed record InstanceTemplateSpec(
    [property: Id(0)] int? Cpus,
    [property: Id(1)] long? MemoryMiB,
    [property: Id(2)] long? SwapMiB,
    [property: Id(3)] long? DiskGiB,
    [property: Id(4)] string? DiskClass,
    [property: Id(5)] string? Numa,
    [property: Id(6)] int? Swappiness = null);

[GenerateSerializer, Immutable, Alias("dbprov.CreateClusterRequest")]
public sealed record CreateClusterRequest(
    [property: Id(0)] string? Name,
    [property: Id(1)] string? Pool,
    [property: Id(2)] int? Shards,
    [property: Id(3)] int? Replicas,
    [property: Id(4)] SpreadSpec? Spread,
    [property: Id(5)] InstanceTemplateSpec? Template);

[GenerateSerializer, Immutable, Alias("dbprov.ClusterMemberView")]
public sealed record ClusterMemberView(
    [property: Id(0)] string Shard,
    [property: Id(1)] string InstanceId,
    [property: Id(2)] string Role,
    [property: Id(3)] string? Host,
    [property: Id(4)] string State);

[GenerateSerializer, Immutable, Alias("dbprov.ClusterView")]
public sealed record ClusterView(
    [property: Id(0)] string Name,
    [property: Id(1)] string State,
    [property: Id(2)] string? Reason,
    [property: Id(3)] string Pool,
    [property: Id(4)] int Shards,
    [property: Id(5)] int Replicas,
    [property: Id(6)] SpreadSpec Spread,
    [property: Id(7)] IReadOnlyList<ClusterMemberView> Members,
    [property: Id(8)] DateTimeOffset CreatedAt);

/// <summary>The outcome of a request that may be refused for a reason the caller should read.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.Outcome`1")]
public sealed record Outcome<T>([property: Id(0)] T? Value, [property: Id(1)] string? Error, [property: Id(2)] OutcomeKind Kind)
{
    [JsonIgnore] public bool Ok => Kind == OutcomeKind.Ok;
    public static Outcome<T> Success(T value) => new(value, null, OutcomeKind.Ok);
    public static Outcome<T> Fail(OutcomeKind kind, string error) => new(default, error, kind);
}

[GenerateSerializer]
public enum OutcomeKind
{
    Ok,
    NotFound,
    Conflict,
    Invalid,
    Unplaceable,
    Forbidden,
}

/// <summary>What reconciliation found on a host and did about it.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.ReconciliationView")]
public sealed record ReconciliationView(
    [property: Id(0)] string HostId,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] IReadOnlyList<string> Orphans,
    [property: Id(3)] IReadOnlyList<string> OrphansRemoved,
    [property: Id(4)] IReadOnlyList<string> Vanished,
    [property: Id(5)] IReadOnlyList<string> Returned,
    [property: Id(6)] IReadOnlyList<string> StaleHelpersRemoved,
    [property: Id(7)] string? Error);
