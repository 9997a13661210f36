using DbProvisioner.Api;
using DbProvisioner.Runtime;
using DbProvisioner.Runtime.Docker;
using DbProvisioner.Runtime.Kubernetes;
using DbProvisioner.Server.Api;

namespace DbProvisioner.Server.Tests.Api;

/// <summary>
/// Registration of a Kubernetes node through the server's runtime router: k8s://cluster/node of a configured cluster
/// passes; an unknown cluster or a malformed endpoint is a 400 naming <c>engineEndpoint</c> with the driver's reason.
/// </summary>
[TestFixture]
[Category("Fast")]
public sealed class KubernetesEndpointRegistrationTests
{
    private static RegisterHostRequest Request(string endpoint) =>
        new("node-a", endpoint, "z1", "r1", "general", [new DiskSpec("/dev/sdb", 2)], "", new PortRangeSpec(3400, 3499));

    private static (RuntimeRouter Router, IDisposable Drivers) Router()
    {
        var docker = new DockerHostRuntimeFactory();
        // A kubeconfig that exists: the driver checks the file, never reads it at registration.
        var kubernetes = new KubernetesHostRuntimeFactory(new KubernetesRuntimeOptions
        {
            Clusters = new() { ["prod"] = new KubernetesClusterOptions { Kubeconfig = typeof(KubernetesEndpointRegistrationTests).Assembly.Location } },
        });
        return (new RuntimeRouter(docker, new Dictionary<string, IHostRuntimeFactory> { [KubernetesEndpoint.Scheme] = kubernetes }), docker);
    }

    [Test]
    public void A_node_of_a_configured_cluster_passes()
    {
        var (router, drivers) = Router();
        using (drivers) Assert.That(HostsApi.Validate(Request("k8s://prod/node-a"), router.EndpointRefusal).IsValid, Is.True);
    }

    [TestCase("k8s://staging/node-a", "cluster staging is not configured")]
    [TestCase("k8s://prod/a/b", "must be k8s://<cluster>/<node>")]
    public void Anything_else_is_refused_naming_the_endpoint(string endpoint, string why)
    {
        var (router, drivers) = Router();
        using (drivers)
        {
            var errors = HostsApi.Validate(Request(endpoint), router.EndpointRefusal).Errors;
            Assert.That(errors.Keys, Is.EqualTo(new[] { "engineEndpoint" }));
            Assert.That(errors["engineEndpoint"].Single(), Does.Contain(why));
        }
    }
}
