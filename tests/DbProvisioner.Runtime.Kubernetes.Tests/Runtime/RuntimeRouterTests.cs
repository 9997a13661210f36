namespace DbProvisioner.Runtime.Kubernetes.Tests.Runtime;

/// <summary>The server's router: k8s:// hosts to the Kubernetes driver (and its refusals), everything else to Docker.</summary>
public sealed class RuntimeRouterTests
{
    [TestCase("k8s://prod/node-a", typeof(KubernetesHostRuntime))]
    [TestCase("unix:///var/run/docker.sock", typeof(Testing.Simulation.SimulatedHostRuntime))]
    public void Each_host_goes_to_the_driver_of_its_scheme(string endpoint, Type runtime)
    {
        using var cluster = new FakeCluster();
        var router = new RuntimeRouter(new Testing.Simulation.SimulatedHostRuntimeFactory(), new Dictionary<string, IHostRuntimeFactory> { [KubernetesEndpoint.Scheme] = cluster.Factory });

        Assert.That(router.For(new HostConnection("h", new Uri(endpoint), "127.0.0.1", HostConnection.DefaultImage)), Is.InstanceOf(runtime));
    }

    [Test]
    public void A_k8s_endpoint_is_judged_by_the_kubernetes_driver()
    {
        using var cluster = new FakeCluster();
        var router = new RuntimeRouter(new Testing.Simulation.SimulatedHostRuntimeFactory(), new Dictionary<string, IHostRuntimeFactory> { [KubernetesEndpoint.Scheme] = cluster.Factory });

        Assert.Multiple(() =>
        {
            Assert.That(router.EndpointRefusal(new Uri("k8s://staging/node-a")), Does.StartWith("cluster staging is not configured"));
            Assert.That(router.EndpointRefusal(new Uri("k8s://prod/node-a")), Is.Null);
        });
    }
}
