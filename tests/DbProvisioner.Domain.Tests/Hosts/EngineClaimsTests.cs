using DbProvisioner.Domain.Hosts;

namespace DbProvisioner.Domain.Tests.Hosts;

/// <summary>Two hosts on one engine: no device and no port on one address shared; a host's own claim never conflicts.</summary>
public sealed class EngineClaimsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);

    private static EngineClaim Claim(string devices, int first, int last, string address = "127.0.0.1", DateTimeOffset? at = null) =>
        new(devices.Split(',', StringSplitOptions.RemoveEmptyEntries), address, first, last, at ?? T0);

    private static readonly Dictionary<string, EngineClaim> Held = new(StringComparer.Ordinal)
    {
        ["a"] = Claim("/dev/loop1,/dev/loop2", 3501, 3509),
        ["b"] = Claim("/dev/loop3", 3511, 3519, "10.0.0.2"),
    };

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData("c", Claim("/dev/loop4", 3521, 3529), null, null).SetName("disjoint devices and ports");
        yield return new TestCaseData("c", Claim("/dev/loop4,/dev/loop2", 3521, 3529), "disks", "a").SetName("a device of another host");
        yield return new TestCaseData("c", Claim("/dev/loop4", 3509, 3529), "ports", "a").SetName("ports overlap at the first port");
        yield return new TestCaseData("c", Claim("/dev/loop4", 3400, 3501), "ports", "a").SetName("ports overlap at the last port");
        yield return new TestCaseData("c", Claim("/dev/loop4", 3400, 3600), "ports", "a").SetName("ports around another range");
        yield return new TestCaseData("c", Claim("/dev/loop4", 3503, 3504), "ports", "a").SetName("ports inside another range");
        yield return new TestCaseData("c", Claim("/dev/loop4", 3501, 3509, "10.0.0.3"), null, null).SetName("same ports on another address");
        yield return new TestCaseData("c", Claim("/dev/loop4", 3511, 3511, "10.0.0.2"), "ports", "b").SetName("one port on the other host's address");
        yield return new TestCaseData("a", Claim("/dev/loop1", 3501, 3502), null, null).SetName("the host's own claim, changed");
        yield return new TestCaseData("b", Claim("/dev/loop1", 3600, 3609), "disks", "a").SetName("a known host taking another's device");
    }

    [TestCaseSource(nameof(Cases))]
    public void Check_refuses_what_another_host_holds(string hostId, EngineClaim claim, string? field, string? other)
    {
        var conflict = EngineClaims.Check(Held, hostId, claim);

        Assert.That(conflict?.Field, Is.EqualTo(field));
        Assert.That(conflict?.OtherHost, Is.EqualTo(other));
        if (conflict is not null) Assert.That(conflict.Message, Does.Contain($"host {other}"));
    }

    [TestCase(false, 119, false, TestName = "a claim younger than the grace may be a registration in flight")]
    [TestCase(false, 120, true, TestName = "an old claim of a host never registered is abandoned")]
    [TestCase(true, 3600, false, TestName = "a registered host's claim is never abandoned")]
    public void IsAbandoned(bool registered, int ageSeconds, bool abandoned)
    {
        var claim = Claim("/dev/loop1", 3501, 3509);

        Assert.That(EngineClaims.IsAbandoned(claim, registered, T0.AddSeconds(ageSeconds), TimeSpan.FromMinutes(2)), Is.EqualTo(abandoned));
    }

    [TestCase("unix:///var/run/docker.sock", "unix:///var/run/docker.sock")]
    [TestCase("unix:///var/run/docker.sock/", "unix:///var/run/docker.sock")]
    [TestCase("HTTPS://Node-1.Example:2376/", "https://node-1.example:2376")]
    [TestCase("tcp://10.251.1.2:2376", "tcp://10.251.1.2:2376")]
    public void EngineKey_is_one_per_machine(string endpoint, string key) =>
        Assert.That(EngineClaims.EngineKey(endpoint), Is.EqualTo(key));

    [Test]
    public void SameAs_ignores_the_order_of_devices_and_the_time()
    {
        Assert.That(Claim("/dev/a,/dev/b", 1, 2).SameAs(Claim("/dev/b,/dev/a", 1, 2, at: T0.AddDays(1))), Is.True);
        Assert.That(Claim("/dev/a,/dev/b", 1, 2).SameAs(Claim("/dev/a", 1, 2)), Is.False);
        Assert.That(Claim("/dev/a", 1, 2).SameAs(Claim("/dev/a", 1, 3)), Is.False);
    }
}
