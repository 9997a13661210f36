using System.Text.RegularExpressions;
using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Grains.Tests.Cluster;
using DbProvisioner.Grains.Tests.TestData;
using DbProvisioner.Testing;
using DbProvisioner.Testing.Simulation;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>Helpers for tests that talk to the grains through the cluster client, each in a pool of its own.</summary>
public abstract partial class GrainTest
{
    protected static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    private readonly List<string> _hosts = [];

    protected static GrainTestCluster Env => GrainTestSetup.Cluster;

    protected static IClusterClient Client => Env.Client;

    protected static SimulatedHostRuntimeFactory Runtime => Env.Runtime;

    /// <summary>A pool no other test uses, so placement sees only this test's hosts.</summary>
    protected string Pool { get; private set; } = "";

    protected IReadOnlyList<string> Hosts => _hosts;

    [SetUp]
    public void UseFreshPool()
    {
        Pool = TestFleet.NewId("pool");
        _hosts.Clear();
    }

    protected static IHostGrain HostGrain(string hostId) => Client.GetGrain<IHostGrain>(hostId);

    protected static IInstanceGrain InstanceGrain(string instanceId) => Client.GetGrain<IInstanceGrain>(instanceId);

    protected static IDiskPoolGrain DiskPoolGrain(string hostId) => Client.GetGrain<IDiskPoolGrain>(hostId);

    /// <summary>Registers a simulated host; its topology is also what the simulated engine reports.</summary>
    protected async Task<HostView> RegisterAsync(RegisterHostRequest request)
    {
        var id = request.Id ?? throw new ArgumentException("a test host needs an id", nameof(request));
        if (request.Topology is { } t)
            Runtime.SetTopology(id, TopologyBuilder.Uniform(t.NumaNodes, t.CoresPerNode, t.ThreadsPerCore, t.MemoryMiBPerNode));
        var outcome = await HostGrain(id).RegisterAsync(request);
        Assert.That(outcome.Ok, Is.True, $"register {id}: {outcome.Kind} {outcome.Error}");
        _hosts.Add(id);
        if (request.Topology is null || !Runtime.Host(id).HoldsImage) return outcome.Value!;
        // A described host learns its image at its first answered heartbeat (the server beats every few seconds): beat once.
        await HostGrain(id).HeartbeatAsync();
        return await Eventually.UntilAsync(() => HostViewAsync(id), static h => h.Image?.State == ImageState.Present, TimeSpan.FromSeconds(10),
            $"the image of described host {id} to be Present after its first heartbeat");
    }

    /// <summary>Registers a host and lets its disk pool format and seed the disks up to the watermark.</summary>
    protected async Task<HostView> RegisterWithReadyDisksAsync(RegisterHostRequest request)
    {
        await RegisterAsync(request);
        await DiskPoolGrain(request.Id!).RunUntilIdleAsync();
        var view = await HostViewAsync(request.Id!);
        Assert.That(view.Disks.Select(d => d.State), Is.All.EqualTo("Ready"), $"disks of {request.Id} after RunUntilIdleAsync");
        // The placement index hears of the disks by a one-way message: wait until it has, so a placement sees them.
        var placement = Client.GetGrain<IPlacementGrain>(request.Pool!);
        await Eventually.UntilAsync(async () => (await placement.SnapshotAsync()).SingleOrDefault(h => h.HostId == request.Id)?.ReadyDisks.Sum(static d => d.Count),
            ready => ready == view.Disks.Count, TimeSpan.FromSeconds(10), $"the placement index of pool {request.Pool} to see the {view.Disks.Count} Ready disks of {request.Id}");
        return view;
    }

    protected static async Task<HostView> HostViewAsync(string hostId) =>
        await HostGrain(hostId).GetAsync() ?? throw new AssertionException($"host {hostId} is not registered");

    /// <summary>Starts a provisioning and waits until it is Ready or Failed; a refused request comes back as its outcome.</summary>
    protected static async Task<Settled> ProvisionAndSettleAsync(string instanceId, InstanceSpec spec)
    {
        var outcome = await InstanceGrain(instanceId).ProvisionAsync(spec, "tester");
        if (!outcome.Ok) return new Settled(instanceId, outcome, null);
        var view = await InstanceGrain(instanceId).WaitSettledAsync(SettleTimeout);
        return new Settled(instanceId, outcome, view);
    }

    protected static async Task<InstanceView> ProvisionReadyAsync(string instanceId, InstanceSpec spec)
    {
        var settled = await ProvisionAndSettleAsync(instanceId, spec);
        Assert.That(settled.Outcome.Ok, Is.True, $"provision {instanceId}: {settled.Outcome.Kind} {settled.Outcome.Error}");
        Assert.That(settled.View, Is.Not.Null, $"instance {instanceId} has no view after WaitSettledAsync");
        Assert.That(settled.View!.State, Is.EqualTo("Ready"), $"instance {instanceId}: {settled.View.Reason}");
        return settled.View;
    }

    /// <summary>No device, port or CPU was given twice on this test's hosts, as the simulated engines saw it.</summary>
    protected void AssertNoDoubleUseOnEngines() =>
        Assert.That(Runtime.ViolationsOf(_hosts), Is.Empty, "the simulated engines saw a resource given twice or a call a correct control plane never makes");

    /// <summary>
    /// What a host view says is taken, checked against itself: no CPU in two instances or a reserved
    /// core, no port twice or outside the range, no disk claimed twice or by an instance the host does not list.
    /// </summary>
    protected static void AssertHostViewConsistent(HostView host)
    {
        var reserved = CpuSet.Parse(host.ReservedCpus);
        var byInstance = host.Instances.ToDictionary(i => i.Id, i => CpuSet.Parse(i.Cpus), StringComparer.Ordinal);
        Assert.Multiple(() =>
        {
            var seen = CpuSet.Empty;
            foreach (var (id, cpus) in byInstance)
            {
                Assert.That(cpus.IsEmpty, Is.False, $"{host.Id}: instance {id} has no CPUs");
                Assert.That(cpus.Overlaps(seen), Is.False, $"{host.Id}: CPUs {cpus.Intersect(seen)} of {id} are also another instance's");
                Assert.That(cpus.Overlaps(reserved), Is.False, $"{host.Id}: instance {id} got reserved CPUs {cpus.Intersect(reserved)}");
                seen = seen.Union(cpus);
            }

            var ports = host.Instances.Select(i => i.Port).ToList();
            Assert.That(ports, Is.Unique, $"{host.Id}: a port given twice");
            Assert.That(ports, Is.All.InRange(host.Ports.First, host.Ports.Last), $"{host.Id}: a port outside {host.Ports.First}-{host.Ports.Last}");

            Assert.That(host.Swap, Is.Not.Null, $"{host.Id}: the view has no swap");
            Assert.That(host.Swap!.UsedMiB, Is.EqualTo(host.Instances.Sum(i => i.SwapMiB)), $"{host.Id}: swap used is not what its instances hold");
            Assert.That(host.Swap.UsedMiB, Is.LessThanOrEqualTo(host.Swap.AllocatableMiB), $"{host.Id}: swap over-committed");
            Assert.That(host.Swap.AllocatableMiB, Is.LessThanOrEqualTo(host.Swap.TotalMiB), $"{host.Id}: more swap for instances than the host has");

            var claims = host.Disks.Where(d => d.ClaimedBy is not null).Select(d => d.ClaimedBy!).ToList();
            Assert.That(claims, Is.Unique, $"{host.Id}: an instance claimed two disks");
            Assert.That(claims, Is.EquivalentTo(byInstance.Keys), $"{host.Id}: the instances with a claimed disk are not the instances on the host");
            Assert.That(host.Disks.Where(d => d.ClaimedBy is not null).Select(d => d.State), Is.All.EqualTo("Claimed"), $"{host.Id}: a disk with an owner is not Claimed");

            foreach (var core in host.NumaNodes.SelectMany(n => n.Cores))
            {
                if (core.Instance is null) continue;
                Assert.That(byInstance.TryGetValue(core.Instance, out var owner), Is.True, $"{host.Id}: core {core.Core} names {core.Instance}, which is not on the host");
                if (owner is not null)
                    Assert.That(CpuSet.Parse(core.Cpus).IsSubsetOf(owner), Is.True, $"{host.Id}: core {core.Core} ({core.Cpus}) is shown as {core.Instance}'s, whose CPUs are {owner}");
                Assert.That(core.Reserved, Is.False, $"{host.Id}: core {core.Core} is reserved and also {core.Instance}'s");
            }
        });
    }

    /// <summary>Nothing of the instance stays on the host: no CPUs, port, disk claim or core.</summary>
    protected static void AssertNothingReservedFor(HostView host, string instanceId)
    {
        Assert.Multiple(() =>
        {
            Assert.That(host.Instances.Select(i => i.Id), Has.No.Member(instanceId), $"{host.Id} still lists {instanceId}");
            Assert.That(host.Disks.Select(d => d.ClaimedBy), Has.No.Member(instanceId), $"{host.Id} still has a disk claimed by {instanceId}");
            Assert.That(host.NumaNodes.SelectMany(n => n.Cores).Select(c => c.Instance), Has.No.Member(instanceId), $"{host.Id} still shows a core of {instanceId}");
        });
    }

    /// <summary>A reason a DBA can act on: it names the resource that ran out or the rule that was broken.</summary>
    protected static bool IsClearCapacityReason(string? reason) =>
        reason is not null && CapacityWords().IsMatch(reason);

    [GeneratedRegex("disk|core|cpu|port|memory|swap|numa", RegexOptions.IgnoreCase)]
    private static partial Regex CapacityWords();

    /// <summary>The end of one provisioning: the answer to ProvisionAsync, and the settled view when it was accepted.</summary>
    protected sealed record Settled(string InstanceId, Outcome<InstanceView> Outcome, InstanceView? View)
    {
        public bool IsReady => View?.State == "Ready";

        public string? FailureReason => Outcome.Ok ? (View?.State == "Failed" ? View.Reason : null) : Outcome.Error;

        public override string ToString() =>
            $"{InstanceId}: {(Outcome.Ok ? $"{View?.State ?? "no view"} {View?.Reason}" : $"refused {Outcome.Kind} {Outcome.Error}")}";
    }
}
