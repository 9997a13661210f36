using System.Security.Cryptography;
using DbProvisioner.Contracts;
using DbProvisioner.Grains;
using DbProvisioner.Runtime.Kubernetes.Tests.Fake;
using DbProvisioner.Runtime.Kubernetes.Tests.Runtime;
using DbProvisioner.Testing.Simulation;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Grains;

/// <summary>
/// The real grains in one in-process silo, with the runtime router of the server: k8s:// hosts go to the Kubernetes
/// runtime against the fake API server, every other host to the simulated Docker engine. Storage in memory (grain tests only).
/// </summary>
[SetUpFixture]
public sealed class KubernetesSilo
{
    private static InProcessTestCluster? _silo;
    private static FakeCluster? _fake;

    public static FakeCluster Fake => _fake ?? throw new InvalidOperationException("the silo has not started");
    public static SimulatedHostRuntimeFactory Docker { get; } = new();
    public static SimulatedMySqlAdmin MySql { get; } = new();
    public static IClusterClient Client => _silo?.Client ?? throw new InvalidOperationException("the silo has not started");

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _fake = new FakeCluster(null, "node-a", "node-b", "node-c", "node-lost", "node-numa", "node-cpus", "node-none");
        // node-none's kubelet runs the CPU manager policy none: every pod may run on all its CPUs.
        _fake.Server.CpuManagerPolicies = node => node == "node-none" ? "none" : "static";
        // Two NUMA zones of 3 allocatable CPUs (1 reserved each), as resource-topology-exporter reports them.
        _fake.Server.SetNodeTopology("node-numa", FakeKubernetesApiServer.NumaZones(reservedPerZone: 1, 3, 3));
        var router = new RuntimeRouter(Docker, new Dictionary<string, IHostRuntimeFactory> { [KubernetesEndpoint.Scheme] = _fake.Factory });
        _silo = await GrainSilo.StartAsync(router, MySql, o => o.ReadyDeadline = TimeSpan.FromSeconds(5));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_silo is not null) await _silo.DisposeAsync();
        _fake?.Dispose();
    }
}
