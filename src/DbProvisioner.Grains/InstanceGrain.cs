using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Instances;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Grains;

/// <summary>
/// One instance's lifecycle, as a persisted state machine run by the Domain's <see cref="InstanceLifecycle"/>:
/// Requested → Placed → DiskAttached → ContainerStarted → Ready, or Failed with every reservation given back; after an
/// approved scale-down request, the removal to Removed. Each step is idempotent and recorded before the next, so after a
/// crash the instance resumes from its last recorded step. What it serves is what it last stored: a write the meta
/// database did not take is never shown, and the step is tried again once the database answers (see
/// InstanceGrain.Storage.cs). The steps are in InstanceGrain.Provisioning.cs and InstanceGrain.Removal.cs.
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
    private Task? _loop;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private InstanceRetries? _retries;
    /// <summary>The next placement is the first try of a request made in this activation: nothing can be held elsewhere yet.</summary>
    private bool _placingFresh;

    private string Id => this.GetPrimaryKeyString();
    private InstanceGrainState S => state.State;
    private bool Unfinished => InstanceLifecycle.IsUnfinished(S.State, S.Released);
    private InstanceRetries Retries => _retries ??= new InstanceRetries(clock, OnStorageFault, OnRemovalRetryAsync, OnGiveBackRetry);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        MarkStored();
        // After a restart the state machine goes on from its last recorded step; audit rows and the catalog entry a
        // crash kept from being written are written now.
        if (Unfinished)
            this.RegisterGrainTimer(_ => { StartLoop(); return Task.CompletedTask; }, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        if (S.State is not null) ScheduleAfterStored();
        return Task.CompletedTask;
    }

    public async Task<Outcome<InstanceView>> ProvisionAsync(InstanceSpec spec, string requestedBy)
    {
        ArgumentNullException.ThrowIfNull(spec);
        await EnsureStoredAsync();
        if (S.State is not null) return Existing(spec);
        Begin(spec, requestedBy);
        await WriteAsync(new StepNote(nameof(InstanceState.Requested), "ok", null, 0));
        _placingFresh = true;
        var accepted = _stored!;
        // Placement starts now; the audit row and catalog entry of Requested are written meanwhile, off its path.
        StartLoop();
        await AfterStoredAsync();
        return Outcome<InstanceView>.Success(accepted);
    }

    public async Task<Outcome<InstanceView>> ProvisionPlacedAsync(InstanceSpec spec, string requestedBy, HostReservation reservation, HostLocation host)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(reservation);
        ArgumentNullException.ThrowIfNull(host);
        await EnsureStoredAsync();
        if (S.State is not null) return Existing(spec);
        Begin(spec, requestedBy);
        S.Reservation = reservation;
        S.Host = host;
        Move(InstanceState.Placed);
        const string outcome = "placed with its cluster";
        S.Steps.Add(new StepView(nameof(InstanceState.Placed), clock.GetUtcNow(), 0, outcome));
        await PersistAsync(new StepNote(nameof(InstanceState.Placed), "ok", outcome, 0), before: new StepNote(nameof(InstanceState.Requested), "ok", null, 0));
        StartLoop();
        return Outcome<InstanceView>.Success(_stored!);
    }

    /// <summary>The instance as last stored, never a change the meta database has not taken.</summary>
    public Task<InstanceView?> GetAsync() => Task.FromResult(_stored);

    public Task<CredentialsView?> GetCredentialsAsync()
    {
        if (_storedState != InstanceState.Ready || S.ProtectedRootPassword is null || S.Host is null || S.Reservation is null)
            return Task.FromResult<CredentialsView?>(null);
        return Task.FromResult<CredentialsView?>(new CredentialsView(S.Host.MySqlAddress, S.Reservation.Port, InstanceCredentials.RootUser,
            protector.Unprotect(S.ProtectedRootPassword)));
    }

    public async Task<Outcome<InstanceView>> RemoveAsync(string scaleDownId, long boundVersion, string approvedBy)
    {
        await EnsureStoredAsync();
        if (S.State is not { } current) return Outcome<InstanceView>.Fail(OutcomeKind.NotFound, $"instance {Id} does not exist");
        if (S.RemovalRequestId == scaleDownId) return Outcome<InstanceView>.Success(_stored!); // a replay changes nothing
        if (S.RemovalRequestId is not null || current == InstanceState.Removed)
            return Outcome<InstanceView>.Fail(OutcomeKind.Conflict, $"instance {Id} is already being removed by request {S.RemovalRequestId}");
        if (S.Version != boundVersion)
        {
            return Outcome<InstanceView>.Fail(OutcomeKind.Conflict,
                $"instance {Id} changed since the request was planned (version {boundVersion}, now {S.Version}): plan the removal again");
        }
        if (!InstanceLifecycle.CanStartRemoval(current, S.Released))
            return Outcome<InstanceView>.Fail(OutcomeKind.Conflict, $"instance {Id} is {current}: only a Ready or Failed instance can be removed");

        S.RemovalRequestId = scaleDownId;
        S.RemovalApprovedBy = approvedBy;
        Move(InstanceState.Draining);
        S.Steps.Add(new StepView(nameof(InstanceState.Draining), clock.GetUtcNow(), 0, $"approved by {approvedBy}"));
        await PersistAsync(new StepNote(nameof(InstanceState.Draining), "started", null, 0));
        StartLoop();
        return Outcome<InstanceView>.Success(_stored!);
    }

    public async Task MarkContainerAsync(bool missing)
    {
        await EnsureStoredAsync();
        if (S.State is null || S.ContainerMissing == missing) return;
        S.ContainerMissing = missing;
        // A finding, not a change of the instance: the version stays, so the row is keyed by the finding.
        await PersistAsync(new StepNote(missing ? "ContainerMissing" : "ContainerReturned", "found",
            missing ? "the container is gone from its host" : "the container is back", 0), bumpVersion: false);
        logger.LogWarning("Instance {InstanceId}: container {Finding}", Id, missing ? "vanished" : "returned");
    }

    public async Task<InstanceProbe> ProbeAsync()
    {
        if (S.State != InstanceState.Ready || S.Host is null || S.Reservation is null) return new InstanceProbe(false, 0, null, $"instance is {S.StateName}");
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
        while (_stored is not null && InstanceLifecycle.IsUnfinished(_storedState, S.Released))
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
        S.State = InstanceState.Requested;
        S.Steps.Add(new StepView(nameof(InstanceState.Requested), S.CreatedAt, 0, "ok"));
    }

    /// <summary>Moves to the next state, as the lifecycle allows; anything else is a bug and stops the step loudly.</summary>
    private void Move(InstanceState next)
    {
        var from = S.State ?? throw new InvalidOperationException($"instance {Id} has no state to leave");
        if (!InstanceLifecycle.Allows(from, next))
            throw new InvalidOperationException($"instance {Id}: the lifecycle has no step from {from} to {next}");
        S.State = next;
    }

    private void StartLoop()
    {
        if (_loop is { IsCompleted: false }) return;
        DelayDeactivation(TimeSpan.FromMinutes(10));
        _loop = RunAsync();
    }

    /// <summary>Runs the step of each state until the instance rests; a state the meta database did not take is tried again.</summary>
    private async Task RunAsync()
    {
        while (await Retries.Storage.RunAsync(RunNextStepAsync))
        {
        }
    }

    /// <summary>One step of the state machine; false when the instance rests, or should stop until a resume.</summary>
    private async Task<bool> RunNextStepAsync()
    {
        // The meta database is away: nothing to go on from yet.
        if (_reloadNeeded && !await TryReloadAsync()) throw new StorageUnavailableException($"instance {Id}: its stored state cannot be read yet");
        if (S.State is not { } current) return false;
        switch (InstanceLifecycle.Of(current).OnFailure)
        {
            case StepFailure.Fail:
                await ProvisionStepAsync(current);
                return true;
            case StepFailure.Retry:
                await Retries.Removal.RunAsync(RemovalStepAsync);
                return true;
            case StepFailure.RetryLater when !S.Released:
                return await GiveBackAsync();
            default:
                return false;
        }
    }

    private void OnStorageFault(Exception e)
    {
        // Nothing was decided: memory goes back to the last stored step, which is tried again once the database answers.
        logger.LogWarning("Instance {InstanceId}: the meta database did not take or give its state ({Reason}); going on from {Step} once it does",
            Id, e.Message, S.StateName);
        _reloadNeeded = true;
    }

    private InstanceCredentials Credentials() => new(protector.Unprotect(S.ProtectedRootPassword!));

    private IHostRuntime Runtime()
    {
        var host = S.Host ?? throw new InvalidOperationException($"instance {Id} has no host");
        return runtimes.For(host, options.Value.Image);
    }

    private InstanceView View()
    {
        var r = S.Reservation;
        return new InstanceView(Id, S.StateName, S.Reason, S.Spec!, S.Host?.HostId, r?.Cpu.Cpus.ToString(),
            r is null ? [] : [.. r.Cpu.CpuNodes], r?.Disk.Id, r?.Disk.DevicePath,
            r is null || S.Host is null ? null : new EndpointView(S.Host.MySqlAddress, r.Port),
            [.. S.Steps], S.Version, S.RequestedBy, S.CreatedAt, S.ContainerMissing, S.RemovalRequestId, S.ObservedCpus, S.CpusetNote);
    }
}
