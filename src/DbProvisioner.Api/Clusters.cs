using Orleans;

namespace DbProvisioner.Api;

// API v1 clusters: one request for shards × replicas under a spread rule, and its view.

[Immutable, Alias("dbprov.SpreadSpec")]
public sealed record SpreadSpec(
    SpreadDomain Domain,
    int MaxPerDomain,
    SpreadMode Mode)
{
    public static SpreadSpec HostHard { get; } = new(SpreadDomain.Host, 1, SpreadMode.Hard);
}

[Immutable, Alias("dbprov.InstanceTemplateSpec")]
public sealed record InstanceTemplateSpec(
    int? Cpus,
    long? MemoryMiB,
    long? SwapMiB,
    long? DiskGiB,
    string? DiskClass,
    NumaPolicy? Numa,
    int? Swappiness = null);

[Immutable, Alias("dbprov.CreateClusterRequest")]
public sealed record CreateClusterRequest(
    string? Name,
    string? Pool,
    int? Shards,
    int? Replicas,
    SpreadSpec? Spread,
    InstanceTemplateSpec? Template);

[GenerateSerializer, Immutable, Alias("dbprov.ClusterMemberView")]
public sealed record ClusterMemberView(
    string Shard,
    string InstanceId,
    string Role,
    string? Host,
    string State);

[GenerateSerializer, Immutable, Alias("dbprov.ClusterView")]
public sealed record ClusterView(
    string Name,
    string State,
    string? Reason,
    string Pool,
    int Shards,
    int Replicas,
    SpreadSpec Spread,
    IReadOnlyList<ClusterMemberView> Members,
    DateTimeOffset CreatedAt);

[GenerateSerializer, Immutable, Alias("dbprov.ShrinkClusterRequest")]
public sealed record ShrinkClusterRequest(int? Replicas);
