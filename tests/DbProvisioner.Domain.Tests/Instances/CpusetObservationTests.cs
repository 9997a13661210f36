using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Instances;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Domain.Tests.Instances;

/// <summary>The cpuset read back against the decided one: what is recorded, and what is a drift the inspection reports.</summary>
public sealed class CpusetObservationTests
{
    [TestCase("2-3", "2-3", false, CpusetFinding.Same, false, "runs on the decided CPUs")]
    [TestCase("2-3", "2,3", true, CpusetFinding.Same, false, "runs on the decided CPUs")]
    [TestCase("2-3", "6-7", false, CpusetFinding.OtherCpus, false, "its node chose CPUs 6,7; the appliance counts 2,3 for it (this runtime cannot honour an exact cpuset)")]
    [TestCase("2-3", "6-7", true, CpusetFinding.OtherCpus, true, "runs on CPUs 6,7, not the decided 2,3")]
    [TestCase("2-3", "0-7", false, CpusetFinding.CountMismatch, true, "runs on 8 CPUs (0-7) but 2 are reserved for it (2,3): its node does not give it exclusive CPUs (CPU manager policy not static, or the pod is not Guaranteed)")]
    [TestCase("2-3", "5", false, CpusetFinding.CountMismatch, true, "runs on 1 CPUs (5) but 2 are reserved for it (2,3): its node does not give it exclusive CPUs (CPU manager policy not static, or the pod is not Guaranteed)")]
    public void The_observed_cpuset_is_judged_against_the_decided_one(string decided, string observed, bool exact, CpusetFinding finding, bool drift, string note)
    {
        var seen = CpusetObservation.Judge(CpuSet.Parse(decided), CpuSet.Parse(observed), exact);
        Assert.Multiple(() =>
        {
            Assert.That(seen.Finding, Is.EqualTo(finding));
            Assert.That(seen.Cpus, Is.EqualTo(CpuSet.Parse(observed)));
            Assert.That(seen.IsDrift(exact), Is.EqualTo(drift));
            Assert.That(seen.Note, Is.EqualTo(note));
        });
    }

    private static HeldInstance Held() => new("a", CpuSet.Range(2, 3), [0], 1024, 0, "/dev/made-up-disk-a", ContainerExpectation.Expected);

    private static InspectedContainer Pod(string cpus) =>
        new("dbprov-a", "a", true, cpus, "", 1024L << 20, 1024L << 20, Inspection.ExpectedRestartPolicy, "/dev/made-up-disk-a");

    [TestCase("6-7", null, TestName = "On a node that chooses the cores: other ids are no drift (nor are unbound memory nodes)")]
    [TestCase("0-7", "0-7", TestName = "On a node that chooses the cores: all its CPUs (CPU manager policy none) is a CpuCount drift")]
    [TestCase("5", "5", TestName = "On a node that chooses the cores: fewer CPUs than reserved is a CpuCount drift")]
    public void A_kubernetes_host_is_judged_on_the_count_of_its_cpus_only(string observed, string? found)
    {
        var drifts = Inspection.Compare([Held()], [Pod(observed)], [new InspectedVolume("dbprov-data-a", "a", "/dev/made-up-disk-a")], RuntimeCapabilities.Kubernetes);
        Assert.That(drifts.Select(d => (d.Kind, d.Found, d.Expected)), found is null ? Is.Empty : Is.EqualTo(new[] { (DriftKind.CpuCount, found, "2 exclusive CPUs") }));
    }

    [Test]
    public void The_same_pod_on_a_docker_host_would_be_a_cpuset_and_a_memory_node_drift()
    {
        var drifts = Inspection.Compare([Held()], [Pod("6-7")], [new InspectedVolume("dbprov-data-a", "a", "/dev/made-up-disk-a")]);
        Assert.That(drifts.Select(d => d.Kind), Is.EqualTo(new[] { DriftKind.CpusetCpus, DriftKind.CpusetMems }));
    }
}
