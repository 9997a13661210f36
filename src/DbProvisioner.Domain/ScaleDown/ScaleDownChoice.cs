namespace DbProvisioner.Domain.ScaleDown;

/// <summary>Which member a shrinking shard gives up, so that what stays is as safe and as spread as possible.</summary>
public static class ScaleDownChoice
{
    /// <summary>
    /// A replica before the primary; among those, the one whose removal leaves the most failure
    /// domains (a member sharing its domain with another goes first); then an unhealthy one; then
    /// the one furthest behind; then the highest instance id. Null for an empty shard.
    /// </summary>
    public static ShardMemberStatus? ChooseMemberToRemove(ShardSnapshot shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        if (shard.Members.Count == 0) return null;
        var rule = shard.Spread;
        var perDomain = shard.Members
            .GroupBy(m => rule.KeyOf(m.HostId, m.Zone, m.Rack), StringComparer.Ordinal)
            .ToDictionary(static g => g.Key, static g => g.Count(), StringComparer.Ordinal);
        return shard.Members
            .OrderBy(static m => m.Role == MemberRole.Primary ? 1 : 0)
            .ThenByDescending(m => perDomain[rule.KeyOf(m.HostId, m.Zone, m.Rack)])
            .ThenBy(static m => m.Healthy ? 1 : 0)
            .ThenByDescending(static m => m.ReplicationLagSeconds ?? double.MaxValue)
            .ThenByDescending(static m => m.InstanceId, StringComparer.Ordinal)
            .First();
    }
}
