using Orleans;

namespace DbProvisioner.Api;

// API v1 hosts: registration, views, listing and reconciliation (DESIGN.md "Public API v1").

[Immutable, Alias("dbprov.PortRangeSpec")]
public sealed record PortRangeSpec(int First, int Last);

[Immutable, Alias("dbprov.DiskSpec")]
public sealed record DiskSpec(
    string Device,
    long SizeGiB,
    string? Class = null,
    string? Id = null);

/// <summary>A topology given instead of discovered: simulated hosts, and hosts whose sysfs cannot be read.</summary>
[Immutable, Alias("dbprov.TopologySpec")]
public sealed record TopologySpec(
    int NumaNodes,
    int CoresPerNode,
    int ThreadsPerCore,
    long MemoryMiBPerNode);

[Immutable, Alias("dbprov.WatermarkSpec")]
public sealed record WatermarkSpec(string Class, int MinReady, int MinSeeded);

[Immutable, Alias("dbprov.RegisterHostRequest")]
public sealed record RegisterHostRequest(
    string? Id,
    string? EngineEndpoint,
    string? Zone,
    string? Rack,
    string? Pool,
    IReadOnlyList<DiskSpec>? Disks,
    string? ReservedCpus,
    PortRangeSpec? Ports,
    string? MySqlAddress = null,
    IReadOnlyDictionary<string, string>? Labels = null,
    TopologySpec? Topology = null,
    IReadOnlyList<WatermarkSpec>? Watermarks = null,
    long? SwapMiB = null);

[GenerateSerializer, Immutable, Alias("dbprov.CoreView")]
public sealed record CoreView(int Core, string Cpus, string? Instance, bool Reserved);

[GenerateSerializer, Immutable, Alias("dbprov.NumaNodeView")]
public sealed record NumaNodeView(
    int Id,
    long MemoryMiB,
    long FreeMemoryMiB,
    IReadOnlyList<CoreView> Cores);

/// <summary>One disk of a host; <see cref="Error"/> says why a Faulty disk is Faulty (e.g. not a disk-pool device).</summary>
[GenerateSerializer, Immutable, Alias("dbprov.DiskView")]
public sealed record DiskView(
    string Id,
    string Device,
    long SizeGiB,
    string Class,
    string State,
    bool Seeded,
    string? ClaimedBy,
    string? Error = null);

[GenerateSerializer, Immutable, Alias("dbprov.HostInstanceView")]
public sealed record HostInstanceView(string Id, string Cpus, int Port, long MemoryMiB, long SwapMiB = 0);

/// <summary>A host's swap: what the machine has, what instances may use (the allowance), what they hold and what is free of it.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.HostSwapView")]
public sealed record HostSwapView(long TotalMiB, long AllocatableMiB, long UsedMiB, long FreeMiB);

/// <summary>A host; <see cref="LastSeen"/> is when its engine last answered a heartbeat, <see cref="Reason"/> why it is unhealthy (null while healthy), <see cref="Image"/> whether its engine holds the MySQL image.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.HostView")]
public sealed record HostView(
    string Id,
    string Pool,
    string Zone,
    string Rack,
    string EngineEndpoint,
    bool Cordoned,
    bool Healthy,
    string ReservedCpus,
    PortRangeSpec Ports,
    IReadOnlyList<NumaNodeView> NumaNodes,
    IReadOnlyList<DiskView> Disks,
    IReadOnlyList<HostInstanceView> Instances,
    int FreeCores,
    IReadOnlyDictionary<string, string> Labels,
    HostSwapView? Swap = null,
    DateTimeOffset? LastSeen = null,
    string? Reason = null,
    HostImageView? Image = null);

/// <summary>A host in the list; health as in <see cref="HostView"/>.</summary>
[Immutable, Alias("dbprov.HostSummary")]
public sealed record HostSummary(
    string Id,
    string Pool,
    string Zone,
    string Rack,
    bool Cordoned,
    int FreeCores,
    int TotalCores,
    int ReadyDisks,
    bool Healthy = true,
    DateTimeOffset? LastSeen = null,
    string? Reason = null,
    HostImageView? Image = null);

/// <summary>What reconciliation found on a host and did about it.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.ReconciliationView")]
public sealed record ReconciliationView(
    string HostId,
    DateTimeOffset At,
    IReadOnlyList<string> Orphans,
    IReadOnlyList<string> OrphansRemoved,
    IReadOnlyList<string> Vanished,
    IReadOnlyList<string> Returned,
    IReadOnlyList<string> StaleHelpersRemoved,
    string? Error,
    IReadOnlyList<string>? ReservationsReleased = null);

/// <summary>Body of <c>POST /hosts/{id}/cordon</c>; an empty body cordons.</summary>
public sealed record CordonRequest(bool? Cordoned = null);

/// <summary>Whether a host's engine holds the MySQL image its instances and helpers run; members are only ever added at the end.</summary>
[GenerateSerializer, System.Text.Json.Serialization.JsonConverter(typeof(DeclaredNames<ImageState>))]
public enum ImageState
{
    /// <summary>The engine holds the image: the host takes instances.</summary>
    Present,
    /// <summary>The engine is pulling it from the appliance's registry; placement skips the host until it is Present.</summary>
    Pulling,
    /// <summary>The last pull failed (<see cref="HostImageView.Error"/> says why); it is retried with backoff.</summary>
    Failed,
}

/// <summary>A host's MySQL image: its state, the pull's progress (bytes of the layers the engine reported so far), the engine's error, and when it was last stored.</summary>
[Immutable, Alias("dbprov.HostImageView")]
public sealed record HostImageView(
    ImageState State,
    int? Percent,
    long BytesDone,
    long BytesTotal,
    string? Error = null,
    DateTimeOffset? At = null);
