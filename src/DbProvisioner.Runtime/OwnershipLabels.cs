namespace DbProvisioner.Runtime;

/// <summary>Labels on everything the appliance makes on a host, so it can be reconciled and garbage-collected.</summary>
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
}
