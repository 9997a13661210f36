using Orleans;

namespace DbProvisioner.Api;

// API v1 instances: the request, the spec the instance grain keeps, views and credentials.

[GenerateSerializer, Immutable, Alias("dbprov.CreateInstanceRequest")]
public sealed record CreateInstanceRequest(
    string? Cluster,
    string? Shard,
    string? Role,
    int? Cpus,
    long? MemoryMiB,
    long? SwapMiB,
    long? DiskGiB,
    string? DiskClass,
    NumaPolicy? Numa,
    string? Pool,
    int? Swappiness = null);

/// <summary>A validated instance request, as the instance grain keeps it.</summary>
[Immutable, Alias("dbprov.InstanceSpec")]
public sealed record InstanceSpec(
    string Cluster,
    string Shard,
    string Role,
    int Cpus,
    long MemoryMiB,
    long SwapMiB,
    int Swappiness,
    long DiskGiB,
    string DiskClass,
    NumaPolicy Numa,
    string Pool,
    SpreadSpec Spread);

[Immutable, Alias("dbprov.StepView")]
public sealed record StepView(
    string Step,
    DateTimeOffset At,
    double DurationMs,
    string Outcome);

[GenerateSerializer, Immutable, Alias("dbprov.EndpointView")]
public sealed record EndpointView(string Host, int Port);

[GenerateSerializer, Immutable, Alias("dbprov.InstanceView")]
public sealed record InstanceView(
    string Id,
    string State,
    string? Reason,
    InstanceSpec Spec,
    string? Host,
    string? CpuSet,
    IReadOnlyList<int> NumaNodes,
    string? Disk,
    string? Device,
    EndpointView? Endpoint,
    IReadOnlyList<StepView> Steps,
    long Version,
    string RequestedBy,
    DateTimeOffset CreatedAt,
    bool ContainerMissing = false,
    string? RemovalRequestId = null,
    string? ObservedCpuSet = null,
    string? CpuSetNote = null);

[Immutable, Alias("dbprov.InstanceSummary")]
public sealed record InstanceSummary(
    string Id,
    string State,
    string Cluster,
    string Shard,
    string? Host);

[GenerateSerializer, Immutable, Alias("dbprov.CredentialsView")]
public sealed record CredentialsView(
    string Host,
    int Port,
    string User,
    string Password)
{
    public override string ToString() => $"CredentialsView {{ Host = {Host}, Port = {Port}, User = {User}, Password = *** }}";
}

/// <summary>The answer to <c>POST /instances</c>: the new instance's id, its state and where to follow it.</summary>
public sealed record InstanceAccepted(string Id, string State, string Location);
