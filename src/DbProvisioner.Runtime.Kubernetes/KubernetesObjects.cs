using System.Globalization;
using System.Text;
using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>
/// What the API server is asked to create, as a pure function of the request: an instance's Pod, ConfigMap, Secret and
/// pre-bound claim, a disk's local PersistentVolume, the StorageClass, and a disk's format Job. No API call, so every
/// field is table-tested (Guaranteed QoS, no secret in the environment, the security context, each PV's node affinity).
/// </summary>
public static class KubernetesObjects
{
    public const string HostnameLabel = "kubernetes.io/hostname";
    /// <summary>The instance pod's one container, where mysqld is PID 1.</summary>
    public const string InstanceContainer = "mysqld";
    /// <summary>Where every label of the spec is kept verbatim (a device path is no label value).</summary>
    public const string LabelsAnnotation = "dbprov.labels";
    public const long MySqlUid = 999;

    /// <summary>
    /// The instance's Pod: bound by the appliance (spec.nodeName), Guaranteed QoS with whole CPUs (the kubelet's static
    /// CPU manager then gives exclusive cores), host network on the reserved port, non-root without capabilities or
    /// privilege escalation, my.cnf from its ConfigMap, passwords from its Secret as files, data on its pre-bound claim.
    /// </summary>
    public static V1Pod InstancePod(string node, HostConnection host, InstanceContainerSpec spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (spec.Port < 1024) throw new ArgumentOutOfRangeException(nameof(spec), spec.Port, "a non-root mysqld needs a port from 1024 up");
        var resources = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(spec.Cpus.Count.ToString(CultureInfo.InvariantCulture)),
            ["memory"] = new(string.Create(CultureInfo.InvariantCulture, $"{spec.MemoryMiB}Mi")),
        };
        var secretItems = new List<V1KeyToPath> { new V1KeyToPath { Key = InstanceLayout.RootPasswordFile, Path = InstanceLayout.RootPasswordFile } };
        if (spec.Credentials.UserPassword is not null) secretItems.Add(new V1KeyToPath { Key = InstanceLayout.UserPasswordFile, Path = InstanceLayout.UserPasswordFile });
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = Meta(KubernetesNames.Pod(spec.InstanceId), InstanceLabels(host.HostId, spec)),
            Spec = new V1PodSpec
            {
                NodeName = node,
                HostNetwork = true,
                DnsPolicy = "ClusterFirstWithHostNet",
                RestartPolicy = "Always",
                AutomountServiceAccountToken = false,
                EnableServiceLinks = false,
                TerminationGracePeriodSeconds = 30,
                SecurityContext = new V1PodSecurityContext
                {
                    RunAsNonRoot = true,
                    RunAsUser = MySqlUid,
                    RunAsGroup = MySqlUid,
                    FsGroup = MySqlUid,
                    SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                },
                Containers =
                [
                    new V1Container
                    {
                        Name = InstanceContainer,
                        Image = host.Image,
                        Args = ["mysqld", $"--port={spec.Port}"],
                        Env = [.. Environment(spec.Credentials).Select(e => new V1EnvVar { Name = e.Key, Value = e.Value })],
                        Ports = [new V1ContainerPort { ContainerPort = spec.Port, HostPort = spec.Port, Name = "mysql", Protocol = "TCP" }],
                        Resources = new V1ResourceRequirements { Requests = resources, Limits = new Dictionary<string, ResourceQuantity>(resources) },
                        SecurityContext = new V1SecurityContext
                        {
                            AllowPrivilegeEscalation = false,
                            Privileged = false,
                            RunAsNonRoot = true,
                            Capabilities = new V1Capabilities { Drop = ["ALL"] },
                        },
                        ReadinessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = spec.Port }, PeriodSeconds = 2 },
                        VolumeMounts =
                        [
                            new V1VolumeMount { MountPath = InstanceLayout.DataDir, Name = "data" },
                            new V1VolumeMount { MountPath = InstanceLayout.ConfDir, Name = "config", ReadOnlyProperty = true },
                            new V1VolumeMount { MountPath = InstanceLayout.SecretsDir, Name = "secrets", ReadOnlyProperty = true },
                        ],
                    },
                ],
                Volumes =
                [
                    new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = KubernetesNames.Claim(spec.InstanceId) } },
                    new V1Volume { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = KubernetesNames.Config(spec.InstanceId), Items = [new V1KeyToPath { Key = InstanceLayout.ConfFile, Path = InstanceLayout.ConfFile }] } },
                    // 0400: only mysqld (the fsGroup) reads the passwords.
                    new V1Volume { Name = "secrets", Secret = new V1SecretVolumeSource { SecretName = KubernetesNames.Secret(spec.InstanceId), DefaultMode = 256, Items = secretItems } },
                ],
            },
        };
    }

    /// <summary>The image entrypoint's variables (official MySQL image conventions): names and file paths, never a password.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Environment(InstanceCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var env = new List<KeyValuePair<string, string>> { new("MYSQL_ROOT_PASSWORD_FILE", $"{InstanceLayout.SecretsDir}/{InstanceLayout.RootPasswordFile}") };
        if (credentials.Database is { } db) env.Add(new("MYSQL_DATABASE", db));
        if (credentials.User is { } user)
        {
            env.Add(new("MYSQL_USER", user));
            env.Add(new("MYSQL_PASSWORD_FILE", $"{InstanceLayout.SecretsDir}/{InstanceLayout.UserPasswordFile}"));
        }
        return env;
    }

    public static V1ConfigMap InstanceConfig(HostConnection host, InstanceContainerSpec spec)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(spec);
        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = Meta(KubernetesNames.Config(spec.InstanceId), InstanceLabels(host.HostId, spec)),
            Data = new Dictionary<string, string> { [InstanceLayout.ConfFile] = spec.MyCnf },
        };
    }

    /// <summary>The passwords as an immutable Secret's data; the pod sees them only as files of its secret volume.</summary>
    public static V1Secret InstanceSecret(HostConnection host, InstanceContainerSpec spec)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(spec);
        var data = new Dictionary<string, byte[]> { [InstanceLayout.RootPasswordFile] = Encoding.UTF8.GetBytes(spec.Credentials.RootPassword) };
        if (spec.Credentials.UserPassword is { } userPassword) data[InstanceLayout.UserPasswordFile] = Encoding.UTF8.GetBytes(userPassword);
        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Type = "Opaque",
            Immutable = true,
            Metadata = Meta(KubernetesNames.Secret(spec.InstanceId), InstanceLabels(host.HostId, spec)),
            Data = data,
        };
    }

    /// <summary>The StorageClass of the appliance's local PVs: nothing provisions it, claims bind only to PVs made from the disk pool.</summary>
    public static V1StorageClass StorageClass() => new()
    {
        ApiVersion = "storage.k8s.io/v1",
        Kind = "StorageClass",
        Metadata = new V1ObjectMeta { Name = KubernetesNames.StorageClass, Labels = new Dictionary<string, string> { [OwnershipLabels.ManagedBy] = OwnershipLabels.ManagedByValue } },
        Provisioner = "kubernetes.io/no-provisioner",
        VolumeBindingMode = "WaitForFirstConsumer",
        ReclaimPolicy = "Retain",
    };

    /// <summary>
    /// A whole disk of the node as a local PV (xfs, formatted by the disk's Job), reachable only from that node, kept
    /// (Retain) when its claim goes: the data stays on the disk until the disk pool wipes it.
    /// </summary>
    public static V1PersistentVolume DiskVolume(string node, string hostId, string device, long sizeGiB, string instanceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        ResourceNames.ValidateInstanceId(instanceId);
        if (sizeGiB < 1) throw new ArgumentOutOfRangeException(nameof(sizeGiB), sizeGiB, "a disk has at least 1 GiB");
        return new V1PersistentVolume
        {
            ApiVersion = "v1",
            Kind = "PersistentVolume",
            Metadata = Meta(KubernetesNames.Volume(node, device), DiskLabels(hostId, device), new Dictionary<string, string> { [OwnershipLabels.Disk] = device }),
            Spec = new V1PersistentVolumeSpec
            {
                Capacity = new Dictionary<string, ResourceQuantity> { ["storage"] = new(string.Create(CultureInfo.InvariantCulture, $"{sizeGiB}Gi")) },
                AccessModes = ["ReadWriteOnce"],
                VolumeMode = "Filesystem",
                PersistentVolumeReclaimPolicy = "Retain",
                StorageClassName = KubernetesNames.StorageClass,
                Local = new V1LocalVolumeSource { Path = device, FsType = "xfs" },
                // Pre-bound both ways: no other claim can take this disk between its PV and its PVC.
                ClaimRef = new V1ObjectReference { Kind = "PersistentVolumeClaim", Name = KubernetesNames.Claim(instanceId) },
                NodeAffinity = new V1VolumeNodeAffinity
                {
                    Required = new V1NodeSelector { NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions = [new V1NodeSelectorRequirement { Key = HostnameLabel, OperatorProperty = "In", Values = [node] }] }] },
                },
            },
        };
    }

    /// <summary>The instance's claim, pre-bound to its disk's PV by name (no binder choice).</summary>
    public static V1PersistentVolumeClaim DataClaim(string node, HostConnection host, InstanceContainerSpec spec, long sizeGiB)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(spec);
        return new V1PersistentVolumeClaim
        {
            ApiVersion = "v1",
            Kind = "PersistentVolumeClaim",
            Metadata = Meta(KubernetesNames.Claim(spec.InstanceId), InstanceLabels(host.HostId, spec)),
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                VolumeMode = "Filesystem",
                StorageClassName = KubernetesNames.StorageClass,
                VolumeName = KubernetesNames.Volume(node, spec.Device),
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(string.Create(CultureInfo.InvariantCulture, $"{sizeGiB}Gi")) } },
            },
        };
    }

    /// <summary>
    /// The Job that formats (and wipes: a format erases) a disk and, when <paramref name="seed"/>, initialises a data
    /// directory: pinned to the node, run once (no retry hides a failed mkfs), the device as a hostPath block device.
    /// </summary>
    public static V1Job DiskJob(string node, HostConnection host, string device, bool seed)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        ArgumentNullException.ThrowIfNull(host);
        var labels = DiskLabels(host.HostId, device);
        labels[OwnershipLabels.Helper] = seed ? "seed" : "format";
        var script = $"mkfs.xfs -f -q {InstanceLayout.HelperDevice} && exec prepare-device {InstanceLayout.HelperDevice}";
        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = Meta(KubernetesNames.DiskJob(node, device), labels, new Dictionary<string, string> { [OwnershipLabels.Disk] = device }),
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                ActiveDeadlineSeconds = 600,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels) },
                    Spec = new V1PodSpec
                    {
                        NodeName = node,
                        RestartPolicy = "Never",
                        AutomountServiceAccountToken = false,
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "format",
                                Image = host.Image,
                                Command = ["/bin/sh", "-c", script],
                                Env = seed ? [new V1EnvVar { Name = "DBPROV_SEED", Value = "1" }] : [],
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("256Mi") },
                                    Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1"), ["memory"] = new("512Mi") },
                                },
                                // mkfs and the seed's mount need the device and CAP_SYS_ADMIN, nothing else (as on Docker).
                                SecurityContext = new V1SecurityContext
                                {
                                    AllowPrivilegeEscalation = false,
                                    Privileged = false,
                                    Capabilities = new V1Capabilities { Drop = ["ALL"], Add = ["SYS_ADMIN", "CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"] },
                                },
                                VolumeMounts = [new V1VolumeMount { MountPath = InstanceLayout.HelperDevice, Name = "disk" }],
                            },
                        ],
                        Volumes = [new V1Volume { Name = "disk", HostPath = new V1HostPathVolumeSource { Path = device, Type = "BlockDevice" } }],
                    },
                },
            },
        };
    }

    /// <summary>An instance's labels: the ownership labels (device as "dev-loop3") and the caller's that are valid label values.</summary>
    public static Dictionary<string, string> InstanceLabels(string hostId, InstanceContainerSpec spec)
    {
        var all = OwnershipLabels.ForInstance(hostId, spec);
        all[OwnershipLabels.Disk] = KubernetesNames.DeviceLabel(spec.Device);
        return all.Where(l => KubernetesNames.IsLabelValue(l.Value)).ToDictionary(l => l.Key, l => l.Value);
    }

    private static Dictionary<string, string> DiskLabels(string hostId, string device) =>
        OwnershipLabels.Owned(hostId, (OwnershipLabels.Disk, KubernetesNames.DeviceLabel(device)));

    private static V1ObjectMeta Meta(string name, Dictionary<string, string> labels, Dictionary<string, string>? annotations = null) =>
        new() { Name = name, Labels = labels, Annotations = annotations };
}
