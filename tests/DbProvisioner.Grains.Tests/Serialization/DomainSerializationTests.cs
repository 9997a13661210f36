using System.Text.Json;
using System.Text.Json.Nodes;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Disks;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Topology;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using DbProvisioner.Api;

namespace DbProvisioner.Grains.Tests.Serialization;

/// <summary>The compact topology form and the copy-free hand-over of immutable Domain records.</summary>
public sealed class DomainSerializationTests
{
    private static JsonSerializerOptions Json => DomainSerialization.JsonOptions;

    [Test]
    public void A_uniform_topology_is_written_as_its_shape_and_read_back_equal()
    {
        var topology = TopologyBuilder.Uniform(2, 24, 2, 196_608);
        var json = JsonSerializer.Serialize(topology, Json);
        Assert.That(json, Is.EqualTo("""{"Uniform":[2,24,2,196608]}"""));

        var back = JsonSerializer.Deserialize<HostTopology>(json, Json)!;
        AssertSame(back, topology);
        // Every host of one shape shares one topology object.
        Assert.That(JsonSerializer.Deserialize<HostTopology>(json, Json), Is.SameAs(back));
    }

    [Test]
    public void The_full_form_written_before_is_still_read()
    {
        var topology = TopologyBuilder.Uniform(2, 4, 2, 16_384);
        var plain = new JsonSerializerOptions(Json);
        plain.Converters.Remove(plain.Converters.OfType<HostTopologyJsonConverter>().Single());
        var full = JsonSerializer.Serialize(topology, plain);
        Assert.That(full, Does.Contain("\"Nodes\""));

        AssertSame(JsonSerializer.Deserialize<HostTopology>(full, Json)!, topology);
    }

    [Test]
    public void Any_other_topology_is_written_in_full_and_read_back_equal()
    {
        var topology = TopologyBuilder.Create().WithNode(4, 2, 8192).WithNode(2, 2, 4096).Build();
        var adjacent = TopologyBuilder.Create().WithNode(4, 2, 8192).WithNode(4, 2, 8192).WithAdjacentSiblings().Build();
        foreach (var t in new[] { topology, adjacent })
        {
            var json = JsonSerializer.Serialize(t, Json);
            Assert.That(json, Does.Not.Contain("Uniform"));
            AssertSame(JsonSerializer.Deserialize<HostTopology>(json, Json)!, t);
        }
    }

    [Test]
    public void A_host_state_round_trips_with_the_compact_topology()
    {
        var disks = new[] { new Disk("d1", "/dev/d1", 100, "nvme", DiskState.Ready), new Disk("d2", "/dev/d2", 100, "nvme", DiskState.Discovered) };
        var host = HostState.Create("h1", "p", "z1", "r1", TopologyBuilder.Uniform(2, 8, 2, 65_536), disks, new PortRange(3306, 3310), CpuSet.Empty)
            with { Swap = HostSwap.Of(4096, 2048) };
        var reserved = HostReservations.Reserve(host, new InstanceRequest("i1", 4, 4096, NumaPolicy.Required, 10, "nvme", 512));
        Assert.That(reserved.Succeeded, Is.True, reserved.Reason);
        var state = reserved.State;
        var json = JsonSerializer.Serialize(state, Json);
        var back = JsonSerializer.Deserialize<HostState>(json, Json)!;
        Assert.That(JsonSerializer.Serialize(back, Json), Is.EqualTo(json));
        Assert.That(HostReservations.Validate(back), Is.Empty);
        Assert.That((back.Swap.TotalMiB, back.Swap.AllocatableMiB, back.Swap.HeldBy("i1")), Is.EqualTo((4096L, 2048L, 512L)), "swap survives the write");
        var capacity = JsonSerializer.Deserialize<HostCapacity>(JsonSerializer.Serialize(HostCapacity.From(back), Json), Json)!;
        Assert.That((capacity.AllocatableSwapMiB, capacity.FreeSwapMiB), Is.EqualTo((2048L, 1536L)), "the placement index gets the swap figures");
    }

    [Test]
    public void A_host_state_stored_before_swap_was_accounted_reads_as_a_host_without_swap()
    {
        var disks = new[] { new Disk("d1", "/dev/d1", 100, "nvme", DiskState.Ready), new Disk("d2", "/dev/d2", 100, "nvme", DiskState.Ready) };
        var host = HostState.Create("h1", "p", "z1", "r1", TopologyBuilder.Uniform(1, 4, 1, 8192), disks, new PortRange(3306, 3310), CpuSet.Empty);
        var reserved = HostReservations.Reserve(host, new InstanceRequest("i1", 1, 1024, NumaPolicy.None, 10, "nvme"));
        var row = JsonNode.Parse(JsonSerializer.Serialize(reserved.State, Json))!.AsObject();
        var reservationRow = JsonNode.Parse(JsonSerializer.Serialize(reserved.Reservation, Json))!.AsObject();
        Assert.That(row.Remove("Swap") && reservationRow.Remove("SwapMiB"), Is.True, "the rows as they were written before");

        var old = JsonSerializer.Deserialize<HostState>(row.ToJsonString(), Json)!;
        var oldReservation = JsonSerializer.Deserialize<HostReservation>(reservationRow.ToJsonString(), Json)!;
        Assert.Multiple(() =>
        {
            Assert.That(old.Swap, Is.SameAs(HostSwap.None));
            Assert.That(HostReservations.Validate(old), Is.Empty);
            Assert.That(oldReservation.SwapMiB, Is.Zero);
            Assert.That(HostReservations.Reserve(old, new InstanceRequest("i2", 1, 1024, NumaPolicy.None, 10, "nvme")).Succeeded, Is.True);
            Assert.That(HostReservations.Reserve(old, new InstanceRequest("i2", 1, 1024, NumaPolicy.None, 10, "nvme", 1)).Reason, Does.Contain("no swap for instances"));
        });
    }

    [Test]
    public void Immutable_domain_records_are_handed_over_without_a_copy_and_others_are_copied()
    {
        using var services = new ServiceCollection().AddDomainSerialization().BuildServiceProvider();
        var copier = services.GetRequiredService<DeepCopier>();
        var capacity = HostCapacity.From(HostState.Create("h1", "p", "z1", "r1", TopologyBuilder.Uniform(1, 2, 2, 1024), [], new PortRange(1, 2), CpuSet.Empty));
        Assert.That(copier.Copy(capacity), Is.SameAs(capacity));
        var request = new InstanceRequest("i1", 2, 1024, NumaPolicy.Preferred, 10, "nvme");
        Assert.That(copier.Copy(request), Is.SameAs(request));

        var host = HostState.Create("h1", "p", "z1", "r1", TopologyBuilder.Uniform(1, 2, 2, 1024), [], new PortRange(1, 2), CpuSet.Empty);
        var copy = copier.Copy(host);
        Assert.That(copy, Is.Not.SameAs(host));
        Assert.That(JsonSerializer.Serialize(copy, Json), Is.EqualTo(JsonSerializer.Serialize(host, Json)));
    }

    private static void AssertSame(HostTopology actual, HostTopology expected)
    {
        Assert.That(actual.Nodes, Has.Count.EqualTo(expected.Nodes.Count));
        for (var n = 0; n < expected.Nodes.Count; n++)
        {
            Assert.That(actual.Nodes[n].Id, Is.EqualTo(expected.Nodes[n].Id));
            Assert.That(actual.Nodes[n].MemoryMiB, Is.EqualTo(expected.Nodes[n].MemoryMiB));
            Assert.That(actual.Nodes[n].Cores, Is.EqualTo(expected.Nodes[n].Cores));
        }
    }
}
