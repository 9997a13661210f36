using DbProvisioner.Domain.Clusters;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.Clusters;

public sealed class ClusterStagesTests
{
    [TestCase("", true, ClusterStage.None)]
    [TestCase("Reserving", true, ClusterStage.Reserving)]
    [TestCase("Provisioning", true, ClusterStage.Provisioning)]
    [TestCase("Failed", true, ClusterStage.Failed)]
    [TestCase("failed", false, ClusterStage.None)]
    [TestCase("2", false, ClusterStage.None)]
    [TestCase("Ready", false, ClusterStage.None)]
    public void A_stored_name_reads_back_as_its_stage_and_nothing_else_does(string name, bool known, ClusterStage expected)
    {
        Assert.That(ClusterStages.TryParse(name, out var stage), Is.EqualTo(known));
        if (known) Assert.That((stage, ClusterStages.NameOf(stage)), Is.EqualTo((expected, name)), "written back as it was read");
    }

    private static readonly object[] Statuses =
    [
        new object?[] { ClusterStage.Failed, new InstanceState?[] { InstanceState.Ready }, ClusterStatus.Failed },
        new object?[] { ClusterStage.Provisioning, new InstanceState?[] { InstanceState.Ready, InstanceState.Ready }, ClusterStatus.Ready },
        new object?[] { ClusterStage.Provisioning, new InstanceState?[] { InstanceState.Ready, InstanceState.Failed }, ClusterStatus.Degraded },
        new object?[] { ClusterStage.Provisioning, new InstanceState?[] { InstanceState.Placed, InstanceState.Failed }, ClusterStatus.Degraded },
        new object?[] { ClusterStage.Provisioning, new InstanceState?[] { InstanceState.Ready, null }, ClusterStatus.Provisioning },
        new object?[] { ClusterStage.Provisioning, new InstanceState?[] { InstanceState.Ready, InstanceState.ContainerStarted }, ClusterStatus.Provisioning },
    ];

    [TestCaseSource(nameof(Statuses))]
    public void A_cluster_shows_failed_creation_first_then_its_members(ClusterStage stage, InstanceState?[] members, ClusterStatus expected) =>
        Assert.That(ClusterStages.Status(stage, members), Is.EqualTo(expected));
}
