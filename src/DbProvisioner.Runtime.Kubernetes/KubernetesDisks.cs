using System.Diagnostics;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>
/// The disks of one node: formatting, seeding and wiping run as a Job pinned to the node (one per disk, by name), and
/// a disk's check is what its last Job reported. A disk whose PV exists is an instance's and is never formatted.
/// </summary>
internal sealed class KubernetesDisks(KubernetesCluster cluster, string node, HostConnection host, KubernetesRuntimeOptions options, TimeProvider time, ILogger logger)
{
    private string HostId => host.HostId;
    private string Ns => cluster.Namespace;

    public async Task FormatAsync(string device, bool seed, CancellationToken cancellationToken)
    {
        var job = KubernetesObjects.DiskJob(node, host, device, seed);
        var name = job.Metadata.Name;
        var started = Stopwatch.GetTimestamp();
        var volume = await cluster.TryReadAsync(HostId, (k, ct) => k.CoreV1.ReadPersistentVolumeAsync(KubernetesNames.Volume(node, device), cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        if (volume is not null)
            throw new EngineRejectedException(HostId, $"format {device}", $"it is in use: PV {volume.Metadata.Name} of claim {volume.Spec?.ClaimRef?.Name} still exists");

        using var timeout = new CancellationTokenSource(options.JobTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // A finished Job of an earlier format goes first: every call formats again (that is how a disk is wiped).
            var earlier = await ReadJobAsync(name, linked.Token).ConfigureAwait(false);
            if (earlier is not null && Outcome(earlier) is not null)
            {
                await cluster.DeleteAsync(HostId, (k, ct) => k.BatchV1.DeleteNamespacedJobAsync(name, Ns, propagationPolicy: "Background", cancellationToken: ct), linked.Token).ConfigureAwait(false);
                await KubernetesWatch.UntilAsync<V1Job>(ct => ReadJobAsync(name, ct), (rv, ct) => WatchJob(name, rv, ct), j => j is null, linked.Token).ConfigureAwait(false);
            }
            await cluster.CreateOrReadAsync(HostId, (k, ct) => k.BatchV1.CreateNamespacedJobAsync(job, Ns, cancellationToken: ct),
                (k, ct) => k.BatchV1.ReadNamespacedJobAsync(name, Ns, cancellationToken: ct), linked.Token).ConfigureAwait(false);
            var finished = await KubernetesWatch.UntilAsync<V1Job>(ct => ReadJobAsync(name, ct), (rv, ct) => WatchJob(name, rv, ct), j => j is null || Outcome(j) is not null, linked.Token).ConfigureAwait(false);
            if (finished is null) throw new EngineRejectedException(HostId, $"format {device}", $"its job {name} was deleted while it ran");
            if (Outcome(finished) is { Succeeded: false } failed) throw new EngineRejectedException(HostId, $"format {device}", failed.Reason);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new EngineRejectedException(HostId, $"format {device}", $"its job {name} did not finish within {options.JobTimeout} (is node {node} down?)");
        }
        logger.LogInformation("Formatted {Device} on node {Node} of cluster {Cluster}{Seeded} in {Elapsed}", device, node, cluster.Name, seed ? " (seeded)" : "", Stopwatch.GetElapsedTime(started));
    }

    /// <summary>The disk as its last format Job left it: xfs (and seeded when that Job seeded) once it completed; nothing known otherwise.</summary>
    public async Task<DiskCheck> CheckAsync(string device, CancellationToken cancellationToken)
    {
        var job = await ReadJobAsync(KubernetesNames.DiskJob(node, device), cancellationToken).ConfigureAwait(false);
        return job is not null && Outcome(job) is { Succeeded: true }
            ? new DiskCheck(device, "xfs", job.Metadata.Labels is { } labels && labels.TryGetValue(OwnershipLabels.Helper, out var purpose) && purpose == "seed")
            : new DiskCheck(device, null, false);
    }

    /// <summary>Complete or Failed (with the Job's words), or null while it runs.</summary>
    internal static (bool Succeeded, string Reason)? Outcome(V1Job job)
    {
        var conditions = job.Status?.Conditions ?? [];
        if (conditions.Any(c => c.Type == "Complete" && c.Status == "True")) return (true, "");
        if (conditions.FirstOrDefault(c => c.Type == "Failed" && c.Status == "True") is { } failed)
            return (false, $"its job failed: {failed.Reason}{(string.IsNullOrEmpty(failed.Message) ? "" : ": " + failed.Message)}");
        return null;
    }

    private Task<V1Job?> ReadJobAsync(string name, CancellationToken cancellationToken) =>
        cluster.TryReadAsync(HostId, (k, ct) => k.BatchV1.ReadNamespacedJobAsync(name, Ns, cancellationToken: ct), cancellationToken);

    private IAsyncEnumerable<(WatchEventType, V1Job)> WatchJob(string name, string resourceVersion, CancellationToken cancellationToken) =>
        cluster.Client.BatchV1.WatchListNamespacedJobAsync(Ns, fieldSelector: $"metadata.name={name}", resourceVersion: resourceVersion, timeoutSeconds: 300, cancellationToken: cancellationToken);
}
