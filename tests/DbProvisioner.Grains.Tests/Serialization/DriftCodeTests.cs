using DbProvisioner.Api;
using DbProvisioner.Domain.Hosts;

namespace DbProvisioner.Grains.Tests.Serialization;

/// <summary>The inspector grain sends the Domain's drift kinds under the Api's codes of the same name: one without a code would fail every inspection.</summary>
public sealed class DriftCodeTests
{
    [Test]
    public void Every_drift_kind_has_a_wire_code_of_its_name()
    {
        Assert.That(Enum.GetNames<DriftKind>(), Is.EquivalentTo(Enum.GetNames<DriftCode>()));
    }

    [Test]
    public void Codes_are_kebab_case_on_the_wire()
    {
        Assert.That(WireName.Of(DriftCode.CpusetCpus), Is.EqualTo("cpuset-cpus"));
    }
}
