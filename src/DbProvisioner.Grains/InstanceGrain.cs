using System.Diagnostics;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Config;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using DbProvisioner.Api;

namespace DbProvisioner.Grains;

[GenerateSerializer, Alias("dbprov.InstanceGrainState")]
public sealed class InstanceGrainState
{
    [Id(0)] public InstanceSpec? Spec { get; set; }
    [Id(1)] public string State { get; set; } = "";
    [Id(2)] public string? Reason { get; set; }
    [Id(3)] public HostReservation? Reservation { get; set; }
    [Id(4)] public HostLocation? Host { get; set; }
    [Id(5)] public string? ProtectedRootPassword { get; set; }
    [Id(6)] public List<StepView> Steps { get; set; } = [];
    [Id(7)] public long Version { get; set; }
    [Id(8)] public string RequestedBy { get; set; } = "";
    [Id(9)] public DateTimeOffset CreatedAt { get; set; }
    /// <summary>For a Failed instance: every reservation has been given back.</summary>
    [Id(10)] public bool Released { get; set; }
    /// <summary>The approved scale-down request removing this instance, and who approved it.</summary>
    [Id(11)] public string? RemovalRequestId { get; set; }
    [Id(12)] public string? RemovalApprovedBy { get; set; }
    /// <summary>Reconciliation found no container for this instance on its host.</summary>
    [Id(13)] public bool ContainerMissing { get; set; }
    /// <summary>Audit rows stored with the change they record and not yet in the audit trail.</summary>
    [Id(14)] public List<PendingAudit> Outbox { get; set; } = [];
}

/// <summary>
/// One instance's provisioning, as a persisted state machine: Requested → Placed → DiskAttached →
/// ContainerStarted → Ready, or Failed with every reservation given back. Each step is idempotent
/// and recorded before the next, so after a crash the instance resumes from its last recorded step. What it serves is
/// what it last stored: a write the meta database did not take is never shown, and the step is tried again once the
/// database answers (see InstanceGrain.Storage.cs).
/// </summary>
public sealed partial class InstanceGrain(
    [PersistentState("instance")] IPersistentState<InstanceGrainState> state,
    IHostRuntimeFactory runtimes,
    IMySqlAdmin mysql,
    ICredentialProtector protector,
    IAuditSink audit,
    IProvisioningObserver observer,
    IOptions<ProvisioningOptions> options,
    TimeProvider clock,
    ILogger<InstanceGrain> logger) : Grain, IInstanceGrain
{
    private static readonly TimeSpan ReleaseRetryDelay = TimeSpan.FromSeconds(5);
    private const int ReleaseAttempts = 6;

    private Task? _loop;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string Id => this.GetPrimaryKeyString();
    private InstanceGrainState S => state.State;
    private bool Unfinished => IsUnfinished(S.State, S.Released);
    private static bool IsUnfinished(string state, bool released) =>
        state.Length > 0 && (!InstanceStates.IsTerminal(state) || (state == InstanceStates.Failed && !released));
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(500);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        MarkStored();
        // After a restart the state machine goes on from its last recorded step; audit rows and the catalog entry a
        // crash kept from being written are written now.
        if (Unfinished)
            this.RegisterGrainTimer(_ => { StartLoop(); return Task.CompletedTask; }, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        if (S.State.Length > 0) ScheduleAfterStored();
        return Task.CompletedTask;
    }

    public async Task<Outcome<InstanceView>> ProvisionAsync(InstanceSpec spec, string requestedBy)
    {
        ArgumentNullException.ThrowIfNull(spec);
        await EnsureStoredAsync();
        if (S.State.Length > 0) return Existing(spec);
        Begin(spec, requestedBy);
        await PersistAsync(Audited(InstanceStates.Requested, "ok", null, 0));
        StartLoop();
        return Outcome<InstanceView>.Success(_stored!);
    }

    public async Task<Outcome<InstanceView>> ProvisionPlacedAsync(InstanceSpec spec, string requestedBy, HostReservation reservation)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(reservation);
        await EnsureStoredAsync();
        if (S.State.Length > 0) return Existing(spec);
        var location = await GrainFactory.GetGrain<IHostGrain>(reservation.HostId).GetLocationAsync();
        Begin(spec, requestedBy);
        S.Reservation = reservation;
        S.Host = location;
        S.State = InstanceStates.Placed;
        const string outcome = "placed with its cluster";
        S.Steps.Add(new StepView(InstanceStates.Placed, clock.GetUtcNow(), 0, outcome));
        await PersistAsync(Audited(InstanceStates.Placed, "ok", outcome, 0), before: Audited(InstanceStates.Requested, "ok", null, 0));
        StartLoop();
        return Outcome<InstanceView>.Success(_stored!);
    }

    /// <summary>The instance as last stored, never a change the meta database has not taken.</summary>
    public Task<InstanceView?> GetAsync() => Task.FromResult(_stored);

    public Task<CredentialsView?> GetCredentialsAsync()
    {
        if (_stored?.State != InstanceStates.Ready || S.ProtectedRootPassword is null || S.Host is null || S.Reservation is null)
            return Task.FromResult<CredentialsView?>(null);
        return Task.FromResult<CredentialsView?>(new CredentialsView(S.Host.MySqlAddress, S.Reservation.Port, InstanceCredentials.RootUser,
            protector.Unprotect(S.ProtectedRootPassword)));
    }

    public async Task<Outcome<InstanceView>> RemoveAsync(string scaleDownId, long boundVersion, string approvedBy)
    {
        await EnsureStoredAsync();
        if (S.State.Length == 0) return Outcome<InstanceView>.Fail(OutcomeKind.NotFound, $"instance {Id} does not exist");
        if (S.RemovalRequestId == scaleDownId) return Outcome<InstanceView>.Success(_stored!); // a replay changes nothing
        if (S.RemovalRequestId is not null || S.State == RemovalStates.Removed)
            return Outcome<InstanceView>.Fail(OutcomeKind.Conflict, $"instance {Id} is already being removed by request {S.RemovalRequestId}");
        if (S.Version != boundVersion)
        {
            return Outcome<InstanceView>.Fail(OutcomeKind.Conflict,
                $"instance {Id} changed since the request was planned (version {boundVersion}, now {S.Version}): plan the removal again");
        }
        if (S.State != InstanceStates.Ready && !(S.State == InstanceStates.Failed && S.Released))
            return Outcome<InstanceView>.Fail(OutcomeKind.Conflict, $"instance {Id} is {S.State}: only a Ready or Failed instance can be removed");

        S.RemovalRequestId = scaleDownId;
        S.RemovalApprovedBy = approvedBy;
        S.State = RemovalStates.Draining;
        S.Steps.Add(new StepView(RemovalStates.Draining, clock.GetUtcNow(), 0, $"approved by {approvedBy}"));
        await PersistAsync(Audited(RemovalStates.Draining, "started", null, 0));
        StartLoop();
        return Outcome<InstanceView>.Success(_stored!);
    }

    public async Task MarkContainerAsync(bool missing)
    {
        await EnsureStoredAsync();
        if (S.State.Length == 0 || S.ContainerMissing == missing) return;
        S.ContainerMissing = missing;
        // A finding, not a change of the instance: the version stays, so the row is keyed by the finding.
        await PersistAsync(Audited(missing ? "ContainerMissing" : "ContainerReturned", "found",
            missing ? "the container is gone from its host" : "the container is back", 0), bumpVersion: false);
        logger.LogWarning("Instance {InstanceId}: container {Finding}", Id, missing ? "vanished" : "returned");
    }

    public async Task<InstanceProbe> ProbeAsync()
    {
        if (S.State != InstanceStates.Ready || S.Host is null || S.Reservation is null) return new InstanceProbe(false, 0, null, $"instance is {S.State}");
        try
        {
            var status = await mysql.GetStatusAsync(S.Host.MySqlAddress, S.Reservation.Port, Credentials(), CancellationToken.None);
            return new InstanceProbe(true, status.OpenClientConnections, status.ReplicationLagSeconds, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new InstanceProbe(false, 0, null, e.Message);
        }
    }

    public Task ResumeAsync()
    {
        if (Unfinished) StartLoop();
        return Task.CompletedTask;
    }

    public async Task<InstanceView?> WaitSettledAsync(TimeSpan timeout)
    {
        var deadline = clock.GetUtcNow() + timeout;
        while (_stored is { } stored && IsUnfinished(stored.State, S.Released))
        {
            var left = deadline - clock.GetUtcNow();
            if (left <= TimeSpan.Zero) break;
            var changed = _changed.Task;
            await Task.WhenAny(changed, Task.Delay(left, clock));
        }
        return _stored;
    }

    private Outcome<InstanceView> Existing(InstanceSpec spec) =>
        S.Spec == spec
            ? Outcome<InstanceView>.Success(_stored!)
            : Outcome<InstanceView>.Fail(OutcomeKind.Conflict, $"instance {Id} already exists with another specification");

    private void Begin(InstanceSpec spec, string requestedBy)
    {
        S.Spec = spec;
        S.RequestedBy = requestedBy;
        S.CreatedAt = clock.GetUtcNow();
        S.ProtectedRootPassword = protector.Protect(PasswordGenerator.Generate());
        S.State = InstanceStates.Requested;
        S.Steps.Add(new StepView(InstanceStates.Requested, S.CreatedAt, 0, "ok"));
    }

    private void StartLoop()
    {
        if (_loop is { IsCompleted: false }) return;
        DelayDeactivation(TimeSpan.FromMinutes(10));
        _loop = RunAsync();
    }

    private async Task RunAsync()
    {
        while (true)
        {
            if (_reloadNeeded && !await TryReloadAsync())
            {
                await Task.Delay(StorageRetryDelay, clock); // the meta database is away: nothing to go on from yet
                continue;
            }
            if (!Unfinished) break;
            var step = S.State;
            try
            {
                if (!await RunStepAsync(step)) return;
            }
            catch (Exception e) when (StorageFaults.IsStorageFault(e))
            {
                // Nothing was decided: memory goes back to the last stored step, which is tried again once the database answers.
                logger.LogWarning("Instance {InstanceId}: state after {Step} not stored ({Reason}); trying again", Id, step, e.Message);
                _reloadNeeded = true;
                await Task.Delay(StorageRetryDelay, clock);
            }
        }
    }

    /// <summary>One step of the state machine; false when the loop should stop for now.</summary>
    private async Task<bool> RunStepAsync(string step)
    {
        {
            var watch = Stopwatch.StartNew();
            try
            {
                switch (step)
                {
                    case InstanceStates.Requested: await PlaceAsync(watch); break;
                    case InstanceStates.Placed: await AttachDiskAsync(watch); break;
                    case InstanceStates.DiskAttached: await StartContainerAsync(watch); break;
                    case InstanceStates.ContainerStarted: await WaitReadyAsync(watch); break;
                    case RemovalStates.Draining: await DrainAsync(watch); break;
                    case RemovalStates.Drained: await RemoveContainerAsync(watch); break;
                    case RemovalStates.ContainerRemoved: await FreeResourcesAsync(watch); break;
                    case RemovalStates.ResourcesFreed: await RecycleDiskAsync(watch); break;
                    case InstanceStates.Failed:
                        if (!await ReleaseAsync()) return false; // the engine is away: resume later
                        break;
                    default: throw new InvalidOperationException($"instance {Id} is in unknown state {step}");
                }
            }
            catch (Exception e) when (RemovalStates.IsRemoving(step) && e is not InvalidOperationException && !StorageFaults.IsStorageFault(e))
            {
                // A removal is never abandoned half-way: it waits and goes on from its last step.
                logger.LogWarning("Instance {InstanceId}: removal step after {Step} failed ({Reason}); retrying", Id, step, e.Message);
                await AuditNowAsync(step, "retrying", e.Message, watch.Elapsed.TotalMilliseconds);
                await Task.Delay(ReleaseRetryDelay, clock);
            }
            catch (Exception e) when (step != InstanceStates.Failed && e is not InvalidOperationException && !StorageFaults.IsStorageFault(e))
            {
                observer.StepCompleted(NextStepName(step), watch.Elapsed, false);
                logger.LogWarning("Instance {InstanceId} failed at {Step}: {Reason}", Id, NextStepName(step), e.Message);
                await FailAsync($"{NextStepName(step)}: {e.Message}", watch.Elapsed, released: false);
            }
        }
        return true;
    }

    private async Task PlaceAsync(Stopwatch watch)
    {
        var spec = S.Spec!;
        var request = Mapping.ToRequest(Id, spec);
        var outcome = await GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(spec.Cluster, spec.Shard)).PlaceMemberAsync(Id, spec, request);
        if (outcome.Reservation is not { } reservation)
        {
            observer.StepCompleted(InstanceStates.Placed, watch.Elapsed, false);
            await FailAsync(outcome.Reason, watch.Elapsed, released: true); // nothing was reserved
            return;
        }
        S.Reservation = reservation;
        S.Host = outcome.Location ?? await GrainFactory.GetGrain<IHostGrain>(reservation.HostId).GetLocationAsync();
        await AdvanceAsync(InstanceStates.Placed, watch, $"host {reservation.HostId}, CPUs {reservation.Cpu.Cpus}, disk {reservation.Disk.Id}, port {reservation.Port}");
    }

    private async Task AttachDiskAsync(Stopwatch watch)
    {
        var disk = S.Reservation!.Disk;
        string outcome;
        if (disk.OnDemand)
        {
            // Claimed straight from Discovered, never wiped by the appliance: whatever it holds (even an old xfs
            // with someone's data) is formatted away now, and MySQL initialises it at first start.
            await Runtime().FormatDiskAsync(disk.DevicePath, seed: false, CancellationToken.None);
            outcome = $"{disk.DevicePath}: formatted on demand";
        }
        else
        {
            // A Ready disk was formatted (and checked) by the disk pool ahead of time, so delivery does not wait
            // for a helper: if it was tampered with since, the container fails to mount it and the instance fails
            // with everything given back, the disk going through Releasing (re-format) again.
            outcome = $"{disk.DevicePath}: pre-formatted{(disk.Seeded ? ", seeded" : "")}";
        }
        await AdvanceAsync(InstanceStates.DiskAttached, watch, outcome);
    }

    private async Task StartContainerAsync(Stopwatch watch)
    {
        var spec = S.Spec!;
        var r = S.Reservation!;
        var numa = Mapping.ParseNuma(spec.Numa);
        var memoryNodes = numa is NumaPolicy.Required or NumaPolicy.Preferred
            ? r.Cpu.Memory.Where(static m => m.MemoryMiB > 0).Select(static m => m.NodeId).Order().ToList()
            : [];
        var myCnf = MyCnf.Render(new MyCnfSpec(spec.MemoryMiB, numa, Mapping.ServerIdOf(Id), r.Port));
        var labels = new Dictionary<string, string>
        {
            ["dbprov.cluster"] = spec.Cluster,
            ["dbprov.shard"] = spec.Shard,
            ["dbprov.role"] = spec.Role,
        };
        var container = new InstanceContainerSpec(Id, r.Disk.DevicePath, r.Cpu.Cpus, memoryNodes, spec.MemoryMiB, spec.SwapMiB,
            spec.Swappiness, r.Port, myCnf, Credentials(), labels);
        var handle = await Runtime().StartInstanceAsync(container, CancellationToken.None);
        await AdvanceAsync(InstanceStates.ContainerStarted, watch, $"container {handle.ContainerName}");
    }

    private async Task WaitReadyAsync(Stopwatch watch)
    {
        await Runtime().WaitUntilReadyAsync(Id, S.Reservation!.Port, Credentials(), options.Value.ReadyDeadline, CancellationToken.None);
        await AdvanceAsync(InstanceStates.Ready, watch, $"MySQL answers on {S.Host!.MySqlAddress}:{S.Reservation.Port}");
        logger.LogInformation("Instance {InstanceId} is Ready on host {HostId} port {Port}", Id, S.Host.HostId, S.Reservation.Port);
    }

    /// <summary>Gives every reservation back; false when the host's engine could not be reached (retried later).</summary>
    private async Task<bool> ReleaseAsync()
    {
        var spec = S.Spec!;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (S.Host is { } host)
                {
                    await Runtime().RemoveInstanceAsync(Id, CancellationToken.None);
                    await GrainFactory.GetGrain<IHostGrain>(host.HostId).ReleaseAsync(Id);
                }
                await GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(spec.Cluster, spec.Shard)).RemoveMemberAsync(Id);
                S.Released = true;
                await PersistAsync(Audited("Released", "ok", "every reservation given back", 0));
                return true;
            }
            catch (HostRuntimeException e) when (attempt < ReleaseAttempts)
            {
                logger.LogWarning("Instance {InstanceId}: giving back its resources failed ({Reason}); retrying", Id, e.Message);
                await Task.Delay(ReleaseRetryDelay, clock);
            }
            catch (HostRuntimeException e)
            {
                logger.LogError("Instance {InstanceId}: resources not given back yet: {Reason}", Id, e.Message);
                return false;
            }
        }
    }

    private async Task AdvanceAsync(string next, Stopwatch watch, string outcome)
    {
        S.State = next;
        S.Steps.Add(new StepView(next, clock.GetUtcNow(), watch.Elapsed.TotalMilliseconds, outcome));
        await PersistAsync(Audited(next, "ok", outcome, watch.Elapsed.TotalMilliseconds));
        observer.StepCompleted(next, watch.Elapsed, true);
    }

    private async Task FailAsync(string reason, TimeSpan elapsed, bool released)
    {
        S.State = InstanceStates.Failed;
        S.Reason = reason;
        S.Released = released;
        S.Steps.Add(new StepView(InstanceStates.Failed, clock.GetUtcNow(), elapsed.TotalMilliseconds, reason));
        await PersistAsync(Audited(InstanceStates.Failed, "failed", reason, elapsed.TotalMilliseconds));
    }

    private InstanceCredentials Credentials() => new(protector.Unprotect(S.ProtectedRootPassword!));

    private IHostRuntime Runtime()
    {
        var host = S.Host ?? throw new InvalidOperationException($"instance {Id} has no host");
        return runtimes.For(host, options.Value.Image);
    }

    private static string NextStepName(string state) => state switch
    {
        InstanceStates.Requested => InstanceStates.Placed,
        InstanceStates.Placed => InstanceStates.DiskAttached,
        InstanceStates.DiskAttached => InstanceStates.ContainerStarted,
        InstanceStates.ContainerStarted => InstanceStates.Ready,
        _ => state,
    };

    private InstanceView View()
    {
        var r = S.Reservation;
        return new InstanceView(Id, S.State, S.Reason, S.Spec!, S.Host?.HostId, r?.Cpu.Cpus.ToString(),
            r is null ? [] : [.. r.Cpu.CpuNodes], r?.Disk.Id, r?.Disk.DevicePath,
            r is null || S.Host is null ? null : new EndpointView(S.Host.MySqlAddress, r.Port),
            [.. S.Steps], S.Version, S.RequestedBy, S.CreatedAt, S.ContainerMissing, S.RemovalRequestId);
    }
}
