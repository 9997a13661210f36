using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Disks;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;

namespace DbProvisioner.Grains.Tests.Containers;

/// <summary>The container an instance asks its host's engine for, from its request and its reservation; no engine needed.</summary>
public sealed class InstanceContainersTests
{
    private static readonly InstanceCredentials Credentials = new("not-a-secret-in-tests");

    /// <summary>A two-node host (4 cores × 2 threads per node, 8 GiB each) with one disk and 1 GiB of swap for instances.</summary>
    private static HostReservation Reserve(NumaPolicy numa, int cpus, long memoryMiB, long swapMiB = 0)
    {
        var host = HostState.Create("h1", "p", "z1", "r1", TopologyBuilder.Uniform(2, 4, 2, 8192),
            [new Disk("d1", "/dev/sim-d1", 100, "ssd", DiskState.Ready)], new PortRange(4000, 4003), CpuSet.Empty) with { Swap = HostSwap.Of(2048, 1024) };
        var result = HostReservations.Reserve(host, new InstanceRequest("i-1", cpus, memoryMiB, numa, 10, "ssd", swapMiB));
        Assert.That(result.Succeeded, Is.True, result.Reason);
        return result.Reservation!;
    }

    private static InstanceSpec Spec(string numa, int cpus, long memoryMiB, long swapMiB = 0) =>
        new("orders", "s1", "replica", cpus, memoryMiB, swapMiB, 5, 10, "ssd", WireName.Parse<NumaPolicy>(numa), "p", SpreadSpec.HostHard);

    public static IEnumerable<TestCaseData> NumaCases()
    {
        yield return new TestCaseData("required", NumaPolicy.Required, 2, 2048, true).SetName("required: memory bound to the CPUs' node");
        yield return new TestCaseData("preferred", NumaPolicy.Preferred, 2, 2048, true).SetName("preferred, fits one node: memory bound to it");
        yield return new TestCaseData("preferred", NumaPolicy.Preferred, 10, 12288, true).SetName("preferred across nodes: memory bound to every node it was booked on");
        yield return new TestCaseData("interleave", NumaPolicy.Interleave, 2, 2048, false).SetName("interleave: memory on any node");
        yield return new TestCaseData("none", NumaPolicy.None, 2, 2048, false).SetName("none: memory on any node");
    }

    [TestCaseSource(nameof(NumaCases))]
    public void Memory_is_bound_to_the_reserved_nodes_unless_the_policy_interleaves(string numa, NumaPolicy policy, int cpus, long memoryMiB, bool bound)
    {
        var reservation = Reserve(policy, cpus, memoryMiB);
        var container = InstanceContainers.For("i-1", Spec(numa, cpus, memoryMiB), reservation, Credentials);

        var booked = reservation.Cpu.Memory.Where(m => m.MemoryMiB > 0).Select(m => m.NodeId).Order().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(container.MemoryNodes, bound ? Is.EqualTo(booked) : Is.Empty);
            Assert.That(container.Cpus, Is.EqualTo(reservation.Cpu.Cpus), "exactly the reserved CPUs");
            Assert.That(container.MyCnf, Does.Contain($"innodb_numa_interleave = {(policy == NumaPolicy.Interleave ? "ON" : "OFF")}"));
        });
        if (cpus > 8) Assert.That(container.MemoryNodes, Has.Count.EqualTo(2), "a preferred instance larger than a node spans both");
    }

    [Test]
    public void The_container_gets_the_reserved_disk_port_memory_swap_credentials_and_ownership_labels()
    {
        var reservation = Reserve(NumaPolicy.Required, 2, 2048, swapMiB: 512);
        var container = InstanceContainers.For("i-1", Spec("required", 2, 2048, swapMiB: 512), reservation, Credentials);
        Assert.Multiple(() =>
        {
            Assert.That(container.InstanceId, Is.EqualTo("i-1"));
            Assert.That(container.Device, Is.EqualTo("/dev/sim-d1"));
            Assert.That(container.Port, Is.EqualTo(reservation.Port));
            Assert.That(container.MemoryMiB, Is.EqualTo(2048));
            Assert.That(container.SwapMiB, Is.EqualTo(512));
            Assert.That(container.Swappiness, Is.EqualTo(5));
            Assert.That(container.Credentials, Is.SameAs(Credentials));
            Assert.That(container.Labels, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["dbprov.cluster"] = "orders",
                ["dbprov.shard"] = "s1",
                ["dbprov.role"] = "replica",
            }));
            Assert.That(container.MyCnf, Does.Contain($"port = {reservation.Port}\n"), "my.cnf names the reserved port");
            Assert.That(container.MyCnf, Does.Contain($"server_id = {Mapping.ServerIdOf("i-1")}\n"));
            Assert.That(container.MyCnf, Does.Contain("O_DIRECT"));
            Assert.That(container.MyCnf, Does.Not.Contain(Credentials.RootPassword), "no secret in my.cnf");
        });
        Assert.DoesNotThrow(container.Validate, "the driver accepts it");
    }
}
