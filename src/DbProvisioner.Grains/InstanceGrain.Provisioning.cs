using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Instances;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

/// <summary>
/// The provisioning steps (Requested → Placed → DiskAttached → ContainerStarted → Ready): a step whose own work fails
/// fails the instance, which then gives back everything it holds (the lifecycle's <see cref="StepFailure.Fail"/>).
/// </summary>
public sealed partial class InstanceGrain
{
    private async Task ProvisionStepAsync(InstanceState current)
    {
        var started = clock.GetTimestamp();
        try
        {
            switch (InstanceLifecycle.Of(current).Step)
            {
                case InstanceStep.Place: await PlaceAsync(started); break;
                case InstanceStep.AttachDisk: await AttachDiskAsync(started); break;
                case InstanceStep.StartContainer: await StartContainerAsync(started); break;
                case InstanceStep.WaitReady: await WaitReadyAsync(started); break;
                default: throw new InvalidOperationException($"instance {Id}: {current} has no provisioning step");
            }
        }
        catch (Exception e) when (InstanceRetries.IsStepFailure(e))
        {
            var heading = InstanceLifecycle.Heading(current).ToString();
            var elapsed = clock.GetElapsedTime(started);
            observer.StepCompleted(heading, elapsed, false);
            logger.LogWarning("Instance {InstanceId} failed at {Step}: {Reason}", Id, heading, e.Message);
            await FailAsync($"{heading}: {e.Message}", elapsed, released: false);
        }
    }

    private async Task PlaceAsync(long started)
    {
        var spec = S.Spec!;
        var request = Mapping.ToRequest(Id, spec);
        var fresh = _placingFresh;
        _placingFresh = false;
        // Its own shard: two calls (index, host). A shared shard serialises its members' placements behind one more.
        var outcome = Mapping.IsOwnShard(Id, spec)
            ? await PlaceAndReserve.RunAsync(GrainFactory, spec, request, new ShardContext(spec.Cluster, spec.Shard, Mapping.ToRule(spec.Spread), []),
                options.Value.PlacementAttempts, hostId => GrainFactory.GetGrain<IHostGrain>(hostId).ReserveAsync(request))
            : await GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(spec.Cluster, spec.Shard)).PlaceMemberAsync(Id, spec, request);
        // Not the first try of a new request (a resume after a crash, a retry after a refused write): an earlier try may
        // have reserved on a host this one did not choose, and nothing stored says which. Given back before the choice is stored.
        if (!fresh) await ReleaseElsewhereAsync(spec.Pool, outcome.Reservation?.HostId);
        if (outcome.Reservation is not { } reservation)
        {
            observer.StepCompleted(nameof(InstanceState.Placed), clock.GetElapsedTime(started), false);
            await FailAsync(outcome.Reason, clock.GetElapsedTime(started), released: true); // nothing was reserved
            return;
        }
        // The host answers with its location, so no second call is needed to reach it.
        S.Host = outcome.Location ?? throw new InvalidOperationException($"instance {Id}: the reservation on host {reservation.HostId} came without the host's location");
        S.Reservation = reservation;
        await AdvanceAsync(InstanceState.Placed, started, $"host {reservation.HostId}, CPUs {reservation.Cpu.Cpus}, disk {reservation.Disk.Id}, port {reservation.Port}");
    }

    /// <summary>Every host of the pool but the chosen one gives back what it holds for this instance (a host holding nothing answers at once).</summary>
    private async Task ReleaseElsewhereAsync(string pool, string? chosen)
    {
        var hosts = await GrainFactory.GetGrain<IPlacementGrain>(pool).SnapshotAsync();
        await Task.WhenAll(hosts.Where(h => h.HostId != chosen).Select(h => GrainFactory.GetGrain<IHostGrain>(h.HostId).ReleaseAsync(Id)));
    }

    private async Task AttachDiskAsync(long started)
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
        await AdvanceAsync(InstanceState.DiskAttached, started, outcome);
    }

    private async Task StartContainerAsync(long started)
    {
        var container = InstanceContainers.For(Id, S.Spec!, S.Reservation!, Credentials());
        var handle = await Runtime().StartInstanceAsync(container, CancellationToken.None);
        await AdvanceAsync(InstanceState.ContainerStarted, started, $"container {handle.ContainerName}{Phases(handle.PhaseMs)}");
    }

    private async Task WaitReadyAsync(long started)
    {
        await Runtime().WaitUntilReadyAsync(Id, S.Reservation!.Port, Credentials(), options.Value.ReadyDeadline, CancellationToken.None);
        var cpuset = await ObserveCpusetAsync();
        await AdvanceAsync(InstanceState.Ready, started, $"MySQL answers on {S.Host!.MySqlAddress}:{S.Reservation.Port}{cpuset}");
        logger.LogInformation("Instance {InstanceId} is Ready on host {HostId} port {Port}", Id, S.Host.HostId, S.Reservation.Port);
    }

    /// <summary>
    /// Reads back the CPUs the host gave the container and records them with the Domain's judgement, stored with the Ready
    /// step (one write). A host that cannot answer now leaves it unrecorded: the inspection reads it again.
    /// </summary>
    private async Task<string> ObserveCpusetAsync()
    {
        Domain.Topology.CpuSet? observed;
        try
        {
            observed = await Runtime().ReadCpusetAsync(Id, CancellationToken.None);
        }
        catch (HostRuntimeException e)
        {
            logger.LogWarning("Instance {InstanceId}: its cpuset could not be read back: {Reason}", Id, e.Message);
            return "";
        }
        if (observed is null) return "";
        var exact = RuntimeCapabilities.Of(RuntimeCapabilities.KindOf(S.Host!.EngineEndpoint)).ExactCpuSet;
        var seen = CpusetObservation.Judge(S.Reservation!.Cpu.Cpus, observed, exact);
        S.ObservedCpus = seen.Cpus.ToString();
        S.CpusetNote = seen.Note;
        if (seen.IsDrift(exact)) logger.LogWarning("Instance {InstanceId} {Note}", Id, seen.Note);
        return $"; {seen.Note}";
    }

    /// <summary>Gives every reservation back; false when the host's engine could not be reached (left for the next resume).</summary>
    private async Task<bool> GiveBackAsync()
    {
        var spec = S.Spec!;
        try
        {
            await Retries.GiveBack.RunAsync(async () =>
            {
                if (S.Host is not { } host) return;
                await Runtime().RemoveInstanceAsync(Id, CancellationToken.None);
                await GrainFactory.GetGrain<IHostGrain>(host.HostId).ReleaseAsync(Id);
            });
        }
        catch (HostRuntimeException e)
        {
            logger.LogError("Instance {InstanceId}: resources not given back yet: {Reason}", Id, e.Message);
            return false;
        }
        await LeaveShardAsync(spec);
        S.Released = true;
        await PersistAsync(new StepNote("Released", "ok", "every reservation given back", 0));
        return true;
    }

    /// <summary>Where a start's time went, e.g. " (create 40 ms, files 12 ms, start 180 ms)": what delivery is tuned by.</summary>
    private static string Phases(IReadOnlyList<StartPhase>? phases) =>
        phases is not { Count: > 0 } ? "" : " (" + string.Join(", ", phases.Select(static p => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{p.Name} {p.Ms:0} ms"))) + ")";

    private void OnGiveBackRetry(Exception e, int attempt) =>
        logger.LogWarning("Instance {InstanceId}: giving back its resources failed (attempt {Attempt}: {Reason}); retrying", Id, attempt, e.Message);

    private async Task AdvanceAsync(InstanceState next, long started, string outcome)
    {
        var elapsed = clock.GetElapsedTime(started);
        Move(next);
        S.Steps.Add(new StepView(next.ToString(), clock.GetUtcNow(), elapsed.TotalMilliseconds, outcome));
        await PersistAsync(new StepNote(next.ToString(), "ok", outcome, elapsed.TotalMilliseconds));
        observer.StepCompleted(next.ToString(), elapsed, true);
    }

    private async Task FailAsync(string reason, TimeSpan elapsed, bool released)
    {
        Move(InstanceState.Failed);
        S.Reason = reason;
        S.Released = released;
        S.Steps.Add(new StepView(nameof(InstanceState.Failed), clock.GetUtcNow(), elapsed.TotalMilliseconds, reason));
        await PersistAsync(new StepNote(nameof(InstanceState.Failed), "failed", reason, elapsed.TotalMilliseconds));
    }
}
