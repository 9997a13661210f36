using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Grains.Tests.TestData;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>InstanceGrain: one provisioning from request to Ready on a simulated host.</summary>
public sealed class ProvisioningTests : GrainTest
{
    private static readonly string[] ProvisioningSteps = ["Placed", "DiskAttached", "ContainerStarted", "Ready"];

    [Test]
    public async Task Provision_ReachesReady_WithHost_CpuSet_NumaNode_Disk_Endpoint_AndStepTimings()
    {
        var hostId = TestFleet.NewId("host");
        var before = await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, firstPort: 5000, ports: 4, reservedCpus: "0,8"));
        var instanceId = TestFleet.NewId("i");

        var view = await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool, cpus: 2, memoryMiB: 2048, numa: NumaPolicy.Required));

        var cpus = CpuSet.Parse(view.CpuSet ?? "");
        var topology = TopologyBuilder.Uniform(2, 4, 2, 16384);
        Assert.Multiple(() =>
        {
            Assert.That(view.Id, Is.EqualTo(instanceId));
            Assert.That(view.Host, Is.EqualTo(hostId));
            Assert.That(cpus.Count, Is.EqualTo(2), "2 CPUs = one whole core with its sibling");
            Assert.That(cpus.Overlaps(CpuSet.Of(0, 8)), Is.False, "reserved CPUs are never handed out");
            Assert.That(topology.Nodes.Any(n => n.Cores.Any(c => c.Cpus == cpus)), Is.True, $"{cpus} is not one whole physical core");
            Assert.That(view.NumaNodes, Has.Count.EqualTo(1), "required: one NUMA node");
            Assert.That(cpus.IsSubsetOf(topology.Nodes[view.NumaNodes[0]].Cpus), Is.True, $"{cpus} are not all on node {view.NumaNodes[0]}");
            Assert.That(view.Disk, Is.Not.Null.And.Not.Empty);
            Assert.That(view.Device, Is.AnyOf(TestFleet.Devices(4)));
            Assert.That(view.Endpoint, Is.Not.Null);
            Assert.That(view.Endpoint!.Host, Is.EqualTo("127.0.0.1"));
            Assert.That(view.Endpoint.Port, Is.InRange(5000, 5003));
            Assert.That(view.RequestedBy, Is.EqualTo("tester"));
            Assert.That(view.Reason, Is.Null.Or.Empty);
        });

        Assert.Multiple(() =>
        {
            Assert.That(view.Steps.Select(s => s.Step), Is.SupersetOf(ProvisioningSteps), "every step is recorded");
            Assert.That(view.Steps.Select(s => s.DurationMs), Is.All.GreaterThanOrEqualTo(0));
            Assert.That(view.Steps.Select(s => s.At), Is.Ordered, "steps in the order they happened");
            Assert.That(view.Steps.Select(s => s.At), Is.All.GreaterThanOrEqualTo(view.CreatedAt));
        });

        // The engine got exactly what the host reserved.
        var engine = Runtime.Host(hostId);
        var started = engine.Starts.Where(s => s.InstanceId == instanceId).ToList();
        Assert.That(started, Is.Not.Empty, "no container was started");
        var spec = started[^1];
        Assert.Multiple(() =>
        {
            Assert.That(spec.Cpus, Is.EqualTo(cpus));
            Assert.That(spec.Device, Is.EqualTo(view.Device));
            Assert.That(spec.Port, Is.EqualTo(view.Endpoint!.Port));
            Assert.That(spec.MemoryNodes, Is.EqualTo(view.NumaNodes), "cpuset.mems = the instance's NUMA node");
            Assert.That(spec.MemoryMiB, Is.EqualTo(2048));
            Assert.That(spec.SwapMiB, Is.EqualTo(512));
            Assert.That(spec.Swappiness, Is.EqualTo(1));
            Assert.That(spec.MyCnf, Does.Contain($"port = {view.Endpoint.Port}"));
            Assert.That(spec.MyCnf, Does.Contain("innodb_numa_interleave = OFF"));
            Assert.That(engine.Running.Keys, Has.Member(instanceId));
        });

        var host = await HostViewAsync(hostId);
        AssertHostViewConsistent(host);
        Assert.Multiple(() =>
        {
            Assert.That(host.Instances.Select(i => i.Id), Is.EqualTo(new[] { instanceId }));
            Assert.That(CpuSet.Parse(host.Instances[0].Cpus), Is.EqualTo(cpus));
            Assert.That(host.Instances[0].Port, Is.EqualTo(view.Endpoint!.Port));
            Assert.That(host.Instances[0].MemoryMiB, Is.EqualTo(2048));
            var disk = host.Disks.Single(d => d.Device == view.Device);
            Assert.That(disk.State, Is.EqualTo("Claimed"));
            Assert.That(disk.ClaimedBy, Is.EqualTo(instanceId));
            Assert.That(host.FreeCores, Is.EqualTo(before.FreeCores - 1));
            Assert.That(host.NumaNodes.Single(n => n.Id == view.NumaNodes[0]).FreeMemoryMiB, Is.EqualTo(16384 - 2048));
        });
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task Credentials_AreTheOnesTheContainerWasStartedWith()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var instanceId = TestFleet.NewId("i");
        var view = await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool));

        var credentials = await InstanceGrain(instanceId).GetCredentialsAsync();

        Assert.That(credentials, Is.Not.Null);
        var started = Runtime.Host(hostId).Starts.Last(s => s.InstanceId == instanceId).Credentials;
        var expectedPassword = credentials!.User == "root" ? started.RootPassword : started.UserPassword;
        Assert.Multiple(() =>
        {
            Assert.That(credentials.Host, Is.EqualTo(view.Endpoint!.Host));
            Assert.That(credentials.Port, Is.EqualTo(view.Endpoint.Port));
            Assert.That(credentials.User, Is.EqualTo("root").Or.EqualTo(started.User), "a user the container knows");
            Assert.That(credentials.Password, Has.Length.GreaterThanOrEqualTo(16));
            Assert.That(credentials.Password, Is.EqualTo(expectedPassword), "the password the container was started with");
            Assert.That(credentials.ToString(), Does.Not.Contain(credentials.Password));
        });
        var audited = Env.Audit.Events.Select(e => $"{e.Actor} {e.Action} {e.SubjectId} {e.Outcome} {string.Join(',', e.Details ?? new Dictionary<string, string>())}");
        Assert.That(audited, Has.None.Contains(credentials.Password), "passwords never reach the audit trail");
    }

    [Test]
    public async Task Credentials_OfAnUnknownInstance_AreNull()
    {
        Assert.That(await InstanceGrain(TestFleet.NewId("nobody")).GetCredentialsAsync(), Is.Null);
        Assert.That(await InstanceGrain(TestFleet.NewId("nobody")).GetAsync(), Is.Null);
    }

    [Test]
    public async Task Provision_TheSameSpecTwice_ReservesAndStartsOnce()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var instanceId = TestFleet.NewId("i");
        var spec = TestFleet.Instance(Pool);

        var first = await InstanceGrain(instanceId).ProvisionAsync(spec, "tester");
        var second = await InstanceGrain(instanceId).ProvisionAsync(spec, "tester");
        var view = await InstanceGrain(instanceId).WaitSettledAsync(SettleTimeout);

        Assert.Multiple(() =>
        {
            Assert.That(first.Ok, Is.True, first.Error);
            Assert.That(second.Ok, Is.True, $"the same spec again is idempotent: {second.Kind} {second.Error}");
            Assert.That(second.Value?.Id, Is.EqualTo(instanceId));
            Assert.That(view?.State, Is.EqualTo("Ready"), view?.Reason);
        });
        var host = await HostViewAsync(hostId);
        Assert.Multiple(() =>
        {
            Assert.That(host.Instances.Select(i => i.Id), Is.EqualTo(new[] { instanceId }));
            Assert.That(host.Disks.Count(d => d.ClaimedBy == instanceId), Is.EqualTo(1));
            Assert.That(Runtime.Host(hostId).Running.Keys.Count(k => k == instanceId), Is.EqualTo(1));
        });
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task Provision_ADifferentSpecUnderAnExistingId_IsAConflict_AndChangesNothing()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var instanceId = TestFleet.NewId("i");
        var spec = TestFleet.Instance(Pool, cpus: 2);
        var ready = await ProvisionReadyAsync(instanceId, spec);

        var again = await InstanceGrain(instanceId).ProvisionAsync(spec with { Cpus = 4 }, "tester");

        Assert.Multiple(() =>
        {
            Assert.That(again.Ok, Is.False);
            Assert.That(again.Kind, Is.EqualTo(OutcomeKind.Conflict));
        });
        var after = await InstanceGrain(instanceId).GetAsync();
        Assert.That(after?.CpuSet, Is.EqualTo(ready.CpuSet));
        Assert.That(after?.Spec.Cpus, Is.EqualTo(2));
    }

    [Test]
    public async Task Provision_MoreCpusThanAnyNumaNodeHas_WithNumaRequired_FailsWithAReason_AndReservesNothing()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var instanceId = TestFleet.NewId("i");

        // A node has 8 CPUs; 10 fit on the host only across nodes.
        var settled = await ProvisionAndSettleAsync(instanceId, TestFleet.Instance(Pool, cpus: 10, numa: NumaPolicy.Required));

        Assert.That(settled.IsReady, Is.False, settled.ToString());
        Assert.That(settled.FailureReason, Does.Contain("NUMA").IgnoreCase.Or.Contain("CPU").IgnoreCase, settled.ToString());
        var host = await HostViewAsync(hostId);
        AssertNothingReservedFor(host, instanceId);
        Assert.That(host.Disks.Select(d => d.State), Is.All.EqualTo("Ready"));
        Assert.That(Runtime.Host(hostId).Starts.Select(s => s.InstanceId), Has.No.Member(instanceId));
    }

    [Test]
    public async Task Provision_WithNumaInterleave_BindsNoMemoryNode_AndTurnsInterleaveOn()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool));
        var instanceId = TestFleet.NewId("i");

        var view = await ProvisionReadyAsync(instanceId, TestFleet.Instance(Pool, cpus: 4, numa: NumaPolicy.Interleave));

        var spec = Runtime.Host(hostId).Starts.Last(s => s.InstanceId == instanceId);
        Assert.Multiple(() =>
        {
            Assert.That(spec.MemoryNodes, Is.Empty, "interleave: cpuset.mems is not set");
            Assert.That(spec.MyCnf, Does.Contain("innodb_numa_interleave = ON"));
            Assert.That(spec.Cpus, Is.EqualTo(CpuSet.Parse(view.CpuSet!)));
            Assert.That(spec.Cpus.Count, Is.EqualTo(4));
        });
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task Provision_WhenTheHostsPortsRunOut_FailsNamingPorts_AndReservesNothing()
    {
        var hostId = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 4, ports: 1));
        var first = await ProvisionReadyAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool));
        var secondId = TestFleet.NewId("i");

        var second = await ProvisionAndSettleAsync(secondId, TestFleet.Instance(Pool));

        Assert.That(second.IsReady, Is.False, second.ToString());
        Assert.That(second.FailureReason, Does.Contain("port").IgnoreCase, second.ToString());
        var host = await HostViewAsync(hostId);
        AssertNothingReservedFor(host, secondId);
        AssertHostViewConsistent(host);
        Assert.That(host.Instances.Select(i => i.Id), Is.EqualTo(new[] { first.Id }));
        Assert.That(host.Disks.Count(d => d.State == "Claimed"), Is.EqualTo(1), "the second request's disk was not kept");
    }

    [Test]
    public async Task Provision_SkipsACordonedHost()
    {
        var cordoned = TestFleet.NewId("host");
        var open = TestFleet.NewId("host");
        await RegisterWithReadyDisksAsync(TestFleet.Host(cordoned, Pool));
        await RegisterWithReadyDisksAsync(TestFleet.Host(open, Pool));
        var outcome = await HostGrain(cordoned).CordonAsync(true);
        Assert.That(outcome.Value?.Cordoned, Is.True, outcome.Error);

        var views = new List<InstanceView>();
        for (var i = 0; i < 3; i++)
            views.Add(await ProvisionReadyAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool)));

        Assert.That(views.Select(v => v.Host), Is.All.EqualTo(open));
        Assert.That((await HostViewAsync(cordoned)).Instances, Is.Empty);
    }

    [Test]
    public async Task Provision_InAPoolWithoutHosts_FailsWithAReason()
    {
        var settled = await ProvisionAndSettleAsync(TestFleet.NewId("i"), TestFleet.Instance(TestFleet.NewId("empty")));

        Assert.That(settled.IsReady, Is.False, settled.ToString());
        Assert.That(settled.FailureReason, Is.Not.Null.And.Not.Empty, settled.ToString());
    }
}
