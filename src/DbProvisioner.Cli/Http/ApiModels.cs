namespace DbProvisioner.Cli.Http;

// The parts of API v1's JSON the CLI reads and sends (the server's Contracts records, as a thin client sees them).
// Unknown fields are ignored, so the server may add fields without breaking older CLIs.

public sealed record PortRange(int First, int Last);

public sealed record DiskSpecBody(string Device, long SizeGiB, string? Class = null, string? Id = null);

public sealed record TopologySpecBody(int NumaNodes, int CoresPerNode, int ThreadsPerCore, long MemoryMiBPerNode);

public sealed record RegisterHostBody(
    string Id,
    string EngineEndpoint,
    string Zone,
    string Rack,
    string Pool,
    IReadOnlyList<DiskSpecBody> Disks,
    string? ReservedCpus,
    PortRange Ports,
    string? MySqlAddress = null,
    TopologySpecBody? Topology = null,
    long? SwapMiB = null);

public sealed record HostSummary(string Id, string Pool, string Zone, string Rack, bool Cordoned, int FreeCores, int TotalCores, int ReadyDisks);

public sealed record CoreView(int Core, string Cpus, string? Instance, bool Reserved);

public sealed record NumaNodeView(int Id, long MemoryMiB, long FreeMemoryMiB, IReadOnlyList<CoreView> Cores);

public sealed record DiskView(string Id, string Device, long SizeGiB, string Class, string State, bool Seeded, string? ClaimedBy, string? Error = null);

public sealed record HostInstanceView(string Id, string Cpus, int Port, long MemoryMiB, long SwapMiB = 0);

public sealed record HostSwapView(long TotalMiB, long AllocatableMiB, long UsedMiB, long FreeMiB);

public sealed record HostView(
    string Id,
    string Pool,
    string Zone,
    string Rack,
    string EngineEndpoint,
    bool Cordoned,
    bool Healthy,
    string ReservedCpus,
    PortRange Ports,
    IReadOnlyList<NumaNodeView> NumaNodes,
    IReadOnlyList<DiskView> Disks,
    IReadOnlyList<HostInstanceView> Instances,
    int FreeCores,
    IReadOnlyDictionary<string, string>? Labels,
    HostSwapView? Swap = null);

public sealed record CreateInstanceBody(
    string Pool,
    int Cpus,
    long MemoryMiB,
    long DiskGiB,
    long? SwapMiB = null,
    int? Swappiness = null,
    string? DiskClass = null,
    string? Numa = null,
    string? Cluster = null,
    string? Shard = null,
    string? Role = null);

public sealed record InstanceAccepted(string Id, string State, string Location);

public sealed record SpreadSpec(string Domain, int MaxPerDomain, string Mode);

public sealed record InstanceSpecView(
    string Cluster, string Shard, string Role, int Cpus, long MemoryMiB, long SwapMiB, int Swappiness, long DiskGiB, string DiskClass, string Numa, string Pool);

public sealed record StepView(string Step, DateTimeOffset At, double DurationMs, string Outcome);

public sealed record EndpointView(string Host, int Port);

public sealed record InstanceView(
    string Id,
    string State,
    string? Reason,
    InstanceSpecView Spec,
    string? Host,
    string? CpuSet,
    IReadOnlyList<int>? NumaNodes,
    string? Disk,
    string? Device,
    EndpointView? Endpoint,
    IReadOnlyList<StepView>? Steps,
    string RequestedBy,
    DateTimeOffset CreatedAt)
{
    public bool IsSettled => State is "Ready" or "Failed";
}

public sealed record InstanceSummary(string Id, string State, string Cluster, string Shard, string? Host);

public sealed record CredentialsView(string Host, int Port, string User, string Password)
{
    public override string ToString() => $"CredentialsView {{ Host = {Host}, Port = {Port}, User = {User}, Password = *** }}";
}

public sealed record InstanceTemplateBody(int Cpus, long MemoryMiB, long DiskGiB, long? SwapMiB, int? Swappiness, string? DiskClass, string? Numa);

public sealed record CreateClusterBody(string Name, string Pool, int Shards, int Replicas, SpreadSpec Spread, InstanceTemplateBody Template);

public sealed record ClusterMemberView(string Shard, string InstanceId, string Role, string? Host, string State);

public sealed record ClusterView(
    string Name, string State, string? Reason, string Pool, int Shards, int Replicas, SpreadSpec Spread, IReadOnlyList<ClusterMemberView> Members, DateTimeOffset CreatedAt)
{
    public bool IsSettled => State is "Ready" or "Failed";
}
