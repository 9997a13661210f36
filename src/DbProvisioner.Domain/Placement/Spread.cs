using DbProvisioner.Api;

namespace DbProvisioner.Domain.Placement;

/// <summary>At most <see cref="MaxPerDomain"/> members of one shard per failure domain.</summary>
public sealed record SpreadRule(SpreadDomain Domain, int MaxPerDomain, SpreadMode Mode)
{
    public static SpreadRule None { get; } = new(SpreadDomain.Host, int.MaxValue, SpreadMode.Soft);

    public string DomainName => Domain switch
    {
        SpreadDomain.Host => "host",
        SpreadDomain.Rack => "rack",
        _ => "zone",
    };

    /// <summary>The domain a location belongs to. Racks are named within their zone, so the zone is part of a rack's key.</summary>
    public string KeyOf(string hostId, string zone, string rack) => Domain switch
    {
        SpreadDomain.Host => hostId,
        SpreadDomain.Rack => zone + "/" + rack,
        _ => zone,
    };

    public bool SameDomain(MemberLocation member, string hostId, string zone, string rack) => Domain switch
    {
        SpreadDomain.Host => string.Equals(member.HostId, hostId, StringComparison.Ordinal),
        SpreadDomain.Rack => string.Equals(member.Rack, rack, StringComparison.Ordinal) && string.Equals(member.Zone, zone, StringComparison.Ordinal),
        _ => string.Equals(member.Zone, zone, StringComparison.Ordinal),
    };
}

/// <summary>Where a member of a shard lives.</summary>
public sealed record MemberLocation(string InstanceId, string HostId, string Zone, string Rack);

/// <summary>The shard a new member joins: its spread rule and where its members already are.</summary>
public sealed record ShardContext(string Cluster, string Shard, SpreadRule Spread, IReadOnlyList<MemberLocation> Members)
{
    public string Name => Cluster + "/" + Shard;

    /// <summary>One more member may go to this location: a soft rule only scores, a hard one admits while the domain holds fewer than its maximum.</summary>
    public bool Admits(string hostId, string zone, string rack) =>
        Spread.Mode != SpreadMode.Hard || MembersIn(hostId, zone, rack) < Spread.MaxPerDomain;

    /// <summary>Why one more member may not go to this location, in words; "" when it may.</summary>
    public string RefusalAt(string hostId, string zone, string rack)
    {
        if (Admits(hostId, zone, rack)) return "";
        var domain = Spread.Domain switch
        {
            SpreadDomain.Host => "host " + hostId,
            SpreadDomain.Rack => $"rack {zone}/{rack}",
            _ => "zone " + zone,
        };
        var n = MembersIn(hostId, zone, rack);
        var members = n == 1 ? "a member" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{n} members");
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{domain} already holds {members} of shard {Name} (hard spread: at most {Spread.MaxPerDomain} per {Spread.DomainName})");
    }

    public int MembersIn(string hostId, string zone, string rack)
    {
        var n = 0;
        var members = Members;
        for (var i = 0; i < members.Count; i++) // no enumerator: this runs for every host scanned
            if (Spread.SameDomain(members[i], hostId, zone, rack)) n++;
        return n;
    }
}
