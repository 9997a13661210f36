using System.Diagnostics;
using System.Net;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime.Docker;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>
/// The life of instance pods on one node: start (idempotent by name, nothing left behind on failure), wait until the
/// pod is Ready and MySQL answers, inspect, delete with its claim, PV, config map and secret.
/// </summary>
internal sealed class KubernetesInstances(
    KubernetesCluster cluster, string node, HostConnection host, KubernetesRuntimeOptions options, MySqlReadiness readiness, TimeProvider time, ILogger logger)
{
    private string HostId => host.HostId;
    private string Ns => cluster.Namespace;

    public async Task<InstanceHandle> StartAsync(InstanceContainerSpec spec, CancellationToken cancellationToken)
    {
        // Built (and so validated) before anything is created.
        var pod = KubernetesObjects.InstancePod(node, host, spec);
        var pv = KubernetesObjects.DiskVolume(node, HostId, spec.Device, options.NominalDiskGiB, spec.InstanceId);
        var claim = KubernetesObjects.DataClaim(node, host, spec, options.NominalDiskGiB);
        var config = KubernetesObjects.InstanceConfig(host, spec);
        var secret = KubernetesObjects.InstanceSecret(host, spec);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await cluster.CreateOrReadAsync(HostId, (k, ct) => k.StorageV1.CreateStorageClassAsync(KubernetesObjects.StorageClass(), cancellationToken: ct),
                (k, ct) => k.StorageV1.ReadStorageClassAsync(KubernetesNames.StorageClass, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            var madePv = await cluster.CreateOrReadAsync(HostId, (k, ct) => k.CoreV1.CreatePersistentVolumeAsync(pv, cancellationToken: ct),
                (k, ct) => k.CoreV1.ReadPersistentVolumeAsync(pv.Metadata.Name, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            if (madePv.Spec?.ClaimRef?.Name is { } claimedBy && claimedBy != claim.Metadata.Name)
                throw InstanceException.Conflict(HostId, spec.InstanceId, $"disk {spec.Device} is claimed by {claimedBy}");
            await cluster.CreateOrReadAsync(HostId, (k, ct) => k.CoreV1.CreateNamespacedConfigMapAsync(config, Ns, cancellationToken: ct),
                (k, ct) => k.CoreV1.ReadNamespacedConfigMapAsync(config.Metadata.Name, Ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            await cluster.CreateOrReadAsync(HostId, (k, ct) => k.CoreV1.CreateNamespacedSecretAsync(secret, Ns, cancellationToken: ct),
                (k, ct) => k.CoreV1.ReadNamespacedSecretAsync(secret.Metadata.Name, Ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            await cluster.CreateOrReadAsync(HostId, (k, ct) => k.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(claim, Ns, cancellationToken: ct),
                (k, ct) => k.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(claim.Metadata.Name, Ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            var made = await cluster.CreateOrReadAsync(HostId, (k, ct) => k.CoreV1.CreateNamespacedPodAsync(pod, Ns, cancellationToken: ct),
                (k, ct) => k.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, Ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            EnsureSameInstance(made, spec);
            logger.LogInformation("Created pod of instance {InstanceId} on node {Node} of cluster {Cluster} (disk {Device}, {Cpus} CPUs, port {Port}) in {Elapsed}",
                spec.InstanceId, node, cluster.Name, spec.Device, spec.Cpus.Count, spec.Port, Stopwatch.GetElapsedTime(started));
            return new InstanceHandle(spec.InstanceId, made.Metadata.Uid ?? made.Metadata.Name, made.Metadata.Name, claim.Metadata.Name, host.MySqlAddress, spec.Port);
        }
        catch (HttpOperationException e)
        {
            await RemoveQuietlyAsync(spec.InstanceId).ConfigureAwait(false);
            throw new EngineRejectedException(HostId, $"start instance {spec.InstanceId}", KubernetesCluster.MessageOf(e), e);
        }
        catch (InstanceException)
        {
            await RemoveQuietlyAsync(spec.InstanceId).ConfigureAwait(false);
            throw;
        }
    }

    private void EnsureSameInstance(V1Pod existing, InstanceContainerSpec spec)
    {
        var labels = existing.Metadata.Labels ?? new Dictionary<string, string>();
        string? Label(string key) => labels.TryGetValue(key, out var v) ? v : null;
        if (Label(OwnershipLabels.Instance) != spec.InstanceId || Label(OwnershipLabels.Host) != HostId || existing.Spec?.NodeName != node)
            throw InstanceException.Conflict(HostId, spec.InstanceId, $"pod {existing.Metadata.Name} exists but is not this instance's on node {node}");
        if (Label(OwnershipLabels.Disk) != KubernetesNames.DeviceLabel(spec.Device))
            throw InstanceException.Conflict(HostId, spec.InstanceId, $"it already runs on disk {Label(OwnershipLabels.Disk)}, not {spec.Device}");
        if (Label(OwnershipLabels.Port) != spec.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))
            throw InstanceException.Conflict(HostId, spec.InstanceId, $"it already listens on port {Label(OwnershipLabels.Port)}, not {spec.Port}");
    }

    private Task<V1Pod?> ReadPodAsync(string name, CancellationToken cancellationToken) =>
        cluster.TryReadAsync(HostId, (k, ct) => k.CoreV1.ReadNamespacedPodAsync(name, Ns, cancellationToken: ct), cancellationToken);

    private IAsyncEnumerable<(WatchEventType, V1Pod)> WatchPod(string name, string resourceVersion, CancellationToken cancellationToken) =>
        cluster.Client.CoreV1.WatchListNamespacedPodAsync(Ns, fieldSelector: $"metadata.name={name}", resourceVersion: resourceVersion,
            timeoutSeconds: 300, cancellationToken: cancellationToken);

    /// <summary>Watches the pod until Ready (failing at once when it cannot get there), then waits for MySQL's answer, all within <paramref name="deadline"/>.</summary>
    public async Task WaitUntilReadyAsync(string instanceId, int port, InstanceCredentials credentials, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var name = KubernetesNames.Pod(instanceId);
        var started = time.GetTimestamp();
        var first = await ReadPodAsync(name, cancellationToken).ConfigureAwait(false) ?? throw InstanceException.Failed(HostId, instanceId, "it has no pod");
        var restartsBefore = PodProgress.Restarts(first);

        using var timeout = new CancellationTokenSource(deadline, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await KubernetesWatch.UntilAsync<V1Pod>(ct => ReadPodAsync(name, ct), (rv, ct) => WatchPod(name, rv, ct), pod =>
            {
                var (stage, reason) = PodProgress.Of(pod, restartsBefore);
                return stage == PodStage.Failed ? throw InstanceException.Failed(HostId, instanceId, reason) : stage == PodStage.Ready;
            }, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var pod = await ReadPodAsync(name, cancellationToken).ConfigureAwait(false);
            throw InstanceException.NotReady(HostId, instanceId, deadline, $"its pod is {pod?.Status?.Phase ?? "gone"} and not Ready{NodeHint(pod)}");
        }

        // The pod is Ready (mysqld listens); it is the instance's only when MySQL answers with the new credentials.
        var left = deadline - time.GetElapsedTime(started);
        await readiness.WaitAsync(HostId, instanceId, host.MySqlAddress, port, credentials, left < TimeSpan.Zero ? TimeSpan.Zero : left, async ct =>
        {
            var pod = await ReadPodAsync(name, ct).ConfigureAwait(false);
            var (stage, reason) = PodProgress.Of(pod, restartsBefore);
            if (stage == PodStage.Failed) throw InstanceException.Failed(HostId, instanceId, reason);
        }, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Instance {InstanceId} on node {Node} answered after {Elapsed}", instanceId, node, time.GetElapsedTime(started));
    }

    private static string NodeHint(V1Pod? pod) =>
        pod?.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready" && c.Status != "True") is { Reason: { Length: > 0 } reason } ? $" ({reason})" : "";

    /// <summary>Deletes the pod and waits until it is gone (mysqld stopped, the disk unmounted), then its claim, the disk's PV, config map and secret. Idempotent.</summary>
    public async Task RemoveAsync(string instanceId, CancellationToken cancellationToken)
    {
        var name = KubernetesNames.Pod(instanceId);
        var claimName = KubernetesNames.Claim(instanceId);
        var claim = await cluster.TryReadAsync(HostId, (k, ct) => k.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(claimName, Ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        await cluster.DeleteAsync(HostId, (k, ct) => k.CoreV1.DeleteNamespacedPodAsync(name, Ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        using (var timeout = new CancellationTokenSource(options.DeleteTimeout, time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                await KubernetesWatch.UntilAsync<V1Pod>(ct => ReadPodAsync(name, ct), (rv, ct) => WatchPod(name, rv, ct), pod => pod is null, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new EngineRejectedException(HostId, $"remove instance {instanceId}", $"its pod is still terminating after {options.DeleteTimeout} (is node {node} down?)");
            }
        }
        await cluster.DeleteAsync(HostId, (k, ct) => k.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(claimName, Ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        if (claim?.Spec?.VolumeName is { } volume)
            await cluster.DeleteAsync(HostId, (k, ct) => k.CoreV1.DeletePersistentVolumeAsync(volume, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        await cluster.DeleteAsync(HostId, (k, ct) => k.CoreV1.DeleteNamespacedConfigMapAsync(KubernetesNames.Config(instanceId), Ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        await cluster.DeleteAsync(HostId, (k, ct) => k.CoreV1.DeleteNamespacedSecretAsync(KubernetesNames.Secret(instanceId), Ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Removed instance {InstanceId} from node {Node} of cluster {Cluster}", instanceId, node, cluster.Name);
    }

    /// <summary>Removes what a failed start made, never failing the caller: what stays behind is reconciliation's.</summary>
    private async Task RemoveQuietlyAsync(string instanceId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(options.DeleteTimeout, time);
            await RemoveAsync(instanceId, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HostRuntimeException or HttpOperationException or OperationCanceledException)
        {
            logger.LogWarning("Could not clean up instance {InstanceId} on node {Node}: {Error}", instanceId, node, e.Message);
        }
    }

    public async Task<InstanceStatus?> InspectAsync(string instanceId, CancellationToken cancellationToken)
    {
        var pod = await ReadPodAsync(KubernetesNames.Pod(instanceId), cancellationToken).ConfigureAwait(false);
        if (pod is null) return null;
        var mysqld = pod.Status?.ContainerStatuses?.FirstOrDefault();
        var phase = pod.Status?.Phase ?? "Unknown";
        return new InstanceStatus(instanceId, pod.Metadata.Uid ?? pod.Metadata.Name, phase.ToLowerInvariant(), phase == "Running" && mysqld?.State?.Running is not null,
            mysqld?.State?.Waiting?.Reason == "CrashLoopBackOff", mysqld?.RestartCount ?? 0, mysqld?.State?.Terminated?.ExitCode ?? mysqld?.LastState?.Terminated?.ExitCode ?? 0,
            mysqld?.State?.Running?.StartedAt is { } s ? new DateTimeOffset(DateTime.SpecifyKind(s, DateTimeKind.Utc)) : null,
            new Dictionary<string, string>(pod.Metadata.Labels ?? new Dictionary<string, string>()));
    }

    /// <summary>
    /// The CPUs the kubelet let mysqld run on: <c>Cpus_allowed_list</c> of its PID 1, read by an exec in the container
    /// (the API shows no cpuset: with the static CPU manager the kubelet chooses the cores), or null when it has no pod.
    /// </summary>
    public async Task<CpuSet?> ReadCpusetAsync(string instanceId, CancellationToken cancellationToken)
    {
        var name = KubernetesNames.Pod(instanceId);
        if (await ReadPodAsync(name, cancellationToken).ConfigureAwait(false) is null) return null;
        var output = "";
        try
        {
            await cluster.CallAsync(HostId, (k, ct) => k.NamespacedPodExecAsync(name, Ns, KubernetesObjects.InstanceContainer, ["grep", "Cpus_allowed_list", "/proc/1/status"], false,
                async (_, stdout, _) =>
                {
                    using var reader = new StreamReader(stdout);
                    output = await reader.ReadToEndAsync(ct).ConfigureAwait(false);
                }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (HostRuntimeException or OperationCanceledException))
        {
            throw new EngineRejectedException(HostId, $"read the cpuset of instance {instanceId}", e.Message, e);
        }
        return CpusAllowed(output) ?? throw new EngineRejectedException(HostId, $"read the cpuset of instance {instanceId}", $"its pod's /proc/1/status has no Cpus_allowed_list ({output.Trim()})");
    }

    /// <summary>The set of a <c>Cpus_allowed_list:\t0-3,8</c> line of /proc/&lt;pid&gt;/status, or null when there is none.</summary>
    public static CpuSet? CpusAllowed(string status)
    {
        const string Key = "Cpus_allowed_list:";
        var line = (status ?? "").Split('\n').Select(static l => l.Trim()).FirstOrDefault(static l => l.StartsWith(Key, StringComparison.Ordinal));
        return line is not null && CpuSet.TryParse(line[Key.Length..].Trim(), out var set, out _) && !set.IsEmpty ? set : null;
    }

    public static bool IsNotFound(HttpOperationException e) => KubernetesCluster.StatusOf(e) == HttpStatusCode.NotFound;
}
