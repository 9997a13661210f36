using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;

namespace DbProvisioner.Grains;

/// <summary>
/// Ask the pool's index for the best host, reserve there, and ask again while a stale index names a host that
/// refuses (the host corrects the index as it refuses). Used by a shard for its members and by an instance that is
/// its own shard (a standalone instance: nobody else can break its spread rule, so no shard grain serialises it).
/// </summary>
public static class PlaceAndReserve
{
    public static Task<ReserveOutcome> RunAsync(
        IGrainFactory grains, InstanceSpec spec, InstanceRequest request, ShardContext context, int attempts,
        Func<string, Task<ReserveOutcome>> reserve)
    {
        ArgumentNullException.ThrowIfNull(reserve);
        return RunAsync(grains, spec, request, context, attempts, (hostId, _) => reserve(hostId));
    }

    /// <param name="reserve">Reserves on the chosen host, given what the index assumed of it (see <see cref="IHostGrain.ReserveAssumedAsync"/>).</param>
    public static async Task<ReserveOutcome> RunAsync(
        IGrainFactory grains, InstanceSpec spec, InstanceRequest request, ShardContext context, int attempts,
        Func<string, HostCapacity?, Task<ReserveOutcome>> reserve)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(reserve);
        var placement = grains.Get<IPlacementGrain>(spec.Pool);
        var reason = "";
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var (decision, assumed) = await placement.PlaceAsync(new PlacementRequest(request, spec.Pool, context));
            // After a host's refusal the index holds that host's truth, so its own refusal is the answer; the host's is kept beside it.
            if (!decision.Placed) return new(null, reason.Length == 0 ? decision.Reason : $"{decision.Reason} (before that, {reason})");
            var outcome = await reserve(decision.HostId!, assumed);
            if (outcome.Reservation is not null) return outcome;
            reason = outcome.Reason;
        }
        return new(null, $"no host accepted instance {request.InstanceId} after {attempts} attempts: {reason}");
    }
}
