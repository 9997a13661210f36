using System.Globalization;
using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Disks;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Grains;

[GenerateSerializer, Alias("dbprov.HostGrainState")]
public sealed class HostGrainState
{
    [Id(0)] public HostState? Host { get; set; }
    [Id(1)] public HostLocation? Location { get; set; }
    [Id(2)] public List<DiskWatermark> Watermarks { get; set; } = [];
    [Id(3)] public Dictionary<string, string> DiskErrors { get; set; } = [];
    [Id(4)] public DateTimeOffset RegisteredAt { get; set; }
    /// <summary>The registration as asked, so that a repeat is recognised and a different one refused.</summary>
    [Id(5)] public RegisterHostRequest? Registration { get; set; }
    /// <summary>The heartbeat's last decision that changed the host's health (not every heartbeat: see HostGrain.Health.cs).</summary>
    [Id(6)] public HostHealth? Health { get; set; }
}

/// <summary>
/// The authority on one host's CPUs, memory, ports and disks. Every decision is a Domain function
/// of the state, persisted once, then announced to the pool's placement index.
/// </summary>
public sealed partial class HostGrain(
    [PersistentState("host")] IPersistentState<HostGrainState> state,
    IHostRuntimeFactory runtimes,
    IOptions<ProvisioningOptions> options,
    IOptions<HostHealthOptions> healthOptions,
    TimeProvider clock,
    ILogger<HostGrain> logger) : Grain, IHostGrain
{
    // Disks a worker is formatting right now; after a crash the set is empty and the work is redone.
    private readonly HashSet<string> _diskWorkInFlight = new(StringComparer.Ordinal);

    // What this activation last told the catalog (one-way, so a lost message is repaired by the next change).
    private HostSummary? _lastSummary;

    private string Id => this.GetPrimaryKeyString();

    // This host's catalog bucket, looked up once: every reservation tells it the new summary.
    private ICatalogGrain CatalogBucket => _catalog ??= GrainFactory.For(Id);
    private ICatalogGrain? _catalog;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Host is { } host)
        {
            var problems = HostReservations.Validate(host);
            if (problems.Count > 0)
            {
                // A state that contradicts itself must stop the grain loudly, never be served.
                throw new InvalidOperationException($"the stored state of host {Id} contradicts itself: {string.Join("; ", problems)}");
            }
            _health = state.State.Health ?? HostHealth.Initial;
            PushCapacity(host);
            ResumeImagePull(host);
        }
        return Task.CompletedTask;
    }

    public async Task<Outcome<HostView>> RegisterAsync(RegisterHostRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (state.State.Host is { } existing)
        {
            // Registering again is idempotent only for the very same registration; anything else would be silently ignored.
            var same = state.State.Registration is { } before
                ? System.Text.Json.JsonSerializer.Serialize(before) == System.Text.Json.JsonSerializer.Serialize(request)
                : existing.Pool == request.Pool && state.State.Location?.EngineEndpoint == request.EngineEndpoint;
            return same
                ? Outcome<HostView>.Success(Mapping.ToView(existing, state.State.Location!, state.State.DiskErrors, _health.LastSeen))
                : Outcome<HostView>.Fail(OutcomeKind.Conflict, $"host {Id} is already registered (pool {existing.Pool}, engine {state.State.Location?.EngineEndpoint}) with another configuration");
        }

        var location = new HostLocation(Id, request.EngineEndpoint!, request.MySqlAddress ?? "127.0.0.1", request.Zone!, request.Rack!, request.Pool!);
        var (image, imageError, engineAnswered) = await ImageAtRegistrationAsync(location, request.Topology is null);
        if (image is null) return Outcome<HostView>.Fail(OutcomeKind.Invalid, imageError!);
        HostTopology topology;
        HostSwapInfo swapFound;
        if (request.Topology is { } given)
        {
            // A host described instead of discovered has the swap its registration gives it.
            topology = Mapping.ToTopology(given);
            swapFound = new HostSwapInfo(request.SwapMiB ?? 0, true);
        }
        else
        {
            try
            {
                var runtime = RuntimeOf(location);
                topology = await runtime.DiscoverTopologyAsync(CancellationToken.None);
                swapFound = await runtime.DiscoverSwapAsync(CancellationToken.None);
            }
            catch (HostRuntimeException e)
            {
                return Outcome<HostView>.Invalid("engineEndpoint", $"cannot discover the topology and swap of host {Id} at {request.EngineEndpoint}: {e.Message}");
            }
        }
        var (swap, swapReason) = SwapAllowance.Decide(Id, swapFound.TotalMiB, request.SwapMiB, swapFound.EngineLimitsSwap);
        if (swap is null) return Outcome<HostView>.Invalid("swapMiB", swapReason);

        if (!CpuSet.TryParse(request.ReservedCpus ?? "", out var reserved, out var error))
            return Outcome<HostView>.Invalid("reservedCpus", error);
        var missing = reserved.Except(topology.AllCpus);
        if (!missing.IsEmpty)
            return Outcome<HostView>.Invalid("reservedCpus", $"CPU {missing.Min()} does not exist on host {Id} (it has {topology.AllCpus})");

        var disks = (request.Disks ?? []).Select(d => new Disk(Mapping.DiskIdOf(d), d.Device, d.SizeGiB, d.Class ?? "standard", DiskState.Discovered)).ToList();
        var duplicate = disks.GroupBy(static d => d.Id).FirstOrDefault(static g => g.Count() > 1);
        if (duplicate is not null) return Outcome<HostView>.Invalid("disks", $"disk {duplicate.Key} is listed twice");

        var ports = request.Ports!;
        var host = HostState.Create(Id, request.Pool!, request.Zone!, request.Rack!, topology, disks, new PortRange(ports.First, ports.Last), reserved)
            with { Labels = Mapping.ToLabels(request.Labels), Swap = swap, Image = image, Runtime = RuntimeCapabilities.KindOf(request.EngineEndpoint) };
        var watermarks = request.Watermarks is { Count: > 0 } w
            ? w.Select(static x => new DiskWatermark(x.Class, x.MinReady, x.MinSeeded)).ToList()
            : disks.GroupBy(static d => d.DiskClass).Select(g => new DiskWatermark(g.Key, g.Count(), Math.Min(g.Count(), options.Value.DefaultSeededDisks))).ToList();

        // Last check before the write: the engine's machine gives a device or a port to one host only.
        var claim = await GrainFactory.GetGrain<IEngineClaimsGrain>(EngineClaims.EngineKey(location.EngineEndpoint))
            .ClaimAsync(Id, [.. disks.Select(static d => d.DevicePath)], location.MySqlAddress, ports.First, ports.Last);
        if (!claim.Ok) return new Outcome<HostView>(null, claim.Error, claim.Kind, claim.Field);

        state.State.Host = host;
        state.State.Location = location;
        state.State.Watermarks = watermarks;
        state.State.RegisteredAt = clock.GetUtcNow();
        state.State.Registration = request;
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        logger.LogInformation("Host {HostId} registered in pool {Pool}: {Cpus} CPUs on {Nodes} NUMA nodes, {Disks} disks, {SwapMiB} of {SwapTotalMiB} MiB swap for instances",
            Id, host.Pool, topology.LogicalCpuCount, topology.Nodes.Count, disks.Count, swap.AllocatableMiB, swap.TotalMiB);

        _lastSummary = Mapping.ToSummary(host, _health.LastSeen);
        await CatalogBucket.UpsertHostAsync(_lastSummary);
        await PushGrownCapacityAsync(host);
        if (!image.IsPresent && engineAnswered) await AskForImagePullAsync();
        // Disk work only where the watermark asks for formatted disks: a host without any needs no worker.
        if (disks.Count > 0 && watermarks.Any(static w => w.MinReady > 0 || w.MinSeeded > 0))
            await GrainFactory.GetGrain<IDiskPoolGrain>(Id).KickAsync();
        return Outcome<HostView>.Success(Mapping.ToView(host, location, state.State.DiskErrors, _health.LastSeen));
    }

    public Task<HostView?> GetAsync() =>
        Task.FromResult(state.State.Host is { } host ? Mapping.ToView(Shown(host), state.State.Location!, state.State.DiskErrors, _health.LastSeen) : null);

    public Task<HostLocation?> GetLocationAsync() => Task.FromResult(state.State.Location);

    public Task<IReadOnlyList<Booking>> GetBookingsAsync() =>
        Task.FromResult(state.State.Host is { } host ? Booking.On(host) : (IReadOnlyList<Booking>)[]);

    public Task<HostCapacity?> GetCapacityAsync() =>
        Task.FromResult(state.State.Host is { } host ? HostCapacity.From(host) : null);

    public async Task<Outcome<HostView>> CordonAsync(bool cordoned)
    {
        if (state.State.Host is not { } host) return Outcome<HostView>.Fail(OutcomeKind.NotFound, $"host {Id} is not registered");
        if (host.Cordoned != cordoned)
        {
            host = host with { Cordoned = cordoned };
            state.State.Host = host;
            await state.WriteOrReloadAsync(DeactivateOnIdle);
            _lastSummary = Mapping.ToSummary(host, _health.LastSeen);
            await CatalogBucket.UpsertHostAsync(_lastSummary);
            if (cordoned) PushCapacity(host);
            else await PushGrownCapacityAsync(host);
        }
        return Outcome<HostView>.Success(Mapping.ToView(host, state.State.Location!, state.State.DiskErrors, _health.LastSeen));
    }

    public Task<ReserveOutcome> ReserveAsync(InstanceRequest request) => ReserveAssumedAsync(request, null);

    public async Task<ReserveOutcome> ReserveAssumedAsync(InstanceRequest request, HostCapacity? indexAssumed)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (state.State.Host is not { } host) return new(null, $"host {Id} is not registered");
        var already = host.PortsByInstance.ContainsKey(request.InstanceId);
        var result = HostReservations.Reserve(host, request);
        if (!result.Succeeded)
        {
            // The index chose this host on a stale or assumed summary: it holds the truth before the refusal is answered,
            // so the requester's next attempt is not refused on the index's own assumption of this very request.
            logger.LogInformation("Host {HostId} refused instance {InstanceId}: {Reason}", Id, request.InstanceId, result.Reason);
            await PushGrownCapacityAsync(host);
            return new(null, result.Reason);
        }
        if (!already)
        {
            state.State.Host = result.State;
            await state.WriteOrReloadAsync(DeactivateOnIdle);
            PushCapacity(result.State, indexAssumed);
        }
        return new(result.Reservation, "", state.State.Location);
    }

    public async Task ReleaseAsync(string instanceId)
    {
        if (state.State.Host is not { } host) return;
        var holds = host.PortsByInstance.ContainsKey(instanceId) || host.Cpu.Assignments.ContainsKey(instanceId) || host.Disks.ClaimedBy(instanceId) is not null
            || host.Swap.HeldBy(instanceId) > 0;
        if (!holds) return;
        var next = HostReservations.Release(host, instanceId);
        state.State.Host = next;
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        await PushGrownCapacityAsync(next);
        await GrainFactory.GetGrain<IDiskPoolGrain>(Id).KickAsync();
    }

    public async Task<IReadOnlyList<DiskJob>> TakeDiskWorkAsync()
    {
        // Helpers that format and seed run in the MySQL image: no disk work before the engine holds it.
        if (state.State.Host is not { } host || !host.Image.IsPresent) return [];
        var taken = DiskJobs.Take(host.Disks, state.State.Watermarks, _diskWorkInFlight);
        if (!ReferenceEquals(taken.Pool, host.Disks))
        {
            state.State.Host = host with { Disks = taken.Pool };
            await state.WriteOrReloadAsync(DeactivateOnIdle);
            PushCapacity(state.State.Host);
        }
        foreach (var job in taken.Jobs) _diskWorkInFlight.Add(job.DiskId);
        return taken.Jobs;
    }

    public async Task CompleteDiskWorkAsync(string diskId, bool succeeded, bool seeded, string? error)
    {
        _diskWorkInFlight.Remove(diskId);
        if (state.State.Host is not { } host) return;
        var result = succeeded
            ? host.Disks.Transition(diskId, DiskState.Ready, seeded)
            : host.Disks.Transition(diskId, DiskState.Faulty);
        if (!result.Succeeded)
        {
            logger.LogWarning("Host {HostId}: disk work on {DiskId} finished but {Reason}", Id, diskId, result.Reason);
            return;
        }
        if (succeeded) state.State.DiskErrors.Remove(diskId);
        else
        {
            state.State.DiskErrors[diskId] = error ?? "failed";
            logger.LogError("Host {HostId}: disk {DiskId} is Faulty: {Error}", Id, diskId, error);
        }
        state.State.Host = host with { Disks = result.Pool };
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        if (succeeded) await PushGrownCapacityAsync(state.State.Host);
        else PushCapacity(state.State.Host);
    }

    public Task ReturnDiskWorkAsync(IReadOnlyList<string> diskIds)
    {
        foreach (var id in diskIds) _diskWorkInFlight.Remove(id);
        return Task.CompletedTask;
    }

    /// <summary>Capacity that shrank or did not change: told one-way (a stale "more" costs the host's refusal and a retry, never an over-commit).</summary>
    /// <param name="indexAssumed">What the index already holds for this host: nothing is sent to it when that is the capacity.</param>
    private void PushCapacity(HostState host, HostCapacity? indexAssumed = null)
    {
        var capacity = HostCapacity.From(host);
        if (indexAssumed is null || !CapacityCompare.Same(capacity, indexAssumed))
            GrainFactory.Get<IPlacementGrain>(host.Pool).UpdateAsync(capacity).Ignore();
        PushSummary(host, capacity);
    }

    /// <summary>
    /// Capacity that grew (a disk Ready, a release, a new, uncordoned or recovered host), or the truth after a refusal: the
    /// index has it before this call answers, so a request made after the host showed it is not refused on a stale index.
    /// </summary>
    private async Task PushGrownCapacityAsync(HostState host)
    {
        var capacity = HostCapacity.From(host);
        await GrainFactory.Get<IPlacementGrain>(host.Pool).RefreshAsync(capacity);
        PushSummary(host, capacity);
    }

    private void PushSummary(HostState host, HostCapacity capacity)
    {
        // The catalog keeps only a summary: tell it only when the summary changed.
        var summary = Mapping.ToSummary(host, capacity, _health.LastSeen);
        if (summary == _lastSummary) return;
        _lastSummary = summary;
        CatalogBucket.UpsertHostAsync(summary).Ignore();
    }

    private IHostRuntime RuntimeOf(HostLocation location) =>
        runtimes.For(location, options.Value.Image);

    internal static string Describe(CpuSet cpus) => cpus.ToString().ToString(CultureInfo.InvariantCulture);
}
