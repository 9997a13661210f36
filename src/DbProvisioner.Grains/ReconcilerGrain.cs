using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Instances;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Grains;

/// <summary>Gather (grains' beliefs, the engine's containers) → decide (the Domain) → act (through the runtime).</summary>
public sealed class ReconcilerGrain(
    IHostRuntimeFactory runtimes,
    IOptions<ProvisioningOptions> options,
    TimeProvider clock,
    ILogger<ReconcilerGrain> logger) : Grain, IReconcilerGrain
{
    private ReconciliationView? _last;

    private string Id => this.GetPrimaryKeyString();

    public Task<ReconciliationView?> GetLastAsync() => Task.FromResult(_last);

    public async Task<ReconciliationView> ReconcileAsync(bool removeOrphans, DateTimeOffset staleHelpersBefore)
    {
        var host = GrainFactory.GetGrain<IHostGrain>(Id);
        var location = await host.GetLocationAsync();
        var view = await host.GetAsync();
        if (location is null || view is null)
            return _last = new ReconciliationView(Id, clock.GetUtcNow(), [], [], [], [], [], $"host {Id} is not registered");

        var runtime = runtimes.For(location, options.Value.Image);
        OwnedResources owned;
        try
        {
            owned = await runtime.ListOwnedAsync(CancellationToken.None);
        }
        catch (HostRuntimeException e)
        {
            return _last = new ReconciliationView(Id, clock.GetUtcNow(), [], [], [], [], [], e.Message);
        }

        // Instances the grains place on this host, plus any whose container is here (they may have left the host's books).
        var ids = view.Instances.Select(static i => i.Id)
            .Concat(owned.Containers.Where(static c => c.Helper is null).Select(static c => c.InstanceId).OfType<string>())
            .Distinct(StringComparer.Ordinal).ToList();
        var instances = await Task.WhenAll(ids.Select(id => GrainFactory.GetGrain<IInstanceGrain>(id).GetAsync()));
        var believed = ids.Zip(instances)
            .Where(static p => p.Second is not null)
            .Select(p => Believe(p.First, p.Second!))
            .ToList();
        var observed = owned.Containers.Select(static c => new ObservedContainer(c.Name, c.InstanceId, c.Helper,
            c.State == "running", c.CreatedAt));
        var report = Reconciliation.Compare(believed, observed, staleHelpersBefore);

        foreach (var id in report.Vanished) await GrainFactory.GetGrain<IInstanceGrain>(id).MarkContainerAsync(true);
        foreach (var id in report.Returned) await GrainFactory.GetGrain<IInstanceGrain>(id).MarkContainerAsync(false);
        var helpersRemoved = new List<string>();
        foreach (var name in report.StaleHelpers)
        {
            await runtime.RemoveOwnedContainerAsync(name, CancellationToken.None);
            helpersRemoved.Add(name);
        }
        foreach (var name in Reconciliation.StaleHelperVolumes(owned.Volumes.Select(static v => new ObservedVolume(v.Name, v.Helper, v.CreatedAt)), staleHelpersBefore))
        {
            await runtime.RemoveOwnedVolumeAsync(name, CancellationToken.None);
            helpersRemoved.Add(name);
        }
        var held = view.Instances.Select(static i => i.Id).ToHashSet(StringComparer.Ordinal);
        var claims = ids.Zip(instances).Where(p => held.Contains(p.First)).Select(static p => new HeldReservation(p.First, p.Second is not null,
            p.Second?.Host, p.Second?.LifecycleState() is InstanceState.Failed or InstanceState.Removed));
        var released = Reconciliation.UnclaimedReservations(Id, claims);
        foreach (var id in released)
        {
            logger.LogWarning("Host {HostId}: reservation of instance {InstanceId} is claimed by nobody (the instance lives elsewhere or finished); giving it back", Id, id);
            await host.ReleaseAsync(id);
        }
        var orphansRemoved = new List<string>();
        foreach (var name in report.Orphans)
        {
            logger.LogWarning("Host {HostId}: container {Container} belongs to no instance{Action}", Id, name, removeOrphans ? "; removing it" : "");
            if (!removeOrphans) continue;
            await runtime.RemoveOwnedContainerAsync(name, CancellationToken.None);
            orphansRemoved.Add(name);
        }
        return _last = new ReconciliationView(Id, clock.GetUtcNow(), report.Orphans, orphansRemoved, report.Vanished, report.Returned, helpersRemoved, null, released);
    }

    private static BelievedInstance Believe(string id, InstanceView instance)
    {
        var container = instance.LifecycleState() is { } state ? InstanceLifecycle.Of(state).Container : ContainerExpectation.Absent;
        return new BelievedInstance(id, container == ContainerExpectation.Expected, instance.ContainerMissing, container == ContainerExpectation.InFlight);
    }
}
