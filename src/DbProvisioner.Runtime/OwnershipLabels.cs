using System.Globalization;

namespace DbProvisioner.Runtime;

/// <summary>
/// Labels on everything the appliance makes on a host, so it can be reconciled and garbage-collected. One set for
/// every driver: a Docker container or volume and a Kubernetes pod or volume of the same instance carry the same labels.
/// </summary>
public static class OwnershipLabels
{
    public const string ManagedBy = "dbprov.managed-by";
    public const string ManagedByValue = "dbprovisioner";
    public const string Host = "dbprov.host";
    public const string Instance = "dbprov.instance";
    public const string Port = "dbprov.port";
    public const string Disk = "dbprov.disk";
    /// <summary>Set on short-lived helper containers and volumes: what they are for (format, check, topology).</summary>
    public const string Helper = "dbprov.helper";

    public static bool IsReserved(string key) =>
        key is ManagedBy or Host or Instance or Port or Disk or Helper;

    /// <summary>What every resource made for <paramref name="hostId"/> carries, plus <paramref name="extra"/>.</summary>
    public static Dictionary<string, string> Owned(string hostId, params (string Key, string Value)[] extra)
    {
        var labels = new Dictionary<string, string>
        {
            [ManagedBy] = ManagedByValue,
            [Host] = hostId,
        };
        foreach (var (key, value) in extra) labels[key] = value;
        return labels;
    }

    /// <summary>An instance's container and data volume: owned, its id, port and disk, then the caller's labels (cluster, shard, role…).</summary>
    public static Dictionary<string, string> ForInstance(string hostId, InstanceContainerSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var labels = Owned(hostId,
            (Instance, spec.InstanceId),
            (Port, spec.Port.ToString(CultureInfo.InvariantCulture)),
            (Disk, spec.Device));
        foreach (var (key, value) in spec.Labels ?? new Dictionary<string, string>()) labels[key] = value;
        return labels;
    }

    /// <summary>A short-lived helper (container or volume): owned, what it is for, and the disk it works on, if any.</summary>
    public static Dictionary<string, string> ForHelper(string hostId, string purpose, string? device = null) =>
        device is null
            ? Owned(hostId, (Helper, purpose))
            : Owned(hostId, (Helper, purpose), (Disk, device));

    /// <summary>"key=value" terms that select what the appliance owns on <paramref name="hostId"/> (and <paramref name="extra"/>), for an engine's label filter.</summary>
    public static IReadOnlyList<string> Selector(string hostId, params (string Key, string Value)[] extra) =>
        [.. Owned(hostId, extra).Select(label => $"{label.Key}={label.Value}")];
}
