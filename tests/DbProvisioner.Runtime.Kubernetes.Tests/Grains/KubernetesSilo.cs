using System.Security.Cryptography;
using DbProvisioner.Contracts;
using DbProvisioner.Grains;
using DbProvisioner.Runtime.Kubernetes.Tests.Fake;
using DbProvisioner.Runtime.Kubernetes.Tests.RealCluster;
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

    /// <summary>The suite's target over the fake API server (always there).</summary>
    public static ClusterTarget FakeTarget => new(ClusterTarget.FakeName, Client, Fake.Server.Client(), "dbprov", null, Fake.Server);

    private static InProcessTestCluster? _realSilo;
    private static KubernetesHostRuntimeFactory? _realFactory;
    private static readonly SemaphoreSlim RealStart = new(1, 1);

    /// <summary>The real runtime of the real target's silo (for cleaning up after a test), null when there is none.</summary>
    public static KubernetesHostRuntimeFactory? RealFactory => _realFactory;

    /// <summary>
    /// The suite's target over the real cluster of DBPROV_KUBECONFIG: its own silo, the real runtime (real readiness and
    /// MySQL admin) for k8s:// and the simulated Docker engine for the rest. Ignored, with one printed line, without it.
    /// </summary>
    public static async Task<ClusterTarget> RealTargetAsync()
    {
        var kubeconfig = RealClusterEnvironment.RequireKubeconfig();
        await RealStart.WaitAsync();
        try
        {
            if (_realSilo is null)
            {
                _realFactory = new KubernetesHostRuntimeFactory(RealClusterEnvironment.Options(kubeconfig));
                var router = new RuntimeRouter(Docker, new Dictionary<string, IHostRuntimeFactory> { [KubernetesEndpoint.Scheme] = _realFactory });
                _realSilo = await GrainSilo.StartAsync(router, new Docker.MySqlConnectorAdmin(), o => o.ReadyDeadline = TimeSpan.FromMinutes(5));
            }
        }
        finally
        {
            RealStart.Release();
        }
        var kube = new k8s.Kubernetes(k8s.KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        return new ClusterTarget(ClusterTarget.RealName, _realSilo.Client, kube, RealClusterEnvironment.Namespace, RealClusterEnvironment.Nodes, null);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_silo is not null) await _silo.DisposeAsync();
        if (_realSilo is not null) await _realSilo.DisposeAsync();
        _fake?.Dispose();
        _realFactory?.Dispose();
    }
}
