namespace DbProvisioner.Runtime;

/// <summary>Where an instance's MySQL finds its data, its configuration and its passwords, whatever runs it (a container or a Pod).</summary>
public static class InstanceLayout
{
    public const string DataDir = "/var/lib/mysql";
    public const string ConfDir = "/etc/mysql/conf.d";
    public const string ConfFile = "dbprov.cnf";
    public const string SecretsDir = "/etc/dbprov/secrets";
    public const string RootPasswordFile = "root-password";
    public const string UserPasswordFile = "user-password";

    /// <summary>Where a helper (a format, seed or wipe) sees the disk it works on.</summary>
    public const string HelperDevice = "/dev/dbprov-disk";
}
