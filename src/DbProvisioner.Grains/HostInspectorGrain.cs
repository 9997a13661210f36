using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Instances;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Runtime;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Grains;

/// <summary>Gather (the host's books, each instance's lifecycle, the engine's containers and volumes) → compare (the Domain) → report; it acts on nothing.</summary>
public sealed class HostInspectorGrain(
    IHostRuntimeFactory runtimes,
    IOptions<ProvisioningOptions> options,
    TimeProvider clock) : Grain, IHostInspectorGrain
{
    private string Id => this.GetPrimaryKeyString();

    public async Task<HostInspectionView?> InspectAsync()
    {
        var host = GrainFactory.GetGrain<IHostGrain>(Id);
        var location = await host.GetLocationAsync();
        if (location is null) return null;
        var bookings = await host.GetBookingsAsync();

        EngineInspection engine;
        try
        {
            engine = await runtimes.For(location, options.Value.Image).InspectEngineAsync(CancellationToken.None);
        }
        catch (HostRuntimeException e)
        {
            return new HostInspectionView(Id, clock.GetUtcNow(), bookings.Count, 0, 0, [], e.Message);
        }

        var views = await Task.WhenAll(bookings.Select(b => GrainFactory.GetGrain<IInstanceGrain>(b.InstanceId).GetAsync()));
        var held = bookings.Zip(views).Select(static p => p.First.Held(Expectation(p.Second))).ToList();
        var drifts = Inspection.Compare(held, engine.Containers, engine.Volumes, RuntimeCapabilities.Of(RuntimeCapabilities.KindOf(location.EngineEndpoint)));
        return new HostInspectionView(Id, clock.GetUtcNow(), bookings.Count, engine.Containers.Count, engine.Volumes.Count,
            [.. drifts.Select(static d => new DriftView(Code(d.Kind), d.InstanceId, d.Subject, d.Found, d.Expected, d.Fix))]);
    }

    /// <summary>The host's books hold the instance: without a lifecycle to say otherwise, it should have its container.</summary>
    private static ContainerExpectation Expectation(InstanceView? instance) =>
        instance.LifecycleState() is { } state ? InstanceLifecycle.Of(state).Container : ContainerExpectation.Expected;

    /// <summary>The Domain's kind by the same name on the wire; a kind without one is a build-time omission the grain tests catch.</summary>
    internal static DriftCode Code(DriftKind kind) => Enum.Parse<DriftCode>(kind.ToString());
}
