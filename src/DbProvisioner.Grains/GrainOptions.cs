namespace DbProvisioner.Grains;

/// <summary>How the grains provision: deadlines, defaults and the image instances run.</summary>
public sealed class ProvisioningOptions
{
    /// <summary>How long MySQL may take to answer after its container started.</summary>
    public TimeSpan ReadyDeadline { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>The image of instances and helpers, unless a host says otherwise.</summary>
    public string Image { get; set; } = "dbprov/mysql:10.11";

    /// <summary>The watermark when a host registers none: keep every disk formatted, this many seeded.</summary>
    public int DefaultSeededDisks { get; set; } = 2;

    /// <summary>How many times a member placement retries after a host refused a stale choice.</summary>
    public int PlacementAttempts { get; set; } = 5;

    /// <summary>How long a drain waits for client connections to end before removing anyway.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a scale-down request waits for an approval before it expires.</summary>
    public TimeSpan ScaleDownExpiry { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Replication lag above which the risk report warns.</summary>
    public double MaxReplicationLagSeconds { get; set; } = 30;

    /// <summary>The root-only file holding the key that encrypts instance passwords at rest (made on first use).</summary>
    public string CredentialKeyFile { get; set; } = "/var/lib/dbprov/secrets/credentials.key";
}
