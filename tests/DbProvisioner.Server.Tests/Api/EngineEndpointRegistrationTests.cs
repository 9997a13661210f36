using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Runtime.Docker;
using DbProvisioner.Server.Api;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DbProvisioner.Server.Tests.Api;

/// <summary>
/// Registration asks the Docker driver whether it will reach the engine endpoint: plain-text TCP to another machine is a
/// 400 naming <c>engineEndpoint</c> before any grain is asked (so nothing is registered).
/// </summary>
[TestFixture]
[Category("Fast")]
public sealed class EngineEndpointRegistrationTests
{
    private static RegisterHostRequest Request(string endpoint) =>
        new("db-17", endpoint, "z1", "r1", "general", [new DiskSpec("/dev/sdb", 2)], "", new PortRangeSpec(3400, 3499));

    [TestCase("tcp://10.0.0.7:2375", "plain-text TCP to another machine")]
    [TestCase("tcp://127.0.0.1:2375", "Docker:AllowPlainLoopback=true")]
    [TestCase("https://10.0.0.7:2376", "no client certificate")]
    public void Without_a_client_certificate_the_driver_refuses_the_endpoint(string endpoint, string why)
    {
        using var driver = new DockerHostRuntimeFactory();

        var errors = HostsApi.Validate(Request(endpoint), driver.EndpointRefusal).Errors;

        Assert.That(errors.Keys, Is.EqualTo(new[] { "engineEndpoint" }));
        Assert.That(errors["engineEndpoint"].Single(), Does.Contain(why));
    }

    [TestCase("unix:///var/run/docker.sock", false)]
    [TestCase("tcp://127.0.0.1:2375", true)]
    public void The_local_socket_and_an_allowed_plain_loopback_engine_pass(string endpoint, bool allowPlainLoopback)
    {
        using var driver = new DockerHostRuntimeFactory(new DockerRuntimeOptions { AllowPlainLoopback = allowPlainLoopback });

        Assert.That(HostsApi.Validate(Request(endpoint), driver.EndpointRefusal).IsValid, Is.True);
    }

    [Test]
    public async Task Registering_a_plain_text_remote_engine_answers_400_before_any_grain_is_asked()
    {
        using var driver = new DockerHostRuntimeFactory();

        // No grain factory: a registration that reached the grains would throw here.
        var result = await HostsApi.RegisterAsync(Request("tcp://10.0.0.7:2375"), grains: null!, runtimes: driver);

        var problem = result as ValidationProblem;
        Assert.That(problem?.StatusCode, Is.EqualTo(400), result.GetType().Name);
        Assert.That(problem!.ProblemDetails.Errors.Keys, Is.EqualTo(new[] { "engineEndpoint" }));
    }
}
