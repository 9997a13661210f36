using DbProvisioner.Runtime;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime.Kubernetes;
using k8s;
using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Objects;

/// <summary>The instance's Pod, ConfigMap and Secret as the API server would receive them: each test names a mistake it would catch.</summary>
public sealed class InstancePodTests
{
    private static readonly HostConnection Host = new("node-a", new Uri("k8s://prod/node-a"), "10.0.0.7", HostConnection.DefaultImage);

    internal static InstanceContainerSpec Spec(int cpus = 2, long memoryMiB = 4096, string device = "/dev/loop3", int port = 3310, InstanceCredentials? credentials = null) =>
        new("i-0a1b2c3d4e", device, CpuSet.Of(Enumerable.Range(4, cpus)), [], memoryMiB, 0, 1, port, "[mysqld]\ninnodb_buffer_pool_size=2G\n",
            credentials ?? InstanceCredentials.Generate("app", "app"),
            new Dictionary<string, string> { ["dbprov.cluster"] = "orders", ["dbprov.shard"] = "0", ["dbprov.role"] = "primary" });

    private static V1Container Mysqld(V1Pod pod) => pod.Spec.Containers.Single();

    [TestCase(1, 512L, "1", "512Mi")]
    [TestCase(2, 4096L, "2", "4Gi")]
    [TestCase(6, 65536L, "6", "64Gi")]
    public void Requests_equal_limits_in_whole_cpus_so_the_pod_is_guaranteed(int cpus, long memoryMiB, string cpu, string memory)
    {
        var pod = KubernetesObjects.InstancePod("node-a", Host, Spec(cpus, memoryMiB));

        foreach (var container in pod.Spec.Containers.Concat(pod.Spec.InitContainers ?? []))
        {
            var r = container.Resources;
            Assert.That(r.Requests.Keys, Is.EquivalentTo(new[] { "cpu", "memory" }), container.Name);
            Assert.That(r.Limits.Keys, Is.EquivalentTo(r.Requests.Keys), container.Name);
            foreach (var key in r.Requests.Keys)
                Assert.That(r.Limits[key].ToDecimal(), Is.EqualTo(r.Requests[key].ToDecimal()), $"{container.Name} {key}: requests must equal limits");
        }
        var limits = Mysqld(pod).Resources.Limits;
        Assert.Multiple(() =>
        {
            Assert.That(limits["cpu"].ToDecimal(), Is.EqualTo(decimal.Parse(cpu, System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(limits["cpu"].ToDecimal() % 1, Is.Zero, "the static CPU manager gives exclusive cores only to whole CPUs");
            Assert.That(limits["memory"].ToDecimal(), Is.EqualTo(new ResourceQuantity(memory).ToDecimal()));
        });
    }

    [Test]
    public void No_password_reaches_the_environment_or_the_pod_at_all()
    {
        var credentials = InstanceCredentials.Generate("app", "app");
        var pod = KubernetesObjects.InstancePod("node-a", Host, Spec(credentials: credentials));

        var env = Mysqld(pod).Env;
        Assert.Multiple(() =>
        {
            Assert.That(env.Select(e => e.ValueFrom?.SecretKeyRef), Is.All.Null, "no env var from a Secret key");
            Assert.That(Mysqld(pod).EnvFrom, Is.Null.Or.Empty, "no env from a whole Secret");
            Assert.That(env.Select(e => e.Value), Has.None.EqualTo(credentials.RootPassword).And.None.EqualTo(credentials.UserPassword));
            var json = KubernetesJson.Serialize(pod);
            Assert.That(json, Does.Not.Contain(credentials.RootPassword));
            Assert.That(json, Does.Not.Contain(credentials.UserPassword!));
        });
    }

    [Test]
    public void Passwords_are_files_of_a_read_only_secret_volume_that_the_entrypoint_is_pointed_at()
    {
        var pod = KubernetesObjects.InstancePod("node-a", Host, Spec());
        var secrets = pod.Spec.Volumes.Single(v => v.Secret is not null);
        var mount = Mysqld(pod).VolumeMounts.Single(m => m.Name == secrets.Name);
        var env = Mysqld(pod).Env.ToDictionary(e => e.Name, e => e.Value);

        Assert.Multiple(() =>
        {
            Assert.That(secrets.Secret.SecretName, Is.EqualTo(KubernetesNames.Secret("i-0a1b2c3d4e")));
            Assert.That(secrets.Secret.DefaultMode, Is.EqualTo(Convert.ToInt32("400", 8)), "0400: readable by mysqld only");
            Assert.That(mount.ReadOnlyProperty, Is.True);
            Assert.That(env["MYSQL_ROOT_PASSWORD_FILE"], Is.EqualTo($"{mount.MountPath}/{InstanceLayout.RootPasswordFile}"));
            Assert.That(env["MYSQL_PASSWORD_FILE"], Is.EqualTo($"{mount.MountPath}/{InstanceLayout.UserPasswordFile}"));
            Assert.That(secrets.Secret.Items.Select(i => i.Key), Is.EquivalentTo(new[] { InstanceLayout.RootPasswordFile, InstanceLayout.UserPasswordFile }));
        });
    }

    [Test]
    public void The_secret_holds_the_passwords_the_files_name_and_is_immutable()
    {
        var credentials = InstanceCredentials.Generate("app", "app");
        var secret = KubernetesObjects.InstanceSecret(Host, Spec(credentials: credentials));

        Assert.Multiple(() =>
        {
            Assert.That(System.Text.Encoding.UTF8.GetString(secret.Data[InstanceLayout.RootPasswordFile]), Is.EqualTo(credentials.RootPassword));
            Assert.That(System.Text.Encoding.UTF8.GetString(secret.Data[InstanceLayout.UserPasswordFile]), Is.EqualTo(credentials.UserPassword));
            Assert.That(secret.Immutable, Is.True);
        });
    }

    [Test]
    public void Mysqld_runs_as_non_root_without_capabilities_or_privilege_escalation()
    {
        var pod = KubernetesObjects.InstancePod("node-a", Host, Spec());
        var sc = Mysqld(pod).SecurityContext;

        Assert.Multiple(() =>
        {
            Assert.That(pod.Spec.SecurityContext.RunAsNonRoot, Is.True);
            Assert.That(pod.Spec.SecurityContext.RunAsUser, Is.Not.Null.And.Not.Zero);
            Assert.That(sc.RunAsNonRoot, Is.True);
            Assert.That(sc.AllowPrivilegeEscalation, Is.False);
            Assert.That(sc.Privileged, Is.Not.True);
            Assert.That(sc.Capabilities.Drop, Is.EquivalentTo(new[] { "ALL" }));
            Assert.That(sc.Capabilities.Add, Is.Null.Or.Empty);
            Assert.That(pod.Spec.AutomountServiceAccountToken, Is.False, "mysqld needs no API token");
        });
    }

    [TestCase(3306)]
    [TestCase(3400)]
    public void The_pod_is_bound_by_the_appliance_to_its_node_on_the_host_network_port(int port)
    {
        var pod = KubernetesObjects.InstancePod("node-b", Host, Spec(port: port));

        Assert.Multiple(() =>
        {
            Assert.That(pod.Spec.NodeName, Is.EqualTo("node-b"), "bound by spec.nodeName: no kube-scheduler choice");
            Assert.That(pod.Spec.SchedulerName, Is.Null);
            Assert.That(pod.Spec.HostNetwork, Is.True);
            Assert.That(Mysqld(pod).Ports.Single().ContainerPort, Is.EqualTo(port));
            Assert.That(Mysqld(pod).Ports.Single().HostPort, Is.EqualTo(port));
            Assert.That(Mysqld(pod).Args, Does.Contain($"--port={port}"));
            Assert.That(pod.Spec.RestartPolicy, Is.EqualTo("Always"), "a node reboot restarts the same pod on the same data");
        });
    }

    [Test]
    public void A_port_a_non_root_mysqld_cannot_bind_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => KubernetesObjects.InstancePod("node-a", Host, Spec(port: 1023)));

    [Test]
    public void My_cnf_comes_from_the_instances_config_map()
    {
        var spec = Spec();
        var pod = KubernetesObjects.InstancePod("node-a", Host, spec);
        var config = KubernetesObjects.InstanceConfig(Host, spec);
        var volume = pod.Spec.Volumes.Single(v => v.ConfigMap is not null);

        Assert.Multiple(() =>
        {
            Assert.That(volume.ConfigMap.Name, Is.EqualTo(config.Metadata.Name));
            Assert.That(config.Data[InstanceLayout.ConfFile], Is.EqualTo(spec.MyCnf));
            Assert.That(Mysqld(pod).VolumeMounts.Single(m => m.Name == volume.Name).MountPath, Is.EqualTo(InstanceLayout.ConfDir));
        });
    }

    [Test]
    public void The_data_directory_is_the_instances_pre_bound_claim()
    {
        var spec = Spec();
        var pod = KubernetesObjects.InstancePod("node-a", Host, spec);
        var data = pod.Spec.Volumes.Single(v => v.PersistentVolumeClaim is not null);

        Assert.Multiple(() =>
        {
            Assert.That(data.PersistentVolumeClaim.ClaimName, Is.EqualTo(KubernetesNames.Claim(spec.InstanceId)));
            Assert.That(Mysqld(pod).VolumeMounts.Single(m => m.Name == data.Name).MountPath, Is.EqualTo(InstanceLayout.DataDir));
        });
    }

    [Test]
    public void The_pod_carries_the_ownership_labels_of_a_docker_container_with_valid_label_values()
    {
        var spec = Spec(device: "/dev/loop3");
        var pod = KubernetesObjects.InstancePod("node-a", Host, spec);
        var onDocker = OwnershipLabels.ForInstance(Host.HostId, spec);

        Assert.Multiple(() =>
        {
            Assert.That(pod.Metadata.Labels.Keys, Is.EquivalentTo(onDocker.Keys));
            foreach (var (key, value) in onDocker.Where(l => l.Key != OwnershipLabels.Disk))
                Assert.That(pod.Metadata.Labels[key], Is.EqualTo(value), key);
            Assert.That(pod.Metadata.Labels[OwnershipLabels.Disk], Is.EqualTo("dev-loop3"), "a device path is no label value");
            Assert.That(pod.Metadata.Labels.Values, Is.All.Matches<string>(KubernetesNames.IsLabelValue));
        });
    }
}
