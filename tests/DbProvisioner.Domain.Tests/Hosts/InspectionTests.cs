using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Instances;
using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Domain.Tests.Hosts;

public sealed class InspectionTests
{
    private const long MiB = 1L << 20;
    private const string Device = "/dev/made-up-disk-a";

    // Instance "a": CPUs 2-3 on NUMA node 0, 1024 MiB memory + 512 MiB swap, on disk Device.
    private static HeldInstance Held(string id = "a", ContainerExpectation container = ContainerExpectation.Expected, int[]? mems = null) =>
        new(id, CpuSet.Range(2, 3), mems ?? [0], 1024, 512, Device, container);

    private static InspectedContainer AsHeld(string id = "a") =>
        new($"dbprov-{id}", id, true, "2-3", "0", 1024 * MiB, 1536 * MiB, "unless-stopped", Device);

    private static InspectedVolume Volume(string id = "a", string? device = Device) => new($"dbprov-data-{id}", id, device);

    /// <summary>One change to the container as held, and the one drift it must make (kind, found, expected, words of the fix).</summary>
    private static IEnumerable<TestCaseData> OneChange()
    {
        yield return Case("cpuset moved by hand", AsHeld() with { CpusetCpus = "0-1" }, DriftKind.CpusetCpus, "0-1", "2,3",
            "cpuset 0-1 expected 2,3: docker update --cpuset-cpus 2,3 dbprov-a, or recreate");
        yield return Case("cpuset widened", AsHeld() with { CpusetCpus = "" }, DriftKind.CpusetCpus, "(none)", "2,3", "docker update --cpuset-cpus 2,3 dbprov-a");
        yield return Case("memory moved to another NUMA node", AsHeld() with { CpusetMems = "1" }, DriftKind.CpusetMems, "1", "0", "docker update --cpuset-mems 0 dbprov-a");
        yield return Case("memory limit raised", AsHeld() with { MemoryBytes = 2048 * MiB }, DriftKind.Memory, "2048 MiB", "1024 MiB",
            $"docker update --memory {1024 * MiB} --memory-swap {1536 * MiB} dbprov-a");
        yield return Case("swap taken away", AsHeld() with { MemorySwapBytes = 1024 * MiB }, DriftKind.Swap, "1024 MiB", "1536 MiB",
            $"docker update --memory-swap {1536 * MiB} dbprov-a");
        yield return Case("restart policy changed", AsHeld() with { RestartPolicy = "no" }, DriftKind.RestartPolicy, "no", "unless-stopped",
            "docker update --restart unless-stopped dbprov-a");
        yield return Case("container stopped", AsHeld() with { Running = false }, DriftKind.Stopped, "stopped", "running", "docker start dbprov-a");
    }

    private static TestCaseData Case(string name, InspectedContainer container, DriftKind kind, string found, string expected, string fix) =>
        new TestCaseData(container, kind, found, expected, fix).SetName($"One drift: {name}");

    [Test]
    public void A_host_as_held_has_no_drift()
    {
        Assert.That(Inspection.Compare([Held()], [AsHeld()], [Volume()]), Is.Empty);
    }

    [Test]
    public void Cpu_sets_written_another_way_are_the_same_set()
    {
        Assert.That(Inspection.Compare([Held()], [AsHeld() with { CpusetCpus = "2,3" }], [Volume()]), Is.Empty);
    }

    [TestCaseSource(nameof(OneChange))]
    public void One_change_makes_exactly_its_drift(InspectedContainer container, DriftKind kind, string found, string expected, string fix)
    {
        var drifts = Inspection.Compare([Held()], [container], [Volume()]);
        Assert.That(drifts, Has.Count.EqualTo(1), string.Join("\n", drifts));
        Assert.Multiple(() =>
        {
            Assert.That(drifts[0].Kind, Is.EqualTo(kind));
            Assert.That(drifts[0].InstanceId, Is.EqualTo("a"));
            Assert.That(drifts[0].Subject, Is.EqualTo("dbprov-a"));
            Assert.That(drifts[0].Found, Is.EqualTo(found));
            Assert.That(drifts[0].Expected, Is.EqualTo(expected));
            Assert.That(drifts[0].Fix, Does.Contain(fix));
        });
    }

    [Test]
    public void An_instance_without_numa_binding_expects_no_mems()
    {
        var unbound = Held(mems: []);
        Assert.Multiple(() =>
        {
            Assert.That(Inspection.Compare([unbound], [AsHeld() with { CpusetMems = "" }], [Volume()]), Is.Empty);
            var drift = Inspection.Compare([unbound], [AsHeld() with { CpusetMems = "0" }], [Volume()]).Single();
            Assert.That(drift.Kind, Is.EqualTo(DriftKind.CpusetMems));
            Assert.That(drift.Fix, Does.Contain("recreate"));
        });
    }

    [Test]
    public void A_data_volume_on_another_disk_is_a_drift_naming_both_disks()
    {
        var drift = Inspection.Compare([Held()], [AsHeld()], [Volume(device: "/dev/made-up-disk-b")]).Single();
        Assert.Multiple(() =>
        {
            Assert.That(drift.Kind, Is.EqualTo(DriftKind.DataDisk));
            Assert.That(drift.Found, Is.EqualTo("/dev/made-up-disk-b"));
            Assert.That(drift.Expected, Is.EqualTo(Device));
        });
    }

    [Test]
    public void A_held_instance_without_container_or_volume_is_missing_both()
    {
        var drifts = Inspection.Compare([Held()], [], []);
        Assert.That(drifts.Select(d => d.Kind), Is.EqualTo(new[] { DriftKind.MissingContainer, DriftKind.MissingVolume }));
    }

    [Test]
    public void A_container_and_volume_nobody_holds_are_unknown()
    {
        var drifts = Inspection.Compare([Held()], [AsHeld(), AsHeld("ghost")], [Volume(), Volume("ghost")]);
        Assert.Multiple(() =>
        {
            Assert.That(drifts.Select(d => (d.Kind, d.Subject)), Is.EqualTo(new[]
            {
                (DriftKind.UnknownContainer, "dbprov-ghost"),
                (DriftKind.UnknownVolume, "dbprov-data-ghost"),
            }));
            Assert.That(drifts[0].Fix, Does.Contain("docker rm -f dbprov-ghost"));
        });
    }

    [Test]
    public void A_container_of_an_instance_that_should_have_none_is_unknown()
    {
        var drifts = Inspection.Compare([Held(container: ContainerExpectation.Absent)], [AsHeld()], []);
        Assert.That(drifts.Select(d => d.Kind), Is.EqualTo(new[] { DriftKind.UnknownContainer }));
    }

    [Test]
    public void An_instance_in_flight_is_not_judged()
    {
        var inFlight = Held(container: ContainerExpectation.InFlight);
        Assert.Multiple(() =>
        {
            Assert.That(Inspection.Compare([inFlight], [], []), Is.Empty);
            Assert.That(Inspection.Compare([inFlight], [AsHeld() with { CpusetCpus = "0" }], [Volume()]), Is.Empty);
        });
    }

    [Test]
    public void Drifts_come_ordered_by_instance_then_kind()
    {
        var drifts = Inspection.Compare(
            [Held("b"), Held("a")],
            [AsHeld("b") with { RestartPolicy = "always", CpusetCpus = "0" }, AsHeld("a") with { MemoryBytes = MiB * 64 }],
            [Volume("a"), Volume("b")]);
        Assert.That(drifts.Select(d => (d.InstanceId, d.Kind)), Is.EqualTo(new[]
        {
            ("a", DriftKind.Memory),
            ("b", DriftKind.CpusetCpus),
            ("b", DriftKind.RestartPolicy),
        }));
    }
}
