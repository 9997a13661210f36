namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>One RBAC rule: the verbs the runtime calls on one resource of one API group ("" is core).</summary>
public sealed record ApiAccess(string ApiGroup, string Resource, bool Namespaced, IReadOnlyList<string> Verbs);

/// <summary>
/// Every API call this driver makes, as RBAC rules: the appliance's Role (namespaced) and ClusterRole (nodes, PVs,
/// storage classes) are rendered from this list, and a test checks it against the requests the runtime sends to the
/// fake API server, so a new call without its rule (or a rule no call needs) fails there, not on a real cluster.
/// </summary>
public static class KubernetesAccess
{
    public static IReadOnlyList<ApiAccess> Rules { get; } =
    [
        // KubernetesInstances: the instance's pod (create, read, watch to Ready and to gone, delete); inspection lists.
        new("", "pods", true, ["create", "get", "list", "watch", "delete"]),
        // The cpuset the kubelet chose, read in the container (a websocket GET: get before Kubernetes 1.35, create since).
        new("", "pods/exec", true, ["create", "get"]),
        new("", "persistentvolumeclaims", true, ["create", "get", "list", "delete"]),
        new("", "configmaps", true, ["create", "get", "delete"]),
        new("", "secrets", true, ["create", "get", "delete"]),
        // KubernetesDisks: the format/seed/wipe Job (create, read, watch to done, delete before a re-run); inspection lists.
        new("batch", "jobs", true, ["create", "get", "list", "watch", "delete"]),
        // KubernetesHostRuntime: a node's topology (its NodeResourceTopology when there is one) and heartbeat.
        new("", "nodes", false, ["get"]),
        new(NodeResourceTopology.Group, NodeResourceTopology.Plural, false, ["get"]),
        new("", "persistentvolumes", false, ["create", "get", "delete"]),
        new("storage.k8s.io", "storageclasses", false, ["create", "get"]),
    ];
}
