namespace DbProvisioner.Grains;

/// <summary>How hosts are watched (section <c>HostHealth</c>): the heartbeat's cadence and when a host counts as dead.</summary>
public sealed class HostHealthOptions
{
    public const string SectionName = "HostHealth";

    /// <summary>How often every host is probed.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Engine failures in a row that make a host unhealthy (an open circuit does at once).</summary>
    public int FailureThreshold { get; set; } = 2;

    /// <summary>How long one probe may take before it counts as a failure (retries inside the driver included).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The pool's disks are checked every this many heartbeats (the check runs a helper container).</summary>
    public int DiskCheckEvery { get; set; } = 12;
}
