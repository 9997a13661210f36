using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

/// <summary>
/// The host's health: a heartbeat probes the engine (gather), <see cref="HostHealthDecision"/> decides, and only a
/// change of health is stored and pushed to placement; last seen moves in memory at every answer.
/// </summary>
public sealed partial class HostGrain
{
    private HostHealth _health = HostHealth.Initial;

    public async Task<HostProbe?> ProbeAsync(bool checkDisks)
    {
        if (state.State.Host is not { } host || state.State.Location is not { } location) return null;
        var registration = state.State.Registration;
        var runtime = RuntimeOf(location);
        using var timeout = new CancellationTokenSource(healthOptions.Value.ProbeTimeout, clock);
        try
        {
            var facts = await runtime.PingAsync(timeout.Token);
            // A host described at registration (several logical hosts on one engine) has no machine of its own to compare.
            string? drift = null;
            if (facts is not null && registration is { Topology: null } && facts.LogicalCpus != host.Cpu.Topology.LogicalCpuCount)
                drift = $"the engine reports {facts.LogicalCpus} CPUs, {host.Cpu.Topology.LogicalCpuCount} were registered";
            // The disk check runs in the MySQL image: an engine still pulling it is not missing its disks.
            IReadOnlyList<string> missing = checkDisks && host.Disks.Disks.Count > 0 && host.Image.IsPresent
                ? await runtime.FindMissingDevicesAsync([.. host.Disks.Disks.Values.Select(static d => d.DevicePath).Distinct(StringComparer.Ordinal)], timeout.Token)
                : [];
            return new HostProbe(null, runtime.CircuitOpen, drift, missing);
        }
        catch (HostRuntimeException e)
        {
            return new HostProbe(e.Message, runtime.CircuitOpen);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new HostProbe($"no answer within {healthOptions.Value.ProbeTimeout.TotalSeconds:0.#} s", runtime.CircuitOpen);
        }
    }

    public async Task<HostHealth?> RecordProbeAsync(HostProbe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (state.State.Host is not { } host) return null;
        AskForImageOnceAnswered(probe);
        var before = _health;
        var after = HostHealthDecision.Decide(before, probe, clock.GetUtcNow(), healthOptions.Value.FailureThreshold);
        if (!after.DiffersInStateFrom(before))
        {
            _health = after;
            if (after.LastSeen != before.LastSeen) PushCapacity(host); // the catalog's summary shows last seen; placement's index is unchanged
            return after;
        }

        var next = host with { Healthy = after.Healthy, HealthReason = after.Reason };
        state.State.Host = next;
        state.State.Health = after;
        await state.WriteOrReloadAsync(DeactivateOnIdle);
        _health = after;
        if (after.Healthy) logger.LogInformation("Host {HostId} is healthy again (its engine answered at {LastSeen})", Id, after.LastSeen);
        else logger.LogWarning("Host {HostId} is unhealthy: {Reason}", Id, after.Reason);
        if (after.Healthy) await PushGrownCapacityAsync(next);
        else PushCapacity(next);
        if (after.Healthy)
        {
            // An instance that failed while the engine was away could not give its container and reservation back: it can now.
            foreach (var instanceId in next.Cpu.Assignments.Keys)
                GrainFactory.GetGrain<IInstanceGrain>(instanceId).ResumeAsync().Ignore();
        }
        return after;
    }
}
