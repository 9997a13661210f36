using System.Globalization;
using DbProvisioner.Runtime.Kubernetes;
using k8s;
using k8s.Models;

namespace DbProvisioner.Server.Manifests;

/// <summary>What <c>DbProvisioner.Server manifests</c> varies; the rest is fixed by the server's configuration keys.</summary>
public sealed record ApplianceManifestOptions
{
    public string Namespace { get; init; } = "dbprov";
    public int Replicas { get; init; } = 2;
    public string Image { get; init; } = "dbprov/server:0.1.0";
    public string MetaDbHost { get; init; } = "dbprov-meta";

    /// <summary>Why these options cannot be rendered, keyed by the command line option, or null.</summary>
    public (string Option, string Message)? Refusal() =>
        !KubernetesNames.IsObjectName(Namespace) ? ("--namespace", $"'{Namespace}' is not a Kubernetes namespace name (a DNS label)")
        : Replicas is < 1 or > ApplianceManifests.MaxReplicas ? ("--replicas", $"must be 1 to {ApplianceManifests.MaxReplicas}")
        : string.IsNullOrWhiteSpace(Image) || Image.Any(char.IsWhiteSpace) ? ("--image", "must be an image reference without spaces")
        : !KubernetesNames.IsSubdomain(MetaDbHost) ? ("--meta-host", $"'{MetaDbHost}' is not a host name")
        : null;
}

/// <summary>
/// The appliance on Kubernetes, built from KubernetesClient's models (pure: no API call): silos as a Deployment with
/// the labels and downward-API variables of Microsoft.Orleans.Hosting.Kubernetes, membership in the meta database
/// (<c>Cluster:Membership=AdoNet</c>), an HTTP Service, and RBAC rendered from <see cref="KubernetesAccess.Rules"/>.
/// The meta DB password and the credential key come from the Secret <see cref="SecretName"/>, mounted as files (the
/// server reads both from files only); the Secret itself is made by the operator and is never in these manifests.
/// </summary>
public static class ApplianceManifests
{
    public const int MaxReplicas = 9;
    public const string AppName = "dbprov-server";
    public const string SecretName = "dbprov-server-secrets";
    public const string MetaPasswordKey = "meta-db-password";
    public const string CredentialKeyKey = "credentials.key";
    public const string SecretsPath = "/etc/dbprov/secrets";
    public const string HealthPath = "/healthz";

    /// <summary>The liveness probe's path: the silo only, so a meta database outage does not restart every silo.</summary>
    public const string LivePath = "/healthz/live";

    /// <summary>The cluster the appliance runs in, as its Kubernetes runtime knows it: nodes register as k8s://incluster/&lt;node&gt;.</summary>
    public const string InClusterName = "incluster";

    /// <summary>Orleans.Hosting.Kubernetes reads the service and cluster ids from these pod labels.</summary>
    public const string ServiceIdLabel = "orleans/serviceId";
    public const string ClusterIdLabel = "orleans/clusterId";

    public const int HttpPort = 8080;
    public const int SiloPort = 11111;
    public const int GatewayPort = 30000;
    private const long NonRootUser = 10001;

    public static IReadOnlyDictionary<string, string> SelectorLabels { get; } =
        new Dictionary<string, string> { ["app.kubernetes.io/name"] = AppName, ["app.kubernetes.io/component"] = "silo" };

    public static IReadOnlyList<IKubernetesObject> Build(ApplianceManifestOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Refusal() is { } refusal) throw new ArgumentException($"{refusal.Option}: {refusal.Message}", nameof(options));
        var ns = options.Namespace;
        return
        [
            new V1Namespace { ApiVersion = "v1", Kind = "Namespace", Metadata = new V1ObjectMeta { Name = ns } },
            new V1ServiceAccount { ApiVersion = "v1", Kind = "ServiceAccount", Metadata = Meta(AppName, ns) },
            new V1Role { ApiVersion = "rbac.authorization.k8s.io/v1", Kind = "Role", Metadata = Meta(AppName, ns), Rules = Rules(namespaced: true) },
            new V1RoleBinding
            {
                ApiVersion = "rbac.authorization.k8s.io/v1", Kind = "RoleBinding", Metadata = Meta(AppName, ns),
                RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = AppName },
                Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = AppName, NamespaceProperty = ns }],
            },
            // Nodes, PVs and storage classes have no namespace; the name carries it so two appliances do not share one.
            new V1ClusterRole { ApiVersion = "rbac.authorization.k8s.io/v1", Kind = "ClusterRole", Metadata = Meta(ClusterRoleName(ns), null), Rules = Rules(namespaced: false) },
            new V1ClusterRoleBinding
            {
                ApiVersion = "rbac.authorization.k8s.io/v1", Kind = "ClusterRoleBinding", Metadata = Meta(ClusterRoleName(ns), null),
                RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = ClusterRoleName(ns) },
                Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = AppName, NamespaceProperty = ns }],
            },
            Silos(options),
            new V1Service
            {
                ApiVersion = "v1", Kind = "Service", Metadata = Meta(AppName, ns),
                Spec = new V1ServiceSpec
                {
                    Type = "ClusterIP",
                    Selector = new Dictionary<string, string>(SelectorLabels),
                    Ports = [new V1ServicePort { Name = "http", Port = HttpPort, TargetPort = "http", Protocol = "TCP" }],
                },
            },
        ];
    }

    /// <summary>The objects as one YAML stream for <c>kubectl apply -f -</c>.</summary>
    public static string Render(ApplianceManifestOptions options) =>
        string.Join("---\n", Build(options).Select(o => KubernetesYaml.Serialize(o).TrimEnd('\n') + "\n"));

    public static string ClusterRoleName(string ns) => $"{AppName}-{ns}";

    private static V1ObjectMeta Meta(string name, string? ns) => new()
    {
        Name = name,
        NamespaceProperty = ns,
        Labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = AppName, ["app.kubernetes.io/part-of"] = "dbprovisioner" },
    };

    private static List<V1PolicyRule> Rules(bool namespaced) =>
    [
        .. KubernetesAccess.Rules.Where(r => r.Namespaced == namespaced)
            .GroupBy(r => (r.ApiGroup, Verbs: string.Join(',', r.Verbs)))
            .Select(g => new V1PolicyRule { ApiGroups = [g.Key.ApiGroup], Resources = [.. g.Select(r => r.Resource)], Verbs = [.. g.First().Verbs] }),
    ];

    private static V1Deployment Silos(ApplianceManifestOptions options)
    {
        var podLabels = new Dictionary<string, string>(SelectorLabels) { [ServiceIdLabel] = "dbprov", [ClusterIdLabel] = "dbprov" };
        // Guaranteed QoS: a silo is never the first to be evicted from a node under pressure.
        var resources = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1"), ["memory"] = new("1Gi") };
        return new V1Deployment
        {
            ApiVersion = "apps/v1", Kind = "Deployment", Metadata = Meta(AppName, options.Namespace),
            Spec = new V1DeploymentSpec
            {
                Replicas = options.Replicas,
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(SelectorLabels) },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = podLabels },
                    Spec = new V1PodSpec
                    {
                        ServiceAccountName = AppName,
                        TerminationGracePeriodSeconds = 60,
                        SecurityContext = new V1PodSecurityContext
                        {
                            RunAsNonRoot = true, RunAsUser = NonRootUser, RunAsGroup = NonRootUser, FsGroup = NonRootUser,
                            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                        },
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "server",
                                Image = options.Image,
                                Ports =
                                [
                                    new V1ContainerPort { Name = "http", ContainerPort = HttpPort },
                                    new V1ContainerPort { Name = "silo", ContainerPort = SiloPort },
                                    new V1ContainerPort { Name = "gateway", ContainerPort = GatewayPort },
                                ],
                                Env = Environment(options),
                                Resources = new V1ResourceRequirements { Requests = resources, Limits = new Dictionary<string, ResourceQuantity>(resources) },
                                SecurityContext = new V1SecurityContext
                                {
                                    RunAsNonRoot = true, AllowPrivilegeEscalation = false, ReadOnlyRootFilesystem = true, Privileged = false,
                                    Capabilities = new V1Capabilities { Drop = ["ALL"] },
                                },
                                // /healthz is 503 until the silo is Active: the startup probe gives the join (and the migration) time.
                                StartupProbe = Probe(HealthPath, periodSeconds: 5, failureThreshold: 36),
                                ReadinessProbe = Probe(HealthPath, periodSeconds: 5, failureThreshold: 2),
                                // Not ready while the meta database is away (no traffic), but alive: a restart would not bring it back.
                                LivenessProbe = Probe(LivePath, periodSeconds: 10, failureThreshold: 6),
                                VolumeMounts =
                                [
                                    new V1VolumeMount { Name = "secrets", MountPath = SecretsPath, ReadOnlyProperty = true },
                                    new V1VolumeMount { Name = "tmp", MountPath = "/tmp" },
                                ],
                            },
                        ],
                        Volumes =
                        [
                            new V1Volume
                            {
                                Name = "secrets",
                                Secret = new V1SecretVolumeSource
                                {
                                    SecretName = SecretName, DefaultMode = Convert.ToInt32("0440", 8),
                                    Items = [new V1KeyToPath { Key = MetaPasswordKey, Path = MetaPasswordKey }, new V1KeyToPath { Key = CredentialKeyKey, Path = CredentialKeyKey }],
                                },
                            },
                            new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity("64Mi") } },
                        ],
                    },
                },
            },
        };
    }

    private static V1Probe Probe(string path, int periodSeconds, int failureThreshold) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = path, Port = "http" },
        PeriodSeconds = periodSeconds,
        TimeoutSeconds = 3,
        FailureThreshold = failureThreshold,
    };

    /// <summary>The server's configuration as DBPROV_ variables: names and addresses only, every secret is a file path.</summary>
    private static List<V1EnvVar> Environment(ApplianceManifestOptions options) =>
    [
        // What Microsoft.Orleans.Hosting.Kubernetes reads (silo name = pod name, advertised address = pod IP, ids from the labels).
        Field("POD_NAME", "metadata.name"),
        Field("POD_NAMESPACE", "metadata.namespace"),
        Field("POD_IP", "status.podIP"),
        Field("ORLEANS_SERVICE_ID", $"metadata.labels['{ServiceIdLabel}']"),
        Field("ORLEANS_CLUSTER_ID", $"metadata.labels['{ClusterIdLabel}']"),
        // The same facts in the server's own keys ($(VAR) is expanded by the kubelet from the variables above).
        Value("DBPROV_Silo__Name", "$(POD_NAME)"),
        Value("DBPROV_Silo__ServiceId", "$(ORLEANS_SERVICE_ID)"),
        Value("DBPROV_Silo__ClusterId", "$(ORLEANS_CLUSTER_ID)"),
        Value("DBPROV_Silo__SiloPort", Text(SiloPort)),
        Value("DBPROV_Silo__GatewayPort", Text(GatewayPort)),
        Value("DBPROV_Cluster__Membership", "AdoNet"),
        Value("DBPROV_Cluster__KubernetesHosting", "true"),
        Value("DBPROV_Cluster__AdvertisedAddress", "$(POD_IP)"),
        Value("DBPROV_Server__Url", $"http://0.0.0.0:{Text(HttpPort)}"),
        // What bootstrap-keys writes into the CLI config: the Service, not the listen address.
        Value("DBPROV_Server__PublicUrl", $"http://{AppName}.{options.Namespace}.svc:{Text(HttpPort)}"),
        Value("DBPROV_MetaDb__Host", options.MetaDbHost),
        Value("DBPROV_MetaDb__Port", "3306"),
        Value("DBPROV_MetaDb__Database", "dbprov"),
        Value("DBPROV_MetaDb__User", "dbprov"),
        Value("DBPROV_MetaDb__PasswordFile", $"{SecretsPath}/{MetaPasswordKey}"),
        Value("DBPROV_Provisioning__CredentialKeyFile", $"{SecretsPath}/{CredentialKeyKey}"),
        // kubectl logs, not files: the root file system is read-only. Keys are made once by `bootstrap-keys`, not by each silo.
        Value("DBPROV_Log__Directory", ""),
        Value("DBPROV_Log__Json", "true"),
        Value("DBPROV_Bootstrap__GenerateKeysOnStart", "false"),
        // Nodes of this cluster are reached with the pod's service account (no kubeconfig: the in-cluster configuration).
        Value($"DBPROV_Kubernetes__Clusters__{InClusterName}__Namespace", options.Namespace),
    ];

    private static V1EnvVar Field(string name, string path) =>
        new() { Name = name, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = path } } };

    private static V1EnvVar Value(string name, string value) => new() { Name = name, Value = value };

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
