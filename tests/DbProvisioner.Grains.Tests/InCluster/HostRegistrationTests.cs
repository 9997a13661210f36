using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Grains.Tests.TestData;
using DbProvisioner.Runtime;
using DbProvisioner.Testing;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>HostGrain and DiskPoolGrain: a registered simulated host and its disks.</summary>
public sealed class HostRegistrationTests : GrainTest
{
    [Test]
    public async Task RegisteredHost_ShowsItsCpuMapPerNumaNode_ReservedCore_Disks_AndPorts()
    {
        var id = TestFleet.NewId("host");
        var view = await RegisterAsync(TestFleet.Host(id, Pool, disks: 4, firstPort: 4000, ports: 8, reservedCpus: "0,8"));

        // The Domain's builder is the oracle for Linux numbering: siblings n and n+8, node 0 = cores 0-3.
        var expected = TopologyBuilder.Uniform(2, 4, 2, 16384);
        Assert.Multiple(() =>
        {
            Assert.That(view.Id, Is.EqualTo(id));
            Assert.That(view.Pool, Is.EqualTo(Pool));
            Assert.That(view.Zone, Is.EqualTo("zone-a"));
            Assert.That(view.Ports, Is.EqualTo(new PortRangeSpec(4000, 4007)));
            Assert.That(CpuSet.Parse(view.ReservedCpus), Is.EqualTo(CpuSet.Of(0, 8)));
            Assert.That(view.NumaNodes.Select(n => n.Id), Is.EqualTo(new[] { 0, 1 }));
            Assert.That(view.NumaNodes.Select(n => n.MemoryMiB), Is.All.EqualTo(16384));
            Assert.That(view.NumaNodes.Select(n => n.FreeMemoryMiB), Is.All.EqualTo(16384), "nothing runs yet");
            Assert.That(view.Cordoned, Is.False);
            Assert.That(view.Instances, Is.Empty);
            Assert.That(view.FreeCores, Is.EqualTo(7), "8 cores, one reserved");
        });

        Assert.Multiple(() =>
        {
            foreach (var node in view.NumaNodes)
            {
                var nodeCpus = node.Cores.Aggregate(CpuSet.Empty, (acc, c) => acc.Union(CpuSet.Parse(c.Cpus)));
                Assert.That(node.Cores, Has.Count.EqualTo(4), $"cores of node {node.Id}");
                Assert.That(node.Cores.Select(c => CpuSet.Parse(c.Cpus).Count), Is.All.EqualTo(2), $"threads per core on node {node.Id}");
                Assert.That(nodeCpus, Is.EqualTo(expected.Nodes[node.Id].Cpus), $"CPUs of node {node.Id}");
                Assert.That(node.Cores.Select(c => c.Instance), Is.All.Null);
            }
            var reservedCores = view.NumaNodes.SelectMany(n => n.Cores).Where(c => c.Reserved).ToList();
            Assert.That(reservedCores, Has.Count.EqualTo(1), "exactly the core of CPUs 0 and 8 is reserved");
            Assert.That(reservedCores.Select(c => CpuSet.Parse(c.Cpus)), Has.All.EqualTo(CpuSet.Of(0, 8)));
        });

        Assert.Multiple(() =>
        {
            Assert.That(view.Disks.Select(d => d.Device), Is.EquivalentTo(TestFleet.Devices(4)));
            Assert.That(view.Disks.Select(d => d.Class), Is.All.EqualTo(TestFleet.DiskClass));
            Assert.That(view.Disks.Select(d => d.SizeGiB), Is.All.EqualTo(100));
            Assert.That(view.Disks.Select(d => d.ClaimedBy), Is.All.Null);
            Assert.That(view.Disks.Select(d => d.Id), Is.Unique);
        });
    }

    [Test]
    public async Task DiskPool_RunUntilIdle_FormatsEveryDiskToReady_AndSeedsPerWatermark()
    {
        var id = TestFleet.NewId("host");
        await RegisterAsync(TestFleet.Host(id, Pool, disks: 4, minReady: 4, minSeeded: 2));

        await DiskPoolGrain(id).RunUntilIdleAsync();

        var view = await HostViewAsync(id);
        var engine = Runtime.Host(id);
        Assert.Multiple(() =>
        {
            Assert.That(view.Disks.Select(d => d.State), Is.All.EqualTo("Ready"));
            Assert.That(view.Disks.Count(d => d.Seeded), Is.GreaterThanOrEqualTo(2), "watermark: at least 2 seeded");
            foreach (var disk in view.Disks)
            {
                var check = engine.Disk(disk.Device);
                Assert.That(check.IsXfs, Is.True, $"{disk.Device} is Ready but the engine never formatted it");
                Assert.That(check.IsSeeded, Is.EqualTo(disk.Seeded), $"{disk.Device}: the view's Seeded does not match what is on the disk");
            }
        });

        // Idle means idle: a second run finds nothing to do and formats nothing.
        var formats = engine.Formats.Count;
        await DiskPoolGrain(id).RunUntilIdleAsync();
        Assert.That(engine.Formats, Has.Count.EqualTo(formats), "a second RunUntilIdleAsync formatted disks again");
        Assert.That(engine.Violations, Is.Empty);
    }

    [Test]
    public async Task DiskPool_AFailedFormat_LeavesNoDiskReadyThatWasNotFormatted()
    {
        var id = TestFleet.NewId("host");
        Runtime.Host(id).FailFormatOf("/dev/sim-disk-1");
        await RegisterAsync(TestFleet.Host(id, Pool, disks: 2, minReady: 2, minSeeded: 0));

        await DiskPoolGrain(id).RunUntilIdleAsync();

        var view = await HostViewAsync(id);
        var engine = Runtime.Host(id);
        Assert.Multiple(() =>
        {
            foreach (var disk in view.Disks.Where(d => d.State == "Ready"))
                Assert.That(engine.Disk(disk.Device).IsXfs, Is.True, $"{disk.Device} is Ready without a file system");
            Assert.That(view.Disks.Single(d => d.Device == "/dev/sim-disk-0").State, Is.EqualTo("Ready"));
            // One failure: either retried to Ready or marked Faulty, never left Formatting forever.
            Assert.That(view.Disks.Single(d => d.Device == "/dev/sim-disk-1").State, Is.AnyOf("Ready", "Faulty"));
        });
    }

    [Test]
    public async Task DiskPool_ADeviceTheDriverRefusesToFormat_IsFaulty_AndTheHostShowsWhy()
    {
        var id = TestFleet.NewId("host");
        var refusal = DiskException.NotInPool(id, "/dev/sim-disk-1", "it is a loop device over /tmp/x.img, outside the disk pool /var/lib/dbprov/disks");
        Runtime.Host(id).FailFormatOf("/dev/sim-disk-1", refusal);
        await RegisterAsync(TestFleet.Host(id, Pool, disks: 2, minReady: 2, minSeeded: 0));

        await DiskPoolGrain(id).RunUntilIdleAsync();

        var view = await HostViewAsync(id);
        Assert.Multiple(() =>
        {
            Assert.That(view.Disks.Single(d => d.Device == "/dev/sim-disk-1"), Has.Property(nameof(DiskView.State)).EqualTo("Faulty")
                .And.Property(nameof(DiskView.Error)).EqualTo(
                    $"/dev/sim-disk-1 on host {id} may not be formatted: it is a loop device over /tmp/x.img, outside the disk pool /var/lib/dbprov/disks"));
            Assert.That(view.Disks.Single(d => d.Device == "/dev/sim-disk-0"), Has.Property(nameof(DiskView.State)).EqualTo("Ready")
                .And.Property(nameof(DiskView.Error)).Null);
        });
    }

    [Test]
    public async Task RegisterHost_WithReservedCpusNotOnTheHost_IsRefused_AndRegistersNothing()
    {
        var id = TestFleet.NewId("host");
        Runtime.SetTopology(id, TopologyBuilder.Uniform(2, 4, 2, 16384));

        var outcome = await HostGrain(id).RegisterAsync(TestFleet.Host(id, Pool, reservedCpus: "0,99"));

        Assert.Multiple(() =>
        {
            Assert.That(outcome.Ok, Is.False);
            Assert.That(outcome.Kind, Is.EqualTo(OutcomeKind.Invalid));
            Assert.That(outcome.Error, Does.Contain("99"), "the reason names the CPU the host lacks");
        });
        Assert.That(await HostGrain(id).GetAsync(), Is.Null, "a refused registration leaves no host behind");
    }

    [Test]
    public async Task Catalog_ListsTheRegisteredHost_WithItsCores_AndReadyDisks()
    {
        var id = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(id, Pool, disks: 3, reservedCpus: "0,8"));

        // The catalog is updated by the host grain; allow it a moment when that push is one-way.
        var summary = await Eventually.UntilAsync(() => ListedAsync(id), static s => s?.ReadyDisks == 3, SettleTimeout,
            $"the catalog to list host {id} with 3 Ready disks", Describe);

        Assert.That(summary, Is.Not.Null, "the catalog does not list the host");
        Assert.Multiple(() =>
        {
            Assert.That(summary!.Pool, Is.EqualTo(Pool));
            Assert.That(summary.TotalCores, Is.EqualTo(8));
            Assert.That(summary.FreeCores, Is.EqualTo(7));
            Assert.That(summary.ReadyDisks, Is.EqualTo(3));
        });

        // GET /hosts lists from the catalog: it must follow reservations too.
        await ProvisionReadyAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool));
        summary = await Eventually.UntilAsync(() => ListedAsync(id), static s => s?.FreeCores == 6, SettleTimeout,
            $"the catalog to list host {id} with one core taken", Describe);
        Assert.Multiple(() =>
        {
            Assert.That(summary?.FreeCores, Is.EqualTo(6), "one core taken");
            Assert.That(summary?.ReadyDisks, Is.EqualTo(2), "one disk claimed");
        });
    }

    private static async Task<HostSummary?> ListedAsync(string hostId) => (await Client.ListHostsAsync()).SingleOrDefault(h => h.Id == hostId);

    private static string Describe(HostSummary? summary) =>
        summary is null ? "not listed" : $"{summary.FreeCores} free cores, {summary.ReadyDisks} Ready disks";
}
