using System.Runtime.CompilerServices;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Topology;
using k8s;
using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>
/// The Kubernetes driver of one node (host = node of a registered cluster): the <see cref="IHostRuntime"/> port over
/// its instances' pods and its disks' jobs. Every API call runs through its cluster's one resilience pipeline
/// (<see cref="KubernetesCluster"/>). Made only by <see cref="KubernetesHostRuntimeFactory"/>, one per host.
/// </summary>
public sealed class KubernetesHostRuntime : IHostRuntime
{
    private readonly KubernetesCluster _cluster;
    private readonly KubernetesInstances _instances;
    private readonly KubernetesDisks _disks;

    internal KubernetesHostRuntime(HostConnection host, KubernetesEndpoint endpoint, KubernetesCluster cluster, KubernetesInstances instances, KubernetesDisks disks)
    {
        Host = host;
        Endpoint = endpoint;
        _cluster = cluster;
        _instances = instances;
        _disks = disks;
    }

    public HostConnection Host { get; }
    public KubernetesEndpoint Endpoint { get; }
    private string HostId => Host.HostId;
    private string Ns => _cluster.Namespace;

    // ---------------------------------------------------------------- topology

    /// <summary>
    /// The node's NUMA zones from its NodeResourceTopology object when the cluster has one (<see cref="NodeResourceTopology"/>);
    /// else (no CRD, no object, or no zone counting CPUs) its allocatable CPUs and memory as one NUMA node of single-thread
    /// cores: the Node object shows no NUMA layout or siblings, and the kubelet's CPU manager chooses the cores anyway.
    /// </summary>
    public async Task<HostTopology> DiscoverTopologyAsync(CancellationToken cancellationToken)
    {
        var (cpus, memoryMiB) = Allocatable(await ReadNodeAsync(cancellationToken).ConfigureAwait(false));
        if (await ReadZonesAsync(memoryMiB, cancellationToken).ConfigureAwait(false) is { } zones) return zones;
        if (cpus < 1) throw new EngineRejectedException(HostId, "read the node's CPUs", $"node {Endpoint.Node} has no whole allocatable CPU");
        return new HostTopology([new NumaNode(0, memoryMiB, [.. Enumerable.Range(0, cpus).Select(c => new PhysicalCore(c, 0, CpuSet.Of([c])))])]);
    }

    private static async Task<StrongBox<System.Text.Json.JsonElement>> Boxed(Task<System.Text.Json.JsonElement> read) => new(await read.ConfigureAwait(false));

    private async Task<HostTopology?> ReadZonesAsync(long memoryMiB, CancellationToken cancellationToken)
    {
        // A 404 is "no CRD" as well as "no object for this node": both mean the node's capacity is all there is.
        var nrt = await _cluster.TryReadAsync(HostId, (k, ct) => Boxed(k.CustomObjects.GetClusterCustomObjectAsync<System.Text.Json.JsonElement>(
            NodeResourceTopology.Group, NodeResourceTopology.Version, NodeResourceTopology.Plural, Endpoint.Node, ct)), cancellationToken).ConfigureAwait(false);
        if (nrt is null) return null;
        try
        {
            return NodeResourceTopology.ToTopology(nrt.Value, memoryMiB);
        }
        catch (FormatException e)
        {
            throw new EngineRejectedException(HostId, "read the node's NUMA zones", e.Message, e);
        }
    }

    /// <summary>No swap for instances: a Guaranteed pod gets none, and no pod can be held to an allowance of its own.</summary>
    public Task<HostSwapInfo> DiscoverSwapAsync(CancellationToken cancellationToken) => Task.FromResult(new HostSwapInfo(0, false));

    private async Task<V1Node> ReadNodeAsync(CancellationToken cancellationToken) =>
        await _cluster.TryReadAsync(HostId, (k, ct) => k.CoreV1.ReadNodeAsync(Endpoint.Node, cancellationToken: ct), cancellationToken).ConfigureAwait(false)
            ?? throw new EngineUnavailableException(HostId, new InvalidOperationException($"node {Endpoint.Node} is not in cluster {Endpoint.Cluster}"));

    internal static (int Cpus, long MemoryMiB) Allocatable(V1Node node)
    {
        var resources = node.Status?.Allocatable ?? node.Status?.Capacity ?? new Dictionary<string, ResourceQuantity>();
        var cpus = resources.TryGetValue("cpu", out var cpu) ? (int)Math.Floor(cpu.ToDecimal()) : 0;
        var memory = resources.TryGetValue("memory", out var mem) ? (long)(mem.ToDecimal() / (1024 * 1024)) : 0;
        return (cpus, memory);
    }

    // ---------------------------------------------------------------- disks

    public Task FormatDiskAsync(string device, bool seed, CancellationToken cancellationToken) => _disks.FormatAsync(device, seed, cancellationToken);

    public Task<DiskCheck> CheckDiskAsync(string device, CancellationToken cancellationToken) => _disks.CheckAsync(device, cancellationToken);

    // ---------------------------------------------------------------- instances

    public Task<InstanceHandle> StartInstanceAsync(InstanceContainerSpec spec, CancellationToken cancellationToken) => _instances.StartAsync(spec, cancellationToken);

    public Task WaitUntilReadyAsync(string instanceId, int port, InstanceCredentials credentials, TimeSpan deadline, CancellationToken cancellationToken) =>
        _instances.WaitUntilReadyAsync(instanceId, port, credentials, deadline, cancellationToken);

    public Task RemoveInstanceAsync(string instanceId, CancellationToken cancellationToken) => _instances.RemoveAsync(instanceId, cancellationToken);

    public Task<CpuSet?> ReadCpusetAsync(string instanceId, CancellationToken cancellationToken) => _instances.ReadCpusetAsync(instanceId, cancellationToken);

    public Task<InstanceStatus?> InspectInstanceAsync(string instanceId, CancellationToken cancellationToken) => _instances.InspectAsync(instanceId, cancellationToken);

    // ---------------------------------------------------------------- ownership

    private string Selector => string.Join(",", OwnershipLabels.Selector(HostId));

    /// <summary>Instance pods and disk jobs as containers, instance claims as volumes: everything labelled as this host's.</summary>
    public async Task<OwnedResources> ListOwnedAsync(CancellationToken cancellationToken)
    {
        var pods = await _cluster.CallAsync(HostId, (k, ct) => k.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: Selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        var jobs = await _cluster.CallAsync(HostId, (k, ct) => k.BatchV1.ListNamespacedJobAsync(Ns, labelSelector: Selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        var claims = await _cluster.CallAsync(HostId, (k, ct) => k.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns, labelSelector: Selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        static DateTimeOffset? Created(V1ObjectMeta m) => m.CreationTimestamp is { } c ? new DateTimeOffset(DateTime.SpecifyKind(c, DateTimeKind.Utc)) : null;
        static Dictionary<string, string> Labels(V1ObjectMeta m) => new(m.Labels ?? new Dictionary<string, string>());
        return new OwnedResources(
            [
                // Pods of a Job carry its labels: the Job stands for them.
                .. pods.Items.Where(p => !Labels(p.Metadata).ContainsKey(OwnershipLabels.Helper))
                    .Select(p => new OwnedContainer(p.Metadata.Uid ?? p.Metadata.Name, p.Metadata.Name, (p.Status?.Phase ?? "Unknown").ToLowerInvariant(), Labels(p.Metadata), Created(p.Metadata))),
                .. jobs.Items.Select(j => new OwnedContainer(j.Metadata.Uid ?? j.Metadata.Name, j.Metadata.Name,
                    KubernetesDisks.Outcome(j) is { } o ? (o.Succeeded ? "exited" : "dead") : "running", Labels(j.Metadata), Created(j.Metadata))),
            ],
            [.. claims.Items.Select(c => new OwnedVolume(c.Metadata.Name, Labels(c.Metadata), Created(c.Metadata)))]);
    }

    public async Task RemoveOwnedContainerAsync(string containerName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(containerName);
        var owned = await ListOwnedAsync(cancellationToken).ConfigureAwait(false);
        var found = owned.Containers.FirstOrDefault(c => c.Name == containerName || c.Id == containerName);
        if (found is null) return; // gone, or not ours
        if (found.Helper is null && found.InstanceId is { } instanceId)
        {
            await _instances.RemoveAsync(instanceId, cancellationToken).ConfigureAwait(false);
            return;
        }
        await _cluster.DeleteAsync(HostId, (k, ct) => k.BatchV1.DeleteNamespacedJobAsync(found.Name, Ns, propagationPolicy: "Background", cancellationToken: ct), cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveOwnedVolumeAsync(string volumeName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(volumeName);
        var owned = await ListOwnedAsync(cancellationToken).ConfigureAwait(false);
        if (!owned.Volumes.Any(v => v.Name == volumeName)) return;
        // A claim whose pod still runs stays: deleting it would only park it behind the pvc-protection finalizer.
        if (owned.Containers.Any(c => c.Helper is null && c.InstanceId is { } id && KubernetesNames.Claim(id) == volumeName)) return;
        await _cluster.DeleteAsync(HostId, (k, ct) => k.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(volumeName, Ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The instance pods with the cpuset the kubelet gave each (read back by exec), their memory limits and restart
    /// policy, and the instance claims with the device of their PV: the engine side of an inspection.
    /// </summary>
    public async Task<EngineInspection> InspectEngineAsync(CancellationToken cancellationToken)
    {
        var pods = await _cluster.CallAsync(HostId, (k, ct) => k.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: Selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        var claims = await _cluster.CallAsync(HostId, (k, ct) => k.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns, labelSelector: Selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        var volumes = new List<InspectedVolume>();
        foreach (var claim in claims.Items)
        {
            if (claim.Metadata.Labels is null || !claim.Metadata.Labels.TryGetValue(OwnershipLabels.Instance, out var owner)) continue;
            var pv = claim.Spec?.VolumeName is { } pvName
                ? await _cluster.TryReadAsync(HostId, (k, ct) => k.CoreV1.ReadPersistentVolumeAsync(pvName, cancellationToken: ct), cancellationToken).ConfigureAwait(false)
                : null;
            volumes.Add(new InspectedVolume(claim.Metadata.Name, owner, pv?.Spec?.Local?.Path));
        }
        var containers = new List<InspectedContainer>();
        foreach (var pod in pods.Items)
        {
            var labels = pod.Metadata.Labels ?? new Dictionary<string, string>();
            if (labels.ContainsKey(OwnershipLabels.Helper) || !labels.TryGetValue(OwnershipLabels.Instance, out var instanceId)) continue;
            var running = pod.Status?.Phase == "Running" && pod.Status.ContainerStatuses?.FirstOrDefault()?.State?.Running is not null;
            var cpus = running ? (await _instances.ReadCpusetAsync(instanceId, cancellationToken).ConfigureAwait(false))?.ToString() ?? "" : "";
            var limits = pod.Spec?.Containers?.FirstOrDefault()?.Resources?.Limits;
            var memory = limits is not null && limits.TryGetValue("memory", out var m) ? (long)m.ToDecimal() : 0;
            // restartPolicy Always is what unless-stopped is on Docker: the kubelet restarts mysqld on the same node and data.
            var restart = pod.Spec?.RestartPolicy == "Always" ? Inspection.ExpectedRestartPolicy : pod.Spec?.RestartPolicy ?? "";
            containers.Add(new InspectedContainer(pod.Metadata.Name, instanceId, running, cpus, "", memory, memory, restart,
                volumes.FirstOrDefault(v => v.InstanceId == instanceId)?.Device));
        }
        return new EngineInspection(containers, volumes);
    }

    // ---------------------------------------------------------------- health

    /// <summary>The node's allocatable CPUs and memory; a node that is gone or not Ready does not answer.</summary>
    public async Task<EngineFacts?> PingAsync(CancellationToken cancellationToken)
    {
        var node = await ReadNodeAsync(cancellationToken).ConfigureAwait(false);
        var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        if (ready?.Status != "True")
            throw new EngineUnavailableException(HostId, new InvalidOperationException($"node {Endpoint.Node} is not Ready: {ready?.Reason ?? "no Ready condition"} {ready?.Message}".TrimEnd()));
        var (cpus, memoryMiB) = Allocatable(node);
        return new EngineFacts(cpus, memoryMiB);
    }

    public bool CircuitOpen => _cluster.CircuitOpen;
}
