using DbProvisioner.Domain.Disks;

namespace DbProvisioner.Runtime.Docker;

/// <summary>Knobs of the Docker driver; the defaults suit a host on the same LAN.</summary>
public sealed record DockerRuntimeOptions
{
    /// <summary>The Engine API version to speak; 1.41 is what Debian's docker.io serves, and newer engines still accept it.</summary>
    public Version ApiVersion { get; init; } = new(1, 41);

    /// <summary>One attempt of an ordinary engine call (create, inspect, list…).</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>One attempt of a call that waits for work on the host (a helper's run, a clean mysqld stop).</summary>
    public TimeSpan LongCallTimeout { get; init; } = TimeSpan.FromMinutes(3);

    public int MaxRetryAttempts { get; init; } = 3;
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The circuit of a host opens when half of at least this many calls in 30 s failed transiently.</summary>
    public int CircuitMinimumThroughput { get; init; } = 8;
    public TimeSpan CircuitBreakDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long mysqld gets to shut InnoDB down cleanly before it is killed.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Fault injection for drills and tests (section <c>Docker:Chaos</c>): injected faults look like an engine that does not answer.</summary>
    public DbProvisioner.Runtime.Faults.ChaosOptions Chaos { get; init; } = new();

    /// <summary>uid and gid of the mysql user in the image (images/mysql/Dockerfile).</summary>
    public int MySqlUid { get; init; } = 999;

    /// <summary>
    /// The folder on every host whose files back the disk pool's loop devices (hack/disks.sh), as the kernel names
    /// it (no symlinks): only a loop device over a file in it is ever formatted, seeded or wiped.
    /// </summary>
    public string DiskPoolFolder { get; init; } = DiskDevicePolicy.DefaultPoolFolder;

    /// <summary>Whether a whole real (non-loop) disk listed in a host's registration may be formatted; off, only pool loop devices are.</summary>
    public bool AllowWholeDisks { get; init; }

    /// <summary>The client certificate for engines over mutual TLS (section <c>Docker:Tls</c>); with it, <c>tcp://</c> means TLS.</summary>
    public DockerTlsOptions Tls { get; init; } = new();

    /// <summary>Whether a plain-text <c>tcp://</c> engine on loopback may be registered (development only); a remote one never is.</summary>
    public bool AllowPlainLoopback { get; init; }

    /// <summary>
    /// The registry a host pulls the instance image from when its engine lacks it (<c>Docker:Registry</c>, host:port, e.g. the
    /// fleet's <c>10.251.0.1:5000</c>); the engine must trust its certificate. Unset: the image is pulled by its own name.
    /// </summary>
    public string? Registry { get; init; }

    public DiskDevicePolicy DiskPolicy => new(DiskPoolFolder, AllowWholeDisks);
}
