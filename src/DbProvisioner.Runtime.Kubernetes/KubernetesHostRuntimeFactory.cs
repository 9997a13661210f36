using System.Collections.Concurrent;
using DbProvisioner.Runtime.Docker;
using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>
/// The one place a node's runtime is made: one <see cref="KubernetesCluster"/> (client, pipeline, circuit) per
/// registered cluster, one <see cref="KubernetesHostRuntime"/> per host connection.
/// </summary>
/// <param name="clients">Makes a cluster's API client; by default from its kubeconfig (or the in-cluster account). Tests pass a fake API server.</param>
/// <param name="readiness">The wait for MySQL's answer once the pod is Ready.</param>
public sealed class KubernetesHostRuntimeFactory(
    KubernetesRuntimeOptions? options = null,
    Func<string, KubernetesClusterOptions, IKubernetes>? clients = null,
    ILoggerFactory? loggerFactory = null,
    TimeProvider? timeProvider = null,
    MySqlReadiness? readiness = null) : IHostRuntimeFactory, IDisposable
{
    private readonly KubernetesRuntimeOptions _options = options ?? new KubernetesRuntimeOptions();
    private readonly ILoggerFactory _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly MySqlReadiness _readiness = readiness ?? new MySqlReadiness(timeProvider);
    private readonly Func<string, KubernetesClusterOptions, IKubernetes> _clients = clients ?? ClientFromKubeconfig;
    private readonly ConcurrentDictionary<string, Lazy<KubernetesCluster>> _clusters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<HostConnection, Lazy<KubernetesHostRuntime>> _runtimes = new();

    public IHostRuntime For(HostConnection host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return _runtimes.GetOrAdd(host, h => new Lazy<KubernetesHostRuntime>(() => Create(h))).Value;
    }

    /// <summary>Why this driver will not reach a node at <paramref name="engineEndpoint"/> (not k8s://cluster/node, or a cluster the appliance has no credentials for), or null.</summary>
    public string? EndpointRefusal(Uri engineEndpoint)
    {
        ArgumentNullException.ThrowIfNull(engineEndpoint);
        var endpoint = KubernetesEndpoint.TryParse(engineEndpoint, out var reason);
        if (endpoint is null) return reason;
        if (!_options.Clusters.TryGetValue(endpoint.Cluster, out var cluster))
            return $"cluster {endpoint.Cluster} is not configured (Kubernetes:Clusters:{endpoint.Cluster}:Kubeconfig)";
        if (cluster.Kubeconfig is { } path && clients is null && !File.Exists(path))
            return $"the kubeconfig of cluster {endpoint.Cluster} ({path}) does not exist";
        return null;
    }

    private KubernetesHostRuntime Create(HostConnection host)
    {
        var endpoint = KubernetesEndpoint.Parse(host.EngineEndpoint);
        if (!_options.Clusters.TryGetValue(endpoint.Cluster, out var clusterOptions))
            throw new ArgumentException($"host {host.HostId}: cluster {endpoint.Cluster} is not configured", nameof(host));
        var cluster = _clusters.GetOrAdd(endpoint.Cluster, name => new Lazy<KubernetesCluster>(() =>
            new KubernetesCluster(name, clusterOptions, _clients(name, clusterOptions), _options, _loggerFactory.CreateLogger<KubernetesCluster>(), _time))).Value;
        var logger = _loggerFactory.CreateLogger<KubernetesHostRuntime>();
        return new KubernetesHostRuntime(host, endpoint, cluster,
            new KubernetesInstances(cluster, endpoint.Node, host, _options, _readiness, _time, logger),
            new KubernetesDisks(cluster, endpoint.Node, host, _options, _time, logger));
    }

    private static IKubernetes ClientFromKubeconfig(string name, KubernetesClusterOptions cluster) =>
        new k8s.Kubernetes(cluster.Kubeconfig is null
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile(cluster.Kubeconfig, cluster.Context));

    public void Dispose()
    {
        foreach (var cluster in _clusters.Values)
            if (cluster.IsValueCreated) cluster.Value.Dispose();
        _clusters.Clear();
        _runtimes.Clear();
    }
}
