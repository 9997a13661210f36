using DbProvisioner.Api;

namespace DbProvisioner.Contracts;

// The API's records that grains keep in their stored state travel as these surrogates: the very fields, ids and
// layout those records had when they were Contracts records (names as strings), so state stored before the records
// moved to DbProvisioner.Api loads unchanged and is written back in the same shape. (A codec Orleans generates for a
// record of another assembly lays its fields out differently and would read old state as empty records.)

[GenerateSerializer]
public record struct PortRangeSpecSurrogate([property: Id(0)] int First, [property: Id(1)] int Last);

[GenerateSerializer]
public record struct DiskSpecSurrogate([property: Id(0)] string Device, [property: Id(1)] long SizeGiB, [property: Id(2)] string? Class, [property: Id(3)] string? Id);

[GenerateSerializer]
public record struct TopologySpecSurrogate(
    [property: Id(0)] int NumaNodes, [property: Id(1)] int CoresPerNode, [property: Id(2)] int ThreadsPerCore, [property: Id(3)] long MemoryMiBPerNode);

[GenerateSerializer]
public record struct WatermarkSpecSurrogate([property: Id(0)] string Class, [property: Id(1)] int MinReady, [property: Id(2)] int MinSeeded);

[GenerateSerializer]
public record struct RegisterHostRequestSurrogate(
    [property: Id(0)] string? Id,
    [property: Id(1)] string? EngineEndpoint,
    [property: Id(2)] string? Zone,
    [property: Id(3)] string? Rack,
    [property: Id(4)] string? Pool,
    [property: Id(5)] IReadOnlyList<DiskSpec>? Disks,
    [property: Id(6)] string? ReservedCpus,
    [property: Id(7)] PortRangeSpec? Ports,
    [property: Id(8)] string? MySqlAddress,
    [property: Id(9)] IReadOnlyDictionary<string, string>? Labels,
    [property: Id(10)] TopologySpec? Topology,
    [property: Id(11)] IReadOnlyList<WatermarkSpec>? Watermarks,
    [property: Id(12)] long? SwapMiB);

[GenerateSerializer]
public record struct HostSummarySurrogate(
    [property: Id(0)] string Id,
    [property: Id(1)] string Pool,
    [property: Id(2)] string Zone,
    [property: Id(3)] string Rack,
    [property: Id(4)] bool Cordoned,
    [property: Id(5)] int FreeCores,
    [property: Id(6)] int TotalCores,
    [property: Id(7)] int ReadyDisks,
    // Unhealthy rather than Healthy: a summary stored before health was reported reads as healthy.
    [property: Id(8)] bool Unhealthy = false,
    [property: Id(9)] DateTimeOffset? LastSeen = null,
    [property: Id(10)] string? Reason = null,
    [property: Id(11)] HostImageView? Image = null);

[GenerateSerializer]
public record struct HostImageViewSurrogate(
    [property: Id(0)] string State,
    [property: Id(1)] int? Percent,
    [property: Id(2)] long BytesDone,
    [property: Id(3)] long BytesTotal,
    [property: Id(4)] string? Error,
    [property: Id(5)] DateTimeOffset? At);

[GenerateSerializer]
public record struct SpreadSpecSurrogate([property: Id(0)] string Domain, [property: Id(1)] int MaxPerDomain, [property: Id(2)] string Mode);

[GenerateSerializer]
public record struct InstanceSpecSurrogate(
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

[GenerateSerializer]
public record struct StepViewSurrogate([property: Id(0)] string Step, [property: Id(1)] DateTimeOffset At, [property: Id(2)] double DurationMs, [property: Id(3)] string Outcome);

[GenerateSerializer]
public record struct InstanceSummarySurrogate(
    [property: Id(0)] string Id, [property: Id(1)] string State, [property: Id(2)] string Cluster, [property: Id(3)] string Shard, [property: Id(4)] string? Host);

[GenerateSerializer]
public record struct InstanceTemplateSpecSurrogate(
    [property: Id(0)] int? Cpus,
    [property: Id(1)] long? MemoryMiB,
    [property: Id(2)] long? SwapMiB,
    [property: Id(3)] long? DiskGiB,
    [property: Id(4)] string? DiskClass,
    [property: Id(5)] string? Numa,
    [property: Id(6)] int? Swappiness);

[GenerateSerializer]
public record struct CreateClusterRequestSurrogate(
    [property: Id(0)] string? Name,
    [property: Id(1)] string? Pool,
    [property: Id(2)] int? Shards,
    [property: Id(3)] int? Replicas,
    [property: Id(4)] SpreadSpec? Spread,
    [property: Id(5)] InstanceTemplateSpec? Template);

[GenerateSerializer]
public record struct RiskItemViewSurrogate([property: Id(0)] string Code, [property: Id(1)] string Severity, [property: Id(2)] string Message);

[GenerateSerializer]
public record struct ScaleDownDecisionViewSurrogate(
    [property: Id(0)] string By,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] string Decision,
    [property: Id(3)] IReadOnlyList<string> Acknowledged,
    [property: Id(4)] string? Reason);
