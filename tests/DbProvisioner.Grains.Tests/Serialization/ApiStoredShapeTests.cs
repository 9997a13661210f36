using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace DbProvisioner.Grains.Tests.Serialization;

/// <summary>
/// The API records grains keep in stored state are written in the shape they had as Contracts records, names as strings
/// (ApiSurrogates.cs). The Stored… records below are those records as they were at commit 54fcd85: what they wrote reads
/// as today's record, and what today's record writes reads as they did (a server rolled back still loads it).
/// </summary>
public sealed class ApiStoredShapeTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void An_instance_spec_with_its_spread_keeps_its_stored_shape()
    {
        var stored = new StoredInstanceSpec("orders", "s0", "primary", 2, 2048, 512, 1, 10, "nvme", "interleave", "general", new StoredSpreadSpec("rack", 2, "soft"));
        var today = new InstanceSpec("orders", "s0", "primary", 2, 2048, 512, 1, 10, "nvme", NumaPolicy.Interleave, "general",
            new SpreadSpec(SpreadDomain.Rack, 2, SpreadMode.Soft));

        AssertSameShape(stored, today);
    }

    [Test]
    public void A_cluster_request_with_its_template_keeps_its_stored_shape()
    {
        var stored = new StoredCreateClusterRequest("orders", "general", 2, 3, new StoredSpreadSpec("zone", 1, "hard"),
            new StoredInstanceTemplateSpec(1, 1024, null, 5, null, "required", 1));
        var today = new CreateClusterRequest("orders", "general", 2, 3, new SpreadSpec(SpreadDomain.Zone, 1, SpreadMode.Hard),
            new InstanceTemplateSpec(1, 1024, null, 5, null, NumaPolicy.Required, 1));

        AssertSameShape(stored, today);
    }

    [Test]
    public void Steps_risks_and_catalog_entries_keep_their_stored_shape()
    {
        AssertSameShape(new StoredStepView("Placed", At, 12.5, "host h1"), new StepView("Placed", At, 12.5, "host h1"));
        AssertSameShape(new StoredRiskItemView("last-member", "Blocking", "gone"), new RiskItemView(RiskCode.LastMember, RiskSeverity.Blocking, "gone"));
        AssertSameShape(new StoredHostSummary("h1", "general", "z1", "r1", true, 3, 4, 2), new HostSummary("h1", "general", "z1", "r1", true, 3, 4, 2));
        AssertSameShape(new StoredInstanceSummary("i-1", "Ready", "orders", "s0", null), new InstanceSummary("i-1", "Ready", "orders", "s0", null));
    }

    [Test]
    public void A_stored_approval_keeps_the_codes_that_name_a_risk()
    {
        // The API once took any text as a code; one that named no risk never acknowledged anything.
        var stored = new StoredScaleDownDecisionView("approver", At, "approved", ["last-member", "whatever"], null);

        var read = RoundTrip<StoredScaleDownDecisionView, ScaleDownDecisionView>(stored);

        Assert.That(read.Acknowledged, Is.EqualTo(new[] { RiskCode.LastMember }));
        var back = RoundTrip<ScaleDownDecisionView, StoredScaleDownDecisionView>(read);
        Assert.That(back.Acknowledged, Is.EqualTo(new[] { "last-member" }));
    }

    [Test]
    public void A_host_registration_keeps_its_stored_shape()
    {
        // Its lists are written with their element type's name; null here, as the shape is what is checked.
        var stored = new StoredRegisterHostRequest("h1", "tcp://h1:2375", "z1", "r1", "general", null, "0", new StoredPortRangeSpec(3400, 3499),
            "10.0.0.1", null, new StoredTopologySpec(2, 8, 2, 65536), null, 4096);
        var today = new RegisterHostRequest("h1", "tcp://h1:2375", "z1", "r1", "general", null, "0", new PortRangeSpec(3400, 3499),
            "10.0.0.1", null, new TopologySpec(2, 8, 2, 65536), null, 4096);

        AssertSameShape(stored, today);
    }

    private static void AssertSameShape<TStored, TToday>(TStored stored, TToday today)
    {
        Assert.Multiple(() =>
        {
            Assert.That(Json(RoundTrip<TStored, TToday>(stored)), Is.EqualTo(Json(today)), "what the old record wrote reads as today's");
            Assert.That(Json(RoundTrip<TToday, TStored>(today)), Is.EqualTo(Json(stored)), "what today's record writes reads as the old one");
        });
    }

    private static TTo RoundTrip<TFrom, TTo>(TFrom value)
    {
        using var services = new ServiceCollection().AddDomainSerialization().BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        return serializer.Deserialize<TTo>(serializer.SerializeToArray(value))!;
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);
}

// The records as Contracts declared them at commit 54fcd85 (names as strings).

[GenerateSerializer, Immutable]
public sealed record StoredSpreadSpec([property: Id(0)] string Domain, [property: Id(1)] int MaxPerDomain, [property: Id(2)] string Mode);

[GenerateSerializer, Immutable]
public sealed record StoredInstanceSpec(
    [property: Id(0)] string Cluster, [property: Id(1)] string Shard, [property: Id(2)] string Role, [property: Id(3)] int Cpus,
    [property: Id(4)] long MemoryMiB, [property: Id(5)] long SwapMiB, [property: Id(6)] int Swappiness, [property: Id(7)] long DiskGiB,
    [property: Id(8)] string DiskClass, [property: Id(9)] string Numa, [property: Id(10)] string Pool, [property: Id(11)] StoredSpreadSpec Spread);

[GenerateSerializer, Immutable]
public sealed record StoredInstanceTemplateSpec(
    [property: Id(0)] int? Cpus, [property: Id(1)] long? MemoryMiB, [property: Id(2)] long? SwapMiB, [property: Id(3)] long? DiskGiB,
    [property: Id(4)] string? DiskClass, [property: Id(5)] string? Numa, [property: Id(6)] int? Swappiness = null);

[GenerateSerializer, Immutable]
public sealed record StoredCreateClusterRequest(
    [property: Id(0)] string? Name, [property: Id(1)] string? Pool, [property: Id(2)] int? Shards, [property: Id(3)] int? Replicas,
    [property: Id(4)] StoredSpreadSpec? Spread, [property: Id(5)] StoredInstanceTemplateSpec? Template);

[GenerateSerializer, Immutable]
public sealed record StoredStepView([property: Id(0)] string Step, [property: Id(1)] DateTimeOffset At, [property: Id(2)] double DurationMs, [property: Id(3)] string Outcome);

[GenerateSerializer, Immutable]
public sealed record StoredRiskItemView([property: Id(0)] string Code, [property: Id(1)] string Severity, [property: Id(2)] string Message);

[GenerateSerializer, Immutable]
public sealed record StoredScaleDownDecisionView(
    [property: Id(0)] string By, [property: Id(1)] DateTimeOffset At, [property: Id(2)] string Decision,
    [property: Id(3)] IReadOnlyList<string> Acknowledged, [property: Id(4)] string? Reason);

[GenerateSerializer, Immutable]
public sealed record StoredHostSummary(
    [property: Id(0)] string Id, [property: Id(1)] string Pool, [property: Id(2)] string Zone, [property: Id(3)] string Rack,
    [property: Id(4)] bool Cordoned, [property: Id(5)] int FreeCores, [property: Id(6)] int TotalCores, [property: Id(7)] int ReadyDisks);

[GenerateSerializer, Immutable]
public sealed record StoredInstanceSummary(
    [property: Id(0)] string Id, [property: Id(1)] string State, [property: Id(2)] string Cluster, [property: Id(3)] string Shard, [property: Id(4)] string? Host);

[GenerateSerializer, Immutable]
public sealed record StoredPortRangeSpec([property: Id(0)] int First, [property: Id(1)] int Last);

[GenerateSerializer, Immutable]
public sealed record StoredDiskSpec([property: Id(0)] string Device, [property: Id(1)] long SizeGiB, [property: Id(2)] string? Class = null, [property: Id(3)] string? Id = null);

[GenerateSerializer, Immutable]
public sealed record StoredWatermarkSpec([property: Id(0)] string Class, [property: Id(1)] int MinReady, [property: Id(2)] int MinSeeded);

[GenerateSerializer, Immutable]
public sealed record StoredTopologySpec([property: Id(0)] int NumaNodes, [property: Id(1)] int CoresPerNode, [property: Id(2)] int ThreadsPerCore, [property: Id(3)] long MemoryMiBPerNode);

[GenerateSerializer, Immutable]
public sealed record StoredRegisterHostRequest(
    [property: Id(0)] string? Id, [property: Id(1)] string? EngineEndpoint, [property: Id(2)] string? Zone, [property: Id(3)] string? Rack,
    [property: Id(4)] string? Pool, [property: Id(5)] IReadOnlyList<StoredDiskSpec>? Disks, [property: Id(6)] string? ReservedCpus,
    [property: Id(7)] StoredPortRangeSpec? Ports, [property: Id(8)] string? MySqlAddress, [property: Id(9)] IReadOnlyDictionary<string, string>? Labels = null,
    [property: Id(10)] StoredTopologySpec? Topology = null, [property: Id(11)] IReadOnlyList<StoredWatermarkSpec>? Watermarks = null, [property: Id(12)] long? SwapMiB = null);
