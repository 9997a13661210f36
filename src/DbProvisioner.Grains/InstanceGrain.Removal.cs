using System.Diagnostics;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Config;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Grains;

/// <summary>
/// The removal after an approved scale-down request: Draining → Drained → ContainerRemoved → ResourcesFreed → Removed,
/// each step recorded before the next (the loop in InstanceGrain.cs runs them).
/// </summary>
public sealed partial class InstanceGrain
{
    private async Task DrainAsync(Stopwatch watch)
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
            try
            {
                await mysql.SetReadOnlyAsync(address, port, Credentials(), true, CancellationToken.None);
                var open = int.MaxValue;
                var deadline = clock.GetUtcNow() + options.Value.DrainTimeout;
                while (true)
                {
                    open = (await mysql.GetStatusAsync(address, port, Credentials(), CancellationToken.None)).OpenClientConnections;
                    if (open == 0 || clock.GetUtcNow() >= deadline) break;
                    await Task.Delay(DrainPoll, clock);
                }
                outcome = open == 0 ? "read-only; no client connections left" : $"read-only; {open} client connection(s) still open after {options.Value.DrainTimeout.TotalSeconds:0} s";
            }
            catch (Exception e) when (e is not InvalidOperationException)
            {
                // A server that does not answer has no clients to wait for.
                outcome = $"MySQL did not answer ({e.Message}); nothing to drain";
            }
        }
        await AdvanceAsync(RemovalStates.Drained, watch, outcome);
    }

    private async Task RemoveContainerAsync(Stopwatch watch)
    {
        if (S.Host is not null && !S.Released) await Runtime().RemoveInstanceAsync(Id, CancellationToken.None);
        await AdvanceAsync(RemovalStates.ContainerRemoved, watch, S.Released ? "no container" : "container and volume removed");
    }

    private async Task FreeResourcesAsync(Stopwatch watch)
    {
        var spec = S.Spec!;
        if (S.Host is { } host) await GrainFactory.GetGrain<IHostGrain>(host.HostId).ReleaseAsync(Id);
        await GrainFactory.GetGrain<IShardGrain>(Mapping.ShardKey(spec.Cluster, spec.Shard)).RemoveMemberAsync(Id);
        await AdvanceAsync(RemovalStates.ResourcesFreed, watch, S.Reservation is { } r ? $"CPUs {r.Cpu.Cpus} and port {r.Port} free; disk {r.Disk.Id} releasing" : "nothing held");
    }

    private async Task RecycleDiskAsync(Stopwatch watch)
    {
        var outcome = "no disk";
        if (S.Host is { } host && S.Reservation is { } r && !S.Released)
        {
            // The disk is wiped and re-formatted before anyone can claim it again.
            await GrainFactory.GetGrain<IDiskPoolGrain>(host.HostId).RunUntilIdleAsync();
            var disk = (await GrainFactory.GetGrain<IHostGrain>(host.HostId).GetAsync())?.Disks.FirstOrDefault(d => d.Id == r.Disk.Id);
            outcome = $"disk {r.Disk.Id} is {disk?.State ?? "gone"}";
        }
        await AdvanceAsync(RemovalStates.Removed, watch, outcome);
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
}
