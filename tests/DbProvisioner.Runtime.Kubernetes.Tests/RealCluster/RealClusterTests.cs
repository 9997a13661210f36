using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Runtime.Kubernetes.Tests.RealCluster;

/// <summary>
/// The runtime's life of an instance against a real cluster (<see cref="RealClusterEnvironment"/>): run only when
/// DBPROV_KUBECONFIG names a kubeconfig; its first node and first device. The grains' suite runs there too
/// (KubernetesGrainTests' "real" target).
/// </summary>
[Category("RealCluster")]
public sealed class RealClusterTests
{
    private const string Cluster = RealClusterEnvironment.Cluster;
    private KubernetesHostRuntimeFactory? _factory;
    private IHostRuntime _runtime = null!;
    private string _device = "";

    [OneTimeSetUp]
    public void UseTheRealCluster()
    {
        var kubeconfig = RealClusterEnvironment.RequireKubeconfig();
        var node = RealClusterEnvironment.Nodes[0];
        _device = RealClusterEnvironment.Devices[0];
        _factory = new KubernetesHostRuntimeFactory(RealClusterEnvironment.Options(kubeconfig));
        Assert.That(_factory.EndpointRefusal(new Uri($"k8s://{Cluster}/{node}")), Is.Null);
        _runtime = _factory.For(new HostConnection("real-" + node, new Uri($"k8s://{Cluster}/{node}"),
            RealClusterEnvironment.MySqlAddress ?? RealClusterEnvironment.Required("DBPROV_KUBE_MYSQL_ADDRESS"), RealClusterEnvironment.Image));
    }

    [OneTimeTearDown]
    public void Dispose() => _factory?.Dispose();

    [Test]
    public async Task A_node_is_a_host_with_its_allocatable_cpus_and_answers_the_heartbeat()
    {
        var topology = await _runtime.DiscoverTopologyAsync(CancellationToken.None);
        var facts = await _runtime.PingAsync(CancellationToken.None);
        Assert.That(facts!.LogicalCpus, Is.EqualTo(topology.LogicalCpuCount));
    }

    [Test]
    public async Task An_instance_is_formatted_started_answers_with_its_credentials_and_is_removed_and_wiped()
    {
        var id = $"i-real-{Guid.NewGuid().ToString("N")[..8]}";
        var spec = new InstanceContainerSpec(id, _device, CpuSet.Of([0]), [], 1024, 0, 1, 3390, "[mysqld]\ninnodb_buffer_pool_size=256M\n", InstanceCredentials.Generate());

        await _runtime.FormatDiskAsync(_device, seed: true, CancellationToken.None);
        Assert.That(await _runtime.CheckDiskAsync(_device, CancellationToken.None), Is.EqualTo(new DiskCheck(_device, "xfs", true)));
        try
        {
            await _runtime.StartInstanceAsync(spec, CancellationToken.None);
            await _runtime.WaitUntilReadyAsync(id, spec.Port, spec.Credentials, TimeSpan.FromMinutes(5), CancellationToken.None);
            Assert.That((await _runtime.InspectInstanceAsync(id, CancellationToken.None))!.Running, Is.True);
        }
        finally
        {
            await _runtime.RemoveInstanceAsync(id, CancellationToken.None);
        }
        Assert.That(await _runtime.InspectInstanceAsync(id, CancellationToken.None), Is.Null);
        await _runtime.FormatDiskAsync(_device, seed: false, CancellationToken.None);
    }
}
