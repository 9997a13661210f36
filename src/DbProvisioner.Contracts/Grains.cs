using DbProvisioner.Api;
using DbProvisioner.Domain.Disks;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;

namespace DbProvisioner.Contracts;

/// <summary>
/// One host (key: host id): the authority on its CPUs, memory, ports and disks. A reservation of
/// CPUs, memory, a disk and a port is one Domain decision and one write, so it is all-or-nothing.
/// </summary>
[Alias("dbprov.IHostGrain")]
public interface IHostGrain : IGrainWithStringKey
{
    [Alias("Register")] Task<Outcome<HostView>> RegisterAsync(RegisterHostRequest request);
    [Alias("Get")] Task<HostView?> GetAsync();
    [Alias("Cordon")] Task<Outcome<HostView>> CordonAsync(bool cordoned);
    /// <summary>Interleaves: a placement index being rebuilt asks every host, including one awaiting that index.</summary>
    [Alias("Capacity"), Orleans.Concurrency.AlwaysInterleave] Task<HostCapacity?> GetCapacityAsync();
    /// <summary>Reserves for the instance, all or nothing; idempotent: asked again, it answers the reservation the instance holds.</summary>
    [Alias("Reserve")] Task<ReserveOutcome> ReserveAsync(InstanceRequest request);
    /// <summary>
    /// <see cref="ReserveAsync"/> for a host the pool's index chose: <paramref name="indexAssumed"/> is what the index now
    /// holds for this host (<see cref="HostCapacity.Assume"/>), so the host tells the index only when its capacity differs.
    /// </summary>
    [Alias("ReserveAssumed")] Task<ReserveOutcome> ReserveAssumedAsync(InstanceRequest request, HostCapacity? indexAssumed);
    [Alias("Release")] Task ReleaseAsync(string instanceId);
    [Alias("TakeDiskWork")] Task<IReadOnlyList<DiskJob>> TakeDiskWorkAsync();
    [Alias("CompleteDiskWork")] Task CompleteDiskWorkAsync(string diskId, bool succeeded, bool seeded, string? error);
    /// <summary>Gives back jobs taken but not run (the round stopped early), so the next round offers them again.</summary>
    [Alias("ReturnDiskWork")] Task ReturnDiskWorkAsync(IReadOnlyList<string> diskIds);
    [Alias("Location")] Task<HostLocation?> GetLocationAsync();

    /// <summary>
    /// The heartbeat's I/O: pings the engine, checks the topology and (when asked) the pool's disks. Reads only,
    /// so it interleaves: a slow or dead engine never holds up reservations. <see cref="HostHealthCalls.HeartbeatAsync"/> runs both halves.
    /// </summary>
    [Alias("Probe"), Orleans.Concurrency.AlwaysInterleave] Task<HostProbe?> ProbeAsync(bool checkDisks);

    /// <summary>The heartbeat's decision on a probe: stored and told to placement only when the host's health changed.</summary>
    [Alias("RecordProbe")] Task<HostHealth?> RecordProbeAsync(HostProbe probe);

    /// <summary>What the host holds for each instance (CPUs, memory nodes, memory, swap, disk), for an inspection.</summary>
    [Alias("Bookings")] Task<IReadOnlyList<Booking>> GetBookingsAsync();

    /// <summary>An image pull begins: the host's engine, or null when it needs none (its image is Present).</summary>
    [Alias("StartImagePull")] Task<HostLocation?> StartImagePullAsync();

    /// <summary>Bytes the engine pulled so far; stored at most every few seconds (HostImagePulls.ProgressInterval).</summary>
    [Alias("ImagePullProgress")] Task RecordImagePullProgressAsync(long bytesDone, long bytesTotal);

    /// <summary>The pull ended: Present (<paramref name="error"/> null) or Failed with the engine's reason; answers the stored image.</summary>
    [Alias("ImagePullEnd")] Task<HostImage?> RecordImagePullEndAsync(string? error);
}

/// <summary>
/// The image pull of one host (key: host id): a stateless worker that pulls the MySQL image onto the host's engine and
/// reports to the host grain, which holds the image's state; a failed pull is retried with backoff.
/// </summary>
[Alias("dbprov.IImagePullGrain")]
public interface IImagePullGrain : IGrainWithStringKey
{
    /// <summary>Starts a pull in the background when the host needs one (no-op while one runs).</summary>
    [Alias("Kick"), Orleans.Concurrency.OneWay] Task KickAsync();

    /// <summary>Pulls now (or joins the running pull) and answers how it ended; null when the host needed none.</summary>
    [Alias("Pull")] Task<HostImage?> PullAsync();
}

/// <summary>One heartbeat of a host: its probe, then the decision on it (null for a host not registered).</summary>
public static class HostHealthCalls
{
    public static async Task<HostHealth?> HeartbeatAsync(this IHostGrain host, bool checkDisks = false)
    {
        ArgumentNullException.ThrowIfNull(host);
        var probe = await host.ProbeAsync(checkDisks).ConfigureAwait(false);
        return probe is null ? null : await host.RecordProbeAsync(probe).ConfigureAwait(false);
    }
}

[GenerateSerializer, Immutable, Alias("dbprov.ReserveOutcome")]
public sealed record ReserveOutcome([property: Id(0)] HostReservation? Reservation, [property: Id(1)] string Reason, [property: Id(2)] HostLocation? Location = null);

/// <summary>How the appliance reaches a host, for the runtime driver.</summary>
[GenerateSerializer, Immutable, Alias("dbprov.HostLocation")]
public sealed record HostLocation(
    [property: Id(0)] string HostId,
    [property: Id(1)] string EngineEndpoint,
    [property: Id(2)] string MySqlAddress,
    [property: Id(3)] string Zone,
    [property: Id(4)] string Rack,
    [property: Id(5)] string Pool);

/// <summary>
/// The background disk work of one host (key: host id): keeps the watermark of Ready (formatted,
/// seeded) disks and wipes released ones, through the runtime driver, one disk at a time.
/// </summary>
[Alias("dbprov.IDiskPoolGrain")]
public interface IDiskPoolGrain : IGrainWithStringKey
{
    /// <summary>Starts a round of work in the background (no-op while one runs).</summary>
    [Alias("Kick"), Orleans.Concurrency.OneWay] Task KickAsync();

    /// <summary>Runs rounds until no work is left; for start-up and tests.</summary>
    [Alias("Drain")] Task<int> RunUntilIdleAsync();
}

/// <summary>The placement index of one pool (key: pool): advisory capacity of every host, pushed by host grains.</summary>
[Alias("dbprov.IPlacementGrain")]
public interface IPlacementGrain : IGrainWithStringKey
{
    [Alias("Update"), Orleans.Concurrency.OneWay] Task UpdateAsync(HostCapacity capacity);

    /// <summary>The same as <see cref="UpdateAsync"/>, answered once applied: for capacity that grew, so that a request
    /// made after the host showed it (a disk Ready, a release, a new host) is never refused on a stale index.</summary>
    [Alias("Refresh")] Task RefreshAsync(HostCapacity capacity);
    [Alias("Forget")] Task ForgetAsync(string hostId);
    /// <summary>The decision, and what the index assumed of the chosen host after it (for the host to compare with).</summary>
    [Alias("PlaceAssuming")] Task<IndexedPlacement> PlaceAsync(PlacementRequest request);
    [Alias("PlaceCluster")] Task<ClusterPlacementResult> PlaceClusterAsync(ClusterRequest request);
    [Alias("Snapshot")] Task<IReadOnlyList<HostCapacity>> SnapshotAsync();

    /// <summary>The pool has at least one registered host (the API's check that a requested pool exists).</summary>
    [Alias("HasHosts")] Task<bool> HasHostsAsync();
}

/// <summary>A placement decision and the chosen host's capacity as the index holds it after assuming the request (null when not placed).</summary>
[GenerateSerializer, Immutable, Alias("dbprov.IndexedPlacement")]
public sealed record IndexedPlacement([property: Id(0)] PlacementDecision Decision, [property: Id(1)] HostCapacity? Assumed);

/// <summary>Pools as the API sees them: a pool exists once a host is registered in it (hosts are never taken out of their pool).</summary>
public static class Pools
{
    /// <summary>Asks the pool's placement index, one call, instead of listing every host of the catalog.</summary>
    public static Task<bool> PoolExistsAsync(this IGrainFactory grains, string pool)
    {
        ArgumentNullException.ThrowIfNull(grains);
        return grains.GetGrain<IPlacementGrain>(pool).HasHostsAsync();
    }
}

/// <summary>One shard of a cluster (key: "cluster/shard"): placements for it are serialised here, so a hard spread rule holds.</summary>
[Alias("dbprov.IShardGrain")]
public interface IShardGrain : IGrainWithStringKey
{
    /// <summary>Places a member on the best host the pool's index offers that keeps the spread rule, and reserves it there.</summary>
    [Alias("PlaceMember")] Task<ReserveOutcome> PlaceMemberAsync(string instanceId, InstanceSpec spec, InstanceRequest request);

    /// <summary>Reserves a member of a cluster on the host the cluster's plan chose, if the shard's spread rule still allows it there.</summary>
    [Alias("ReservePlanned")] Task<ReserveOutcome> ReservePlannedMemberAsync(InstanceSpec spec, InstanceRequest request, MemberLocation planned);

    /// <summary>Gives back a member's reservation (on its planned host too, which may hold it unrecorded after a crash) and forgets it.</summary>
    [Alias("ReleaseMember")] Task ReleaseMemberAsync(string instanceId, string plannedHostId);

    /// <summary>Reserves the replacement of <paramref name="replacing"/> on the planned host if the spread rule allows it there once the replaced member is gone.</summary>
    [Alias("ReserveReplacement")] Task<ReserveOutcome> ReserveReplacementAsync(InstanceSpec spec, InstanceRequest request, MemberLocation planned, string replacing);

    [Alias("RemoveMember")] Task RemoveMemberAsync(string instanceId);
    [Alias("Members")] Task<IReadOnlyList<MemberLocation>> GetMembersAsync();
    [Alias("View")] Task<ShardView> GetViewAsync();
}

/// <summary>One instance (key: instance id): the provisioning state machine.</summary>
[Alias("dbprov.IInstanceGrain")]
public interface IInstanceGrain : IGrainWithStringKey
{
    /// <summary>Records the request and starts provisioning in the background. Idempotent for the same spec.</summary>
    [Alias("Provision")] Task<Outcome<InstanceView>> ProvisionAsync(InstanceSpec spec, string requestedBy);

    /// <summary>As <see cref="ProvisionAsync"/>, for a member whose host the cluster placement already reserved.</summary>
    [Alias("ProvisionPlaced")] Task<Outcome<InstanceView>> ProvisionPlacedAsync(InstanceSpec spec, string requestedBy, HostReservation reservation, HostLocation host);

    [Alias("Get"), Orleans.Concurrency.AlwaysInterleave] Task<InstanceView?> GetAsync();
    [Alias("Credentials"), Orleans.Concurrency.AlwaysInterleave] Task<CredentialsView?> GetCredentialsAsync();

    /// <summary>Continues an unfinished provisioning after a restart; no-op when finished.</summary>
    [Alias("Resume")] Task ResumeAsync();

    /// <summary>
    /// Starts the approved removal: drain, remove the container, free CPUs, memory and port, wipe
    /// and re-format the disk, Removed. Refused when the instance changed since <paramref name="boundVersion"/>.
    /// Idempotent for the same scale-down request.
    /// </summary>
    [Alias("Remove")] Task<Outcome<InstanceView>> RemoveAsync(string scaleDownId, long boundVersion, string approvedBy);

    /// <summary>Reconciliation's finding: the instance's container vanished (or came back).</summary>
    [Alias("MarkContainer")] Task MarkContainerAsync(bool missing);

    /// <summary>Asks the instance's MySQL for its connections and replication lag.</summary>
    [Alias("Probe"), Orleans.Concurrency.AlwaysInterleave] Task<InstanceProbe> ProbeAsync();

    /// <summary>Waits until the instance is Ready or Failed (or the timeout passes) and returns it.</summary>
    [Alias("WaitSettled"), Orleans.Concurrency.AlwaysInterleave] Task<InstanceView?> WaitSettledAsync(TimeSpan timeout);
}

/// <summary>
/// Reconciliation of one host (key: host id): what the grains believe against what the engine
/// reports by label. Orphans are reported (removed only when asked), vanished containers marked on
/// their instance, helpers left by a crash removed.
/// </summary>
[Alias("dbprov.IReconcilerGrain")]
public interface IReconcilerGrain : IGrainWithStringKey
{
    [Alias("Reconcile")] Task<ReconciliationView> ReconcileAsync(bool removeOrphans, DateTimeOffset staleHelpersBefore);
    [Alias("Last")] Task<ReconciliationView?> GetLastAsync();
}

/// <summary>A whole cluster (key: name), placed all together or not at all.</summary>
[Alias("dbprov.IClusterGrain")]
public interface IClusterGrain : IGrainWithStringKey
{
    [Alias("Create")] Task<Outcome<ClusterView>> CreateAsync(CreateClusterRequest request, InstanceSpec template, string requestedBy);
    [Alias("Get")] Task<ClusterView?> GetAsync();

    /// <summary>Plans a shrink to fewer replicas per shard: one scale-down request per member to remove, chosen so spread stays best.</summary>
    [Alias("Shrink")] Task<Outcome<IReadOnlyList<ScaleDownView>>> ShrinkAsync(int replicas, string requestedBy);

    /// <summary>After a crash: a cluster whose members were reserved hands every member not yet handed over to its instance.</summary>
    [Alias("Resume")] Task ResumeAsync();
}

/// <summary>
/// One bucket (key: 0 … <see cref="Catalog.Buckets"/>-1) of the list of hosts, instances, clusters and
/// scale-down requests, for listings and start-up. Entries are spread over buckets by id so that no
/// single grain state grows with the fleet; use <see cref="Catalog"/> rather than a bucket directly.
/// </summary>
[Alias("dbprov.ICatalogGrain")]
public interface ICatalogGrain : IGrainWithIntegerKey
{
    [Alias("UpsertHost"), Orleans.Concurrency.OneWay] Task UpsertHostAsync(HostSummary host);
    [Alias("UpsertInstance")] Task UpsertInstanceAsync(InstanceSummary instance);
    [Alias("AddCluster")] Task AddClusterAsync(string name);
    [Alias("UpsertScaleDown")] Task UpsertScaleDownAsync(ScaleDownSummary request);
    [Alias("Hosts")] Task<IReadOnlyList<HostSummary>> GetHostsAsync();
    [Alias("Instances")] Task<IReadOnlyList<InstanceSummary>> GetInstancesAsync();
    [Alias("Clusters")] Task<IReadOnlyList<string>> GetClustersAsync();
    [Alias("ScaleDowns")] Task<IReadOnlyList<ScaleDownSummary>> GetScaleDownsAsync();
}

/// <summary>The catalog as a whole: which bucket holds an id, and listings over every bucket.</summary>
public static class Catalog
{
    public const int Buckets = 64;

    /// <summary>A stable bucket for an id (FNV-1a: string.GetHashCode differs between processes).</summary>
    public static int BucketOf(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var hash = 2166136261u;
        foreach (var ch in id) hash = (hash ^ ch) * 16777619u;
        return (int)(hash % Buckets);
    }

    public static ICatalogGrain For(this IGrainFactory grains, string id) => grains.GetGrain<ICatalogGrain>(BucketOf(id));

    public static Task<IReadOnlyList<HostSummary>> ListHostsAsync(this IGrainFactory grains) =>
        GatherAsync(grains, static c => c.GetHostsAsync(), static h => h.Id);

    public static Task<IReadOnlyList<InstanceSummary>> ListInstancesAsync(this IGrainFactory grains) =>
        GatherAsync(grains, static c => c.GetInstancesAsync(), static i => i.Id);

    public static Task<IReadOnlyList<string>> ListClustersAsync(this IGrainFactory grains) =>
        GatherAsync(grains, static c => c.GetClustersAsync(), static n => n);

    public static Task<IReadOnlyList<ScaleDownSummary>> ListScaleDownsAsync(this IGrainFactory grains) =>
        GatherAsync(grains, static c => c.GetScaleDownsAsync(), static r => r.Id);

    private static async Task<IReadOnlyList<T>> GatherAsync<T>(IGrainFactory grains, Func<ICatalogGrain, Task<IReadOnlyList<T>>> list, Func<T, string> id)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var parts = await Task.WhenAll(Enumerable.Range(0, Buckets).Select(b => list(grains.GetGrain<ICatalogGrain>(b))));
        return [.. parts.SelectMany(static p => p).OrderBy(id, StringComparer.Ordinal)];
    }
}
