namespace DbProvisioner.Runtime;

/// <summary>
/// How the appliance reaches one host: its container engine, the address where the MySQL ports of
/// its instances answer, and the image its instances and helpers run.
/// </summary>
/// <param name="HostId">The host id, as DESIGN.md uses it ("local", "db-17").</param>
/// <param name="EngineEndpoint">The engine API, e.g. unix:///var/run/docker.sock or tcp://10.0.0.7:2376.</param>
/// <param name="MySqlAddress">Where the instances' ports are reached from the appliance, e.g. 127.0.0.1.</param>
/// <param name="Image">The MySQL image, also used for short-lived helpers (mkfs, sysfs).</param>
public sealed record HostConnection(string HostId, Uri EngineEndpoint, string MySqlAddress, string Image)
{
    public const string DefaultImage = "dbprov/mysql:10.11";

    public static HostConnection Local(string hostId = "local") =>
        new(hostId, new Uri("unix:///var/run/docker.sock"), "127.0.0.1", DefaultImage);
}
