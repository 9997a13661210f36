namespace DbProvisioner.Runtime.Kubernetes.Tests.RealCluster;

/// <summary>
/// The real cluster the suites run against when DBPROV_KUBECONFIG names a kubeconfig (no control plane can run on the
/// build machines). DBPROV_KUBE_NODES (or DBPROV_KUBE_NODE) its nodes, comma-separated; DBPROV_KUBE_DEVICES (or
/// DBPROV_KUBE_DEVICE) spare whole disks present on every one of them, which the suites FORMAT; DBPROV_KUBE_MYSQL_ADDRESS
/// where the nodes' host-network ports are reached when not at their InternalIP; DBPROV_KUBE_NAMESPACE, DBPROV_KUBE_IMAGE.
/// </summary>
public static class RealClusterEnvironment
{
    public const string Cluster = "real";
    public const string NotRun = "real-cluster suite not run: DBPROV_KUBECONFIG is not set (no Kubernetes control plane on this machine; see README)";
    private static int _said;

    public static string? Kubeconfig => Environment.GetEnvironmentVariable("DBPROV_KUBECONFIG") is { Length: > 0 } v ? v : null;

    /// <summary>Ignores the calling fixture when no real cluster is given, saying so in ONE line of the run's output for the whole run.</summary>
    public static string RequireKubeconfig()
    {
        if (Kubeconfig is { } path) return path;
        if (Interlocked.Exchange(ref _said, 1) == 0) TestContext.Progress.WriteLine(NotRun);
        Assert.Ignore(NotRun);
        return "";
    }

    public static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : throw new InvalidOperationException($"{name} must be set with DBPROV_KUBECONFIG");

    public static IReadOnlyList<string> List(string plural, string single) =>
        (Environment.GetEnvironmentVariable(plural) is { Length: > 0 } many ? many : Required(single)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static IReadOnlyList<string> Nodes => List("DBPROV_KUBE_NODES", "DBPROV_KUBE_NODE");
    public static IReadOnlyList<string> Devices => List("DBPROV_KUBE_DEVICES", "DBPROV_KUBE_DEVICE");
    public static string Namespace => Environment.GetEnvironmentVariable("DBPROV_KUBE_NAMESPACE") ?? "dbprov";
    public static string Image => Environment.GetEnvironmentVariable("DBPROV_KUBE_IMAGE") ?? HostConnection.DefaultImage;
    public static string? MySqlAddress => Environment.GetEnvironmentVariable("DBPROV_KUBE_MYSQL_ADDRESS") is { Length: > 0 } v ? v : null;

    public static KubernetesRuntimeOptions Options(string kubeconfig) => new()
    {
        Clusters = new() { [Cluster] = new KubernetesClusterOptions { Kubeconfig = kubeconfig, Namespace = Namespace } },
    };
}
