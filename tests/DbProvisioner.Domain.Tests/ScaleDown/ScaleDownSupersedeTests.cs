using DbProvisioner.Domain.ScaleDown;

namespace DbProvisioner.Domain.Tests.ScaleDown;

public sealed class ScaleDownSupersedeTests
{
    private static readonly PendingScaleDown Request = new("sd-b", "i-1", 4);

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new InstanceNow(4, false, null), null)
            .SetName("an unchanged instance: the request stands");
        yield return new TestCaseData(null, "instance i-1 no longer exists")
            .SetName("a vanished instance supersedes");
        yield return new TestCaseData(new InstanceNow(9, true, "sd-a"), "instance i-1 was removed by request sd-a")
            .SetName("removed by another request supersedes, naming it");
        yield return new TestCaseData(new InstanceNow(5, false, "sd-a"), "instance i-1 is being removed by request sd-a")
            .SetName("being removed by another request supersedes, naming it");
        yield return new TestCaseData(new InstanceNow(4, false, "sd-a"), "instance i-1 is being removed by request sd-a")
            .SetName("another request's removal supersedes even before the version moved");
        yield return new TestCaseData(new InstanceNow(4, true, null), "instance i-1 was removed")
            .SetName("a removed instance supersedes even without a known remover");
        yield return new TestCaseData(new InstanceNow(6, false, null), "instance i-1 changed since the request was planned (version 4, now 6)")
            .SetName("a version past the bound one supersedes, naming both");
        yield return new TestCaseData(new InstanceNow(3, false, null), "instance i-1 changed since the request was planned (version 4, now 3)")
            .SetName("a version behind the bound one (instance record replaced) supersedes too");
        yield return new TestCaseData(new InstanceNow(5, false, "sd-b"), null)
            .SetName("the request's own removal never supersedes it");
        yield return new TestCaseData(new InstanceNow(9, true, "sd-b"), null)
            .SetName("the request's own completed removal never supersedes it");
    }

    [TestCaseSource(nameof(Cases))]
    public void Decides_whether_a_pending_request_outlived_its_instance(InstanceNow? instance, string? expected)
    {
        Assert.That(ScaleDownSupersede.Reason(Request, instance), Is.EqualTo(expected));
    }
}
