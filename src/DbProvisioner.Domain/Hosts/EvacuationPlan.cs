using System.Globalization;
using DbProvisioner.Domain.Placement;

namespace DbProvisioner.Domain.Hosts;

/// <summary>
/// An instance to move off the host being evacuated: its replacement's request (same shape, new id) and the shard it
/// belongs to, whose members still include the instance itself.
/// </summary>
public sealed record Evacuee(string InstanceId, InstanceRequest Replacement, ShardContext Shard);

/// <summary>Where one instance's replacement goes.</summary>
public sealed record PlannedReplacement(string InstanceId, string ReplacementId, string HostId, string Zone, string Rack);

/// <summary>A replacement for every instance on the host, or none and the reason.</summary>
public sealed record EvacuationPlanResult(IReadOnlyList<PlannedReplacement> Replacements, string Reason)
{
    public bool Planned => Reason.Length == 0;
}

/// <summary>
/// Plans the evacuation of one host: for each instance on it, a replacement on another host of the pool that fits and
/// keeps the instance's shard spread rule once the instance is gone. All instances or none, so that an evacuation
/// that cannot finish changes nothing.
/// </summary>
public static class EvacuationPlan
{
    public static EvacuationPlanResult Plan(string hostId, string pool, IReadOnlyList<HostCapacity> hosts, IReadOnlyList<Evacuee> evacuees, PlacementOptions options)
    {
        ArgumentNullException.ThrowIfNull(hostId);
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(evacuees);
        ArgumentNullException.ThrowIfNull(options);

        // The evacuated host is never a target, cordoned yet or not; the caller's summaries are never touched.
        var working = hosts.Where(h => !string.Equals(h.HostId, hostId, StringComparison.Ordinal)).ToArray();
        var planned = new List<PlannedReplacement>(evacuees.Count);
        var next = 0;
        foreach (var evacuee in evacuees.OrderBy(static e => e.InstanceId, StringComparer.Ordinal))
        {
            // The shard as it will be: without the instance leaving, with the replacements already planned for it.
            var members = evacuee.Shard.Members
                .Where(m => !string.Equals(m.InstanceId, evacuee.InstanceId, StringComparison.Ordinal))
                .Concat(planned.Where(p => ShardOf(evacuees, p.InstanceId) == evacuee.Shard.Name)
                    .Select(static p => new MemberLocation(p.ReplacementId, p.HostId, p.Zone, p.Rack)))
                .ToList();
            var shard = evacuee.Shard with { Members = members };
            var decision = Scheduler.Place(working, new PlacementRequest(evacuee.Replacement, pool, shard), options, next);
            if (!decision.Placed)
            {
                var why = working.Length == 0 ? $"pool {pool} has no other host" : decision.Reason;
                return new([], string.Create(CultureInfo.InvariantCulture,
                    $"instance {evacuee.InstanceId} has no room elsewhere, nothing was changed: {why}"));
            }
            next = decision.NextStartIndex;
            var host = working[decision.HostIndex];
            working[decision.HostIndex] = host.Assume(evacuee.Replacement);
            planned.Add(new PlannedReplacement(evacuee.InstanceId, evacuee.Replacement.InstanceId, host.HostId, host.Zone, host.Rack));
        }
        return new(planned, "");
    }

    private static string? ShardOf(IReadOnlyList<Evacuee> evacuees, string instanceId) =>
        evacuees.FirstOrDefault(e => string.Equals(e.InstanceId, instanceId, StringComparison.Ordinal))?.Shard.Name;
}
