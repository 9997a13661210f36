namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>One registered cluster (section <c>Kubernetes:Clusters:&lt;name&gt;</c>): where its credentials are, never the credentials themselves.</summary>
public sealed record KubernetesClusterOptions
{
    /// <summary>The kubeconfig file of the appliance's service account on that cluster; null: the in-cluster service account.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>The kubeconfig context to use; null: its current context.</summary>
    public string? Context { get; init; }

    /// <summary>The namespace of the appliance's pods, claims, config maps, secrets and jobs.</summary>
    public string Namespace { get; init; } = "dbprov";
}

/// <summary>Knobs of the Kubernetes driver (section <c>Kubernetes</c>).</summary>
public sealed record KubernetesRuntimeOptions
{
    public Dictionary<string, KubernetesClusterOptions> Clusters { get; init; } = new(StringComparer.Ordinal);

    /// <summary>One attempt of an API call (create, read, list, delete).</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public int MaxRetryAttempts { get; init; } = 3;
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The circuit of a cluster opens when half of at least this many calls in 30 s failed transiently.</summary>
    public int CircuitMinimumThroughput { get; init; } = 8;
    public TimeSpan CircuitBreakDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a format/seed/wipe Job may take before the format fails.</summary>
    public TimeSpan JobTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a pod may take to go away after its delete (mysqld's clean shutdown, the kubelet's unmount).</summary>
    public TimeSpan DeleteTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The capacity written on a disk's PV and its claim. Nominal: the claim is pre-bound to the PV of the claimed disk
    /// and the instance has the whole disk, whatever the number says.
    /// </summary>
    public long NominalDiskGiB { get; init; } = 1;
}

/// <summary>
/// A Kubernetes node as an engine endpoint: <c>k8s://&lt;cluster&gt;/&lt;node&gt;</c>. The cluster names an entry of
/// <c>Kubernetes:Clusters</c> (where its kubeconfig is), so no credential travels through the API, grain state or audit.
/// </summary>
public sealed record KubernetesEndpoint(string Cluster, string Node)
{
    public const string Scheme = "k8s";

    /// <summary>The cluster and node of <paramref name="endpoint"/>, or null with the reason.</summary>
    public static KubernetesEndpoint? TryParse(Uri endpoint, out string reason)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        reason = "";
        var node = endpoint.AbsolutePath.Trim('/');
        if (endpoint.Scheme != Scheme || string.IsNullOrEmpty(endpoint.Host) || node.Length == 0 || node.Contains('/', StringComparison.Ordinal) || !string.IsNullOrEmpty(endpoint.Query))
        {
            reason = $"{endpoint} must be k8s://<cluster>/<node>: a cluster of Kubernetes:Clusters and one node's name";
            return null;
        }
        if (!KubernetesNames.IsObjectName(endpoint.Host) || node.Length > 253 || !KubernetesNames.IsSubdomain(node))
        {
            reason = $"{endpoint}: the cluster must be a DNS label and the node a Kubernetes node name";
            return null;
        }
        return new KubernetesEndpoint(endpoint.Host, node);
    }

    public static KubernetesEndpoint Parse(Uri endpoint) =>
        TryParse(endpoint, out var reason) ?? throw new ArgumentException(reason, nameof(endpoint));

    public override string ToString() => $"{Scheme}://{Cluster}/{Node}";
}
