using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Instances;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Grains;

/// <summary>
/// The removal after an approved scale-down request: Draining → Drained → ContainerRemoved → ResourcesFreed → Removed,
/// each step recorded before the next (the loop in InstanceGrain.cs runs them). A removal step that fails is tried again
/// until it succeeds (the lifecycle's <see cref="StepFailure.Retry"/>, through <see cref="InstanceRetries.Removal"/>).
/// </summary>
public sealed partial class InstanceGrain
{
    // The removal step being tried, for the audit row of a retry.
    private (InstanceState State, long Started) _removalAttempt;

    /// <summary>The removal step of the state the instance is in now (a retry finds it again: an earlier try may have moved on).</summary>
    private async Task RemovalStepAsync()
    {
        if (S.State is not { } current || !InstanceLifecycle.IsRemoving(current)) return;
        var started = clock.GetTimestamp();
        _removalAttempt = (current, started);
        switch (InstanceLifecycle.Of(current).Step)
        {
            case InstanceStep.Drain: await DrainAsync(started); break;
            case InstanceStep.RemoveContainer: await RemoveContainerAsync(started); break;
            case InstanceStep.FreeResources: await FreeResourcesAsync(started); break;
            case InstanceStep.RecycleDisk: await RecycleDiskAsync(started); break;
            default: throw new InvalidOperationException($"instance {Id}: {current} has no removal step");
        }
    }

    private async ValueTask OnRemovalRetryAsync(Exception e)
    {
        var (step, started) = _removalAttempt;
        logger.LogWarning("Instance {InstanceId}: removal step after {Step} failed ({Reason}); retrying", Id, step, e.Message);
        await AuditNowAsync(step.ToString(), "retrying", e.Message, clock.GetElapsedTime(started).TotalMilliseconds);
    }

    private async Task DrainAsync(long started)
    {
        string outcome;
        if (S.Released || S.Host is null || S.Reservation is null)
        {
            outcome = "nothing to drain";
        }
        else
        {
            var address = S.Host.MySqlAddress;
            var port = S.Reservation.Port;
            var timeout = options.Value.DrainTimeout;
            try
            {
                await mysql.SetReadOnlyAsync(address, port, Credentials(), true, CancellationToken.None);
                var open = await Retries.DrainAsync(async () =>
                    (await mysql.GetStatusAsync(address, port, Credentials(), CancellationToken.None)).OpenClientConnections, timeout);
                outcome = open == 0 ? "read-only; no client connections left" : $"read-only; {open} client connection(s) still open after {timeout.TotalSeconds:0} s";
            }
            catch (Exception e) when (e is not InvalidOperationException)
            {
                // A server that does not answer has no clients to wait for.
                outcome = $"MySQL did not answer ({e.Message}); nothing to drain";
            }
        }
        await AdvanceAsync(InstanceState.Drained, started, outcome);
    }

    private async Task RemoveContainerAsync(long started)
    {
        if (S.Host is not null && !S.Released) await Runtime().RemoveInstanceAsync(Id, CancellationToken.None);
        await AdvanceAsync(InstanceState.ContainerRemoved, started, S.Released ? "no container" : "container and volume removed");
    }

    private async Task FreeResourcesAsync(long started)
    {
        var spec = S.Spec!;
        if (S.Host is { } host) await GrainFactory.GetGrain<IHostGrain>(host.HostId).ReleaseAsync(Id);
        await LeaveShardAsync(spec);
        await AdvanceAsync(InstanceState.ResourcesFreed, started, S.Reservation is { } r ? $"CPUs {r.Cpu.Cpus} and port {r.Port} free; disk {r.Disk.Id} releasing" : "nothing held");
    }

    private async Task RecycleDiskAsync(long started)
    {
        var outcome = "no disk";
        if (S.Host is { } host && S.Reservation is { } r && !S.Released)
        {
            // The disk is wiped and re-formatted before anyone can claim it again.
            await GrainFactory.GetGrain<IDiskPoolGrain>(host.HostId).RunUntilIdleAsync();
            var disk = (await GrainFactory.GetGrain<IHostGrain>(host.HostId).GetAsync())?.Disks.FirstOrDefault(d => d.Id == r.Disk.Id);
            outcome = $"disk {r.Disk.Id} is {disk?.State ?? "gone"}";
        }
        await AdvanceAsync(InstanceState.Removed, started, outcome);
        await GrainFactory.GetGrain<IScaleDownGrain>(S.RemovalRequestId!).InstanceRemovedAsync(true, null);
        await SupersedeOtherRequestsAsync();
    }

    /// <summary>
    /// Every other pending request for this instance can never be approved now. They are found through the
    /// scale-down catalog, and reading one settles it as Superseded; one missed here settles when next read.
    /// </summary>
    private async Task SupersedeOtherRequestsAsync()
    {
        try
        {
            var others = (await GrainFactory.ListScaleDownsAsync())
                .Where(r => r.InstanceId == Id && r.State == ScaleDownStates.Pending && r.Id != S.RemovalRequestId);
            await Task.WhenAll(others.Select(r => GrainFactory.GetGrain<IScaleDownGrain>(r.Id).GetAsync()));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("Instance {InstanceId}: other pending scale-down requests not settled yet ({Reason}); they settle when read", Id, e.Message);
        }
    }

    /// <summary>A member of a shared shard leaves its record; an instance that is its own shard was never recorded in one.</summary>
    private Task LeaveShardAsync(InstanceSpec spec) =>
        Mapping.IsOwnShard(Id, spec) ? Task.CompletedTask : GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(spec.Cluster, spec.Shard)).RemoveMemberAsync(Id);
}
