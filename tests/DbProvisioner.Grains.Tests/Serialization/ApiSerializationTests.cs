using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace DbProvisioner.Grains.Tests.Serialization;

/// <summary>
/// The API's records live in DbProvisioner.Api (no Orleans runtime); their Orleans codecs are generated in Contracts.
/// What a grain stores or answers must come back whole, through the very serializer the silo uses.
/// </summary>
public sealed class ApiSerializationTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void An_instance_view_with_its_spec_steps_and_endpoint_round_trips()
    {
        var view = new InstanceView(
            "i-abc", "Ready", null,
            new InstanceSpec("orders", "s0", "primary", 2, 2048, 512, 1, 10, "nvme", NumaPolicy.Required, "general", new SpreadSpec(SpreadDomain.Rack, 2, SpreadMode.Soft)),
            "h1", "2-3", [0], "d1", "/dev/d1", new EndpointView("10.0.0.1", 3400),
            [new StepView("Requested", At, 0, "ok"), new StepView("Ready", At.AddSeconds(3), 3000, "ok")],
            7, "requester-key", At, ContainerMissing: true, RemovalRequestId: "sd-1");

        AssertRoundTrips(view);
    }

    [Test]
    public void A_scale_down_view_with_its_risks_and_decision_round_trips()
    {
        var view = new ScaleDownView(
            "sd-1", "Approved", "i-abc", "orders", "s0", "replica", "h1", 7,
            [new RiskItemView(RiskCode.LastMember, RiskSeverity.Blocking, "last member of orders/s0")],
            "requester-key", At, At.AddHours(1),
            new ScaleDownDecisionView("approver-key", At.AddMinutes(5), "approved", [RiskCode.LastMember], null),
            [new StepView("Pending", At, 0, "1 blocking risk(s), 0 warning(s)")], null);

        AssertRoundTrips(view);
    }

    [Test]
    public void A_host_registration_and_a_refusal_wrapping_a_view_round_trip()
    {
        var registration = new RegisterHostRequest(
            "h1", "tcp://h1:2375", "z1", "r1", "general", [new DiskSpec("/dev/sdb", 100, "nvme", "d1")], "0", new PortRangeSpec(3400, 3499),
            "10.0.0.1", new Dictionary<string, string> { ["rack-row"] = "7" }, new TopologySpec(2, 8, 2, 65536), [new WatermarkSpec("nvme", 2, 1)], 4096);
        AssertRoundTrips(registration);
        AssertRoundTrips(Outcome<ClusterView>.Fail(OutcomeKind.Unplaceable, "no host has 8 free cores on one NUMA node"));
    }

    private static void AssertRoundTrips<T>(T value)
    {
        using var services = new ServiceCollection().AddDomainSerialization().BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();

        var back = serializer.Deserialize<T>(serializer.SerializeToArray(value));

        // Records holding lists compare by reference; their JSON compares every field.
        Assert.That(JsonSerializer.Serialize(back), Is.EqualTo(JsonSerializer.Serialize(value)));
        Assert.That(JsonSerializer.Serialize(services.GetRequiredService<DeepCopier>().Copy(value)), Is.EqualTo(JsonSerializer.Serialize(value)));
    }
}
