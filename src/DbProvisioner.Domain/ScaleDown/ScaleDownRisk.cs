using System.Globalization;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.ScaleDown;

public enum MemberRole
{
    Primary,
    Replica,
}

/// <summary>One member of a shard as last observed. A null lag means replication is not running or unknown.</summary>
public sealed record ShardMemberStatus(
    string InstanceId,
    MemberRole Role,
    string HostId,
    string Zone,
    string Rack,
    double? ReplicationLagSeconds,
    int OpenConnections,
    bool Healthy = true);

/// <summary>A shard as the scale-down rules see it.</summary>
public sealed record ShardSnapshot(string Cluster, string Shard, IReadOnlyList<ShardMemberStatus> Members, int MinimumMembers, SpreadRule Spread);

/// <summary>Where warnings start.</summary>
public sealed record RiskThresholds(double MaxReplicationLagSeconds = 30, int MaxOpenConnections = 0);

/// <summary>One risk, with a stable code an approval acknowledges by name.</summary>
public sealed record RiskItem(RiskCode Code, RiskSeverity Severity, string Message);

/// <summary>What removing an instance would do to its shard.</summary>
public sealed record RiskReport(string InstanceId, IReadOnlyList<RiskItem> Items)
{
    public IReadOnlyList<RiskItem> Blocking => [.. Items.Where(static i => i.Severity == RiskSeverity.Blocking)];
    public IReadOnlyList<RiskItem> Warnings => [.. Items.Where(static i => i.Severity == RiskSeverity.Warning)];
    public bool HasBlocking => Items.Any(static i => i.Severity == RiskSeverity.Blocking);

    /// <summary>The blocking codes an approval has not acknowledged; empty means the approval may proceed.</summary>
    public IReadOnlyList<RiskCode> Unacknowledged(IEnumerable<RiskCode> acknowledged)
    {
        var ack = new HashSet<RiskCode>(acknowledged);
        return [.. Blocking.Select(static b => b.Code).Where(c => !ack.Contains(c)).Distinct()];
    }
}

/// <summary>Pure rules: a shard snapshot and a removal → a risk report.</summary>
public static class ScaleDownRisk
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static RiskReport Assess(ShardSnapshot shard, string instanceId, RiskThresholds? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var t = thresholds ?? new RiskThresholds();
        var items = new List<RiskItem>();
        var name = shard.Cluster + "/" + shard.Shard;
        var member = shard.Members.FirstOrDefault(m => m.InstanceId == instanceId);
        if (member is null)
        {
            items.Add(new(RiskCode.UnknownMember, RiskSeverity.Blocking, $"instance {instanceId} is not a member of shard {name}"));
            return new RiskReport(instanceId, items);
        }
        var remaining = shard.Members.Where(m => m.InstanceId != instanceId).ToList();

        if (remaining.Count == 0)
            items.Add(new(RiskCode.LastMember, RiskSeverity.Blocking, $"{instanceId} is the last member of shard {name}: its data is gone once removed"));

        if (member.Role == MemberRole.Primary && remaining.Count > 0)
        {
            items.Add(new(RiskCode.PrimaryWithReplicas, RiskSeverity.Blocking, string.Create(Ci,
                $"{instanceId} is the primary of shard {name} with {remaining.Count} replica(s); writes stop until a replica is promoted")));
        }

        var healthyLeft = remaining.Count(static m => m.Healthy);
        if (remaining.Count > 0 && healthyLeft < shard.MinimumMembers)
        {
            items.Add(new(RiskCode.BelowMinimum, RiskSeverity.Blocking, string.Create(Ci,
                $"shard {name} would keep {healthyLeft} healthy member(s), below its minimum of {shard.MinimumMembers}")));
        }

        SpreadRisk(shard, member, remaining, items, name);

        foreach (var r in remaining.Where(static m => m.Role == MemberRole.Replica).OrderBy(static m => m.InstanceId, StringComparer.Ordinal))
        {
            if (r.ReplicationLagSeconds is null)
                items.Add(new(RiskCode.ReplicationLag, RiskSeverity.Warning, $"replica {r.InstanceId} does not replicate (lag unknown)"));
            else if (r.ReplicationLagSeconds > t.MaxReplicationLagSeconds)
            {
                items.Add(new(RiskCode.ReplicationLag, RiskSeverity.Warning, string.Create(Ci,
                    $"replica {r.InstanceId} is {r.ReplicationLagSeconds:0.#} s behind its primary (threshold {t.MaxReplicationLagSeconds:0.#} s)")));
            }
        }

        if (member.OpenConnections > t.MaxOpenConnections)
        {
            items.Add(new(RiskCode.OpenConnections, RiskSeverity.Warning, string.Create(Ci,
                $"{instanceId} has {member.OpenConnections} open client connection(s); draining closes them when it times out")));
        }
        return new RiskReport(instanceId, items);
    }

    private static void SpreadRisk(ShardSnapshot shard, ShardMemberStatus removed, List<ShardMemberStatus> remaining, List<RiskItem> items, string name)
    {
        if (remaining.Count < 2) return;
        var rule = shard.Spread;
        var before = shard.Members.Select(m => rule.KeyOf(m.HostId, m.Zone, m.Rack)).Distinct(StringComparer.Ordinal).Count();
        var after = remaining.Select(m => rule.KeyOf(m.HostId, m.Zone, m.Rack)).Distinct(StringComparer.Ordinal).ToList();
        // Fewer domains only matters when the survivors now double up in one of them.
        var removedDomain = rule.KeyOf(removed.HostId, removed.Zone, removed.Rack);
        if (after.Count == 1 && before > 1)
        {
            items.Add(new(RiskCode.SpreadBroken, rule.Mode == SpreadMode.Hard ? RiskSeverity.Blocking : RiskSeverity.Warning, string.Create(Ci,
                $"after removing {removed.InstanceId} every remaining member of shard {name} is in {rule.DomainName} {after[0]}: one {rule.DomainName} failure takes the shard down")));
        }
        else if (after.Count < before && after.Count < remaining.Count)
        {
            items.Add(new(RiskCode.SpreadReduced, RiskSeverity.Warning, string.Create(Ci,
                $"shard {name} would span {after.Count} {rule.DomainName}s instead of {before} ({removedDomain} is left empty)")));
        }
    }
}
