using System.ComponentModel.DataAnnotations;

namespace DbProvisioner.Server.Hosting;

/// <summary>How the silos find each other.</summary>
public enum ClusteringMode
{
    /// <summary>One silo on this machine, membership in memory (development clustering): the single-process appliance.</summary>
    Localhost,

    /// <summary>Membership and reminders in the meta database (Orleans' ADO.NET providers): any number of silos in one cluster.</summary>
    AdoNet,
}

/// <summary>Cluster membership and reminders (section <c>Cluster</c>; Orleans reads its own section <c>Orleans</c>, so not there).</summary>
public sealed class ClusteringOptions
{
    public const string Section = "Cluster";

    public ClusteringMode Membership { get; set; } = ClusteringMode.Localhost;

    /// <summary>The address this silo advertises to the others (AdoNet); loopback for silos on one machine.</summary>
    [Required]
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// How often the recovery sweep reminder resumes unfinished work (instances, clusters, disk pools) cluster-wide. A reminder,
    /// not a timer: it is in the meta database, so after a silo's death a survivor fires it for the grains that silo was running.
    /// </summary>
    public TimeSpan RecoverySweepPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a silo may miss probes before the others vote it dead (Orleans' ProbeTimeout × missed probes).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    [Range(1, 10)]
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>
    /// The silo runs in a Kubernetes pod (the appliance's manifests set it): Orleans' Kubernetes hosting takes the silo's name,
    /// address and ids from the pod and deletes the pods of silos the cluster declared dead.
    /// </summary>
    public bool KubernetesHosting { get; set; }
}
