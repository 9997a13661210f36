using DbProvisioner.Runtime.Kubernetes;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Objects;

/// <summary>The disk's local PV, the instance's pre-bound claim and the disk's format Job.</summary>
public sealed class DiskObjectsTests
{
    private static readonly HostConnection Host = new("node-a", new Uri("k8s://prod/node-a"), "10.0.0.7", HostConnection.DefaultImage);

    [TestCase("node-a", "/dev/loop3", "dbprov-pv-node-a-dev-loop3")]
    [TestCase("worker-17", "/dev/nvme1n1", "dbprov-pv-worker-17-dev-nvme1n1")]
    [TestCase("worker-17", "/dev/disk/by-id/wwn-0x5000", "dbprov-pv-worker-17-dev-disk-by-id-wwn-0x5000")]
    public void A_disk_is_a_local_pv_reachable_only_from_its_node(string node, string device, string name)
    {
        var pv = KubernetesObjects.DiskVolume(node, "node-a", device, 20, "i-0a1b2c3d4e");
        var terms = pv.Spec.NodeAffinity.Required.NodeSelectorTerms;

        Assert.Multiple(() =>
        {
            Assert.That(pv.Metadata.Name, Is.EqualTo(name));
            Assert.That(terms, Has.Count.EqualTo(1));
            var requirement = terms.Single().MatchExpressions.Single();
            Assert.That(requirement.Key, Is.EqualTo("kubernetes.io/hostname"));
            Assert.That(requirement.OperatorProperty, Is.EqualTo("In"));
            Assert.That(requirement.Values, Is.EqualTo(new[] { node }));
            Assert.That(pv.Spec.Local.Path, Is.EqualTo(device));
            Assert.That(pv.Spec.Local.FsType, Is.EqualTo("xfs"));
            Assert.That(pv.Spec.HostPath, Is.Null);
            Assert.That(pv.Spec.StorageClassName, Is.EqualTo(KubernetesNames.StorageClass));
            Assert.That(pv.Spec.PersistentVolumeReclaimPolicy, Is.EqualTo("Retain"), "Delete would have no provisioner to delete with; the disk pool wipes");
            Assert.That(pv.Metadata.Annotations[OwnershipLabels.Disk], Is.EqualTo(device));
            Assert.That(pv.Metadata.Labels.Values, Is.All.Matches<string>(KubernetesNames.IsLabelValue));
        });
    }

    [Test]
    public void The_claim_and_the_pv_are_bound_to_each_other_by_name()
    {
        var spec = InstancePodTests.Spec(device: "/dev/loop5");
        var pv = KubernetesObjects.DiskVolume("node-a", Host.HostId, spec.Device, 20, spec.InstanceId);
        var claim = KubernetesObjects.DataClaim("node-a", Host, spec, 20);

        Assert.Multiple(() =>
        {
            Assert.That(claim.Spec.VolumeName, Is.EqualTo(pv.Metadata.Name));
            Assert.That(pv.Spec.ClaimRef.Name, Is.EqualTo(claim.Metadata.Name));
            Assert.That(claim.Spec.StorageClassName, Is.EqualTo(pv.Spec.StorageClassName));
            Assert.That(claim.Spec.Resources.Requests["storage"].ToDecimal(), Is.LessThanOrEqualTo(pv.Spec.Capacity["storage"].ToDecimal()));
            Assert.That(claim.Spec.AccessModes, Is.EqualTo(pv.Spec.AccessModes));
        });
    }

    [Test]
    public void The_storage_class_has_no_provisioner_so_only_the_appliances_pvs_satisfy_it()
    {
        var sc = KubernetesObjects.StorageClass();
        Assert.Multiple(() =>
        {
            Assert.That(sc.Metadata.Name, Is.EqualTo(KubernetesNames.StorageClass));
            Assert.That(sc.Provisioner, Is.EqualTo("kubernetes.io/no-provisioner"));
        });
    }

    [TestCase(false, "format")]
    [TestCase(true, "seed")]
    public void The_format_job_is_pinned_to_the_node_runs_once_and_sees_only_its_disk(bool seed, string purpose)
    {
        var job = KubernetesObjects.DiskJob("node-b", Host, "/dev/loop3", seed);
        var pod = job.Spec.Template.Spec;
        var container = pod.Containers.Single();

        Assert.Multiple(() =>
        {
            Assert.That(pod.NodeName, Is.EqualTo("node-b"));
            Assert.That(job.Spec.BackoffLimit, Is.Zero, "a retried mkfs would hide the first failure");
            Assert.That(pod.RestartPolicy, Is.EqualTo("Never"));
            Assert.That(pod.Volumes.Single().HostPath.Path, Is.EqualTo("/dev/loop3"));
            Assert.That(pod.Volumes.Single().HostPath.Type, Is.EqualTo("BlockDevice"), "never a directory or file at that path");
            Assert.That(container.SecurityContext.Privileged, Is.Not.True);
            Assert.That(container.SecurityContext.AllowPrivilegeEscalation, Is.False);
            Assert.That(container.SecurityContext.Capabilities.Drop, Is.EquivalentTo(new[] { "ALL" }));
            Assert.That(pod.HostNetwork, Is.Not.True);
            Assert.That(job.Metadata.Labels[OwnershipLabels.Helper], Is.EqualTo(purpose));
            Assert.That(container.Env.Any(e => e.Name == "DBPROV_SEED"), Is.EqualTo(seed));
        });
    }

    [TestCase("i-0a1b2c3d4e", true)]
    [TestCase("orders-0-1", true)]
    [TestCase("under_score", false)]
    [TestCase("dotted.id", false)]
    public void Instance_ids_that_cannot_name_a_pod_are_refused_before_any_call(string instanceId, bool valid)
    {
        if (valid) Assert.That(KubernetesNames.Pod(instanceId), Is.EqualTo($"dbprov-{instanceId}"));
        else Assert.Throws<ArgumentException>(() => KubernetesNames.Pod(instanceId));
    }
}
