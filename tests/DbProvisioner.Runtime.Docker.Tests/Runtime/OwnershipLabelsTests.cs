using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;

namespace DbProvisioner.Runtime.Docker.Tests.Runtime;

/// <summary>The labels every driver puts on what it makes: reconciliation finds a host's own resources by them, and nothing else.</summary>
public sealed class OwnershipLabelsTests
{
    private static readonly InstanceContainerSpec Spec = new("db-1", "/dev/xvdq", CpuSet.Of(1), [0], 1024, 0, 1, 3401, "[mysqld]\n",
        InstanceCredentials.Generate(), new Dictionary<string, string> { ["dbprov.shard"] = "orders-0" });

    [Test]
    public void An_instance_carries_owner_host_instance_port_disk_and_the_callers_labels() =>
        Assert.That(OwnershipLabels.ForInstance("db-17", Spec), Is.EquivalentTo(new Dictionary<string, string>
        {
            ["dbprov.managed-by"] = "dbprovisioner",
            ["dbprov.host"] = "db-17",
            ["dbprov.instance"] = "db-1",
            ["dbprov.port"] = "3401",
            ["dbprov.disk"] = "/dev/xvdq",
            ["dbprov.shard"] = "orders-0",
        }));

    [Test]
    public void A_helper_carries_its_purpose_and_its_disk_only_when_it_has_one()
    {
        Assert.That(OwnershipLabels.ForHelper("db-17", "format", "/dev/xvdq"), Is.EquivalentTo(new Dictionary<string, string>
        {
            ["dbprov.managed-by"] = "dbprovisioner",
            ["dbprov.host"] = "db-17",
            ["dbprov.helper"] = "format",
            ["dbprov.disk"] = "/dev/xvdq",
        }));
        Assert.That(OwnershipLabels.ForHelper("db-17", "topology").Keys, Is.EquivalentTo(new[] { "dbprov.managed-by", "dbprov.host", "dbprov.helper" }));
    }

    [Test]
    public void Every_label_the_runtime_sets_is_reserved_from_the_caller()
    {
        var set = OwnershipLabels.ForInstance("db-17", Spec).Keys.Concat(OwnershipLabels.ForHelper("db-17", "format", "/dev/xvdq").Keys)
            .Where(key => !Spec.Labels!.ContainsKey(key)).Distinct();

        Assert.That(set.Where(key => !OwnershipLabels.IsReserved(key)), Is.Empty);
        Assert.That(OwnershipLabels.IsReserved("dbprov.shard"), Is.False);
    }

    [Test]
    public void A_hosts_selector_selects_its_instances_and_helpers_and_not_another_hosts()
    {
        var made = new[] { OwnershipLabels.ForInstance("db-17", Spec), OwnershipLabels.ForHelper("db-17", "check", "/dev/xvdq") };

        Assert.That(made, Has.All.Matches<Dictionary<string, string>>(labels => Selects(OwnershipLabels.Selector("db-17"), labels)));
        Assert.That(made, Has.None.Matches<Dictionary<string, string>>(labels => Selects(OwnershipLabels.Selector("db-18"), labels)));
    }

    [Test]
    public void A_selector_with_a_disk_selects_only_what_uses_that_disk()
    {
        var selector = OwnershipLabels.Selector("db-17", (OwnershipLabels.Disk, "/dev/xvdq"));

        Assert.That(selector, Is.EqualTo(new[] { "dbprov.managed-by=dbprovisioner", "dbprov.host=db-17", "dbprov.disk=/dev/xvdq" }));
        Assert.That(Selects(selector, OwnershipLabels.ForInstance("db-17", Spec)), Is.True);
        Assert.That(Selects(selector, OwnershipLabels.ForInstance("db-17", Spec with { Device = "/dev/xvdr" })), Is.False);
    }

    /// <summary>What an engine's label filter does: every "key=value" term is a label of the resource.</summary>
    private static bool Selects(IEnumerable<string> selector, IReadOnlyDictionary<string, string> labels) =>
        selector.All(term => term.Split('=', 2) is [var key, var value] && labels.TryGetValue(key, out var v) && v == value);
}
