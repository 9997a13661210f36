namespace DbProvisioner.Runtime.Docker.Tests.Runtime;

/// <summary>Which engine endpoints the driver reaches, and how: the decision registration refuses with.</summary>
public sealed class EngineEndpointsTests
{
    private static readonly DockerTlsOptions Tls = new() { CaFile = "/ca.pem", CertFile = "/cert.pem", KeyFile = "/key.pem" };
    private static readonly DockerRuntimeOptions WithTls = new() { Tls = Tls };
    private static readonly DockerRuntimeOptions WithoutTls = new();
    private static readonly DockerRuntimeOptions PlainLoopbackAllowed = new() { AllowPlainLoopback = true };

    [TestCase("unix:///var/run/docker.sock", false, EngineTransport.UnixSocket)]
    [TestCase("unix:///var/run/docker.sock", true, EngineTransport.UnixSocket)]
    [TestCase("https://10.251.1.2:2376", false, EngineTransport.MutualTls)]
    [TestCase("tcp://10.251.1.2:2376", true, EngineTransport.MutualTls)]
    [TestCase("tcp://10.251.1.2:2376", false, EngineTransport.PlainTcp)]
    public void The_transport_follows_the_scheme_and_the_tls_section(string endpoint, bool tls, EngineTransport expected)
    {
        Assert.That(EngineEndpoints.TransportOf(new Uri(endpoint), tls ? Tls : new DockerTlsOptions()), Is.EqualTo(expected));
    }

    [TestCase("unix:///var/run/docker.sock")]
    [TestCase("tcp://10.251.1.2:2376")]
    [TestCase("https://db-17.example:2376")]
    public void With_a_client_certificate_every_endpoint_is_reached(string endpoint)
    {
        Assert.That(EngineEndpoints.Refusal(new Uri(endpoint), WithTls), Is.Null);
    }

    [TestCase("tcp://10.251.1.2:2375", "plain-text TCP to another machine")]
    [TestCase("tcp://db-17.example:2375", "plain-text TCP to another machine")]
    [TestCase("tcp://127.0.0.1:2375", "Docker:AllowPlainLoopback=true")]
    [TestCase("tcp://localhost:2375", "Docker:AllowPlainLoopback=true")]
    [TestCase("https://10.251.1.2:2376", "no client certificate")]
    public void Without_a_client_certificate_plain_text_and_tls_endpoints_are_refused(string endpoint, string why)
    {
        Assert.That(EngineEndpoints.Refusal(new Uri(endpoint), WithoutTls), Does.Contain(why));
    }

    [TestCase("tcp://127.0.0.1:2375", true)]
    [TestCase("tcp://127.0.0.5:2375", true)]
    [TestCase("tcp://localhost:2375", true)]
    [TestCase("tcp://[::1]:2375", true)]
    [TestCase("tcp://10.251.1.2:2375", false)]
    [TestCase("tcp://127.0.0.1.example:2375", false)]
    public void Plain_text_is_allowed_on_loopback_only_and_only_when_asked(string endpoint, bool allowed)
    {
        var refusal = EngineEndpoints.Refusal(new Uri(endpoint), PlainLoopbackAllowed);

        Assert.That(refusal, allowed ? Is.Null : Does.Contain("plain-text TCP to another machine"));
    }

    [Test]
    public void The_client_dials_https_for_tls_and_http_for_plain_text_on_the_same_host_and_port()
    {
        var endpoint = new Uri("tcp://10.251.1.2:2376");

        Assert.That(EngineEndpoints.ClientUri(endpoint, EngineTransport.MutualTls).GetLeftPart(UriPartial.Authority), Is.EqualTo("https://10.251.1.2:2376"));
        Assert.That(EngineEndpoints.ClientUri(endpoint, EngineTransport.PlainTcp).GetLeftPart(UriPartial.Authority), Is.EqualTo("http://10.251.1.2:2376"));
    }

    [Test]
    public void The_factory_names_a_client_certificate_file_that_does_not_exist()
    {
        using var factory = new DockerHostRuntimeFactory(WithTls);

        Assert.That(factory.EndpointRefusal(new Uri("tcp://10.251.1.2:2376")), Does.Contain("Docker:Tls:CaFile /ca.pem").And.Contain("does not exist"));
        Assert.That(factory.EndpointRefusal(new Uri("unix:///var/run/docker.sock")), Is.Null, "the Unix socket needs no certificate");
    }

    [Test]
    public void The_driver_refuses_to_dial_a_remote_engine_in_plain_text()
    {
        using var factory = new DockerHostRuntimeFactory(WithoutTls);
        var host = new HostConnection("db-17", new Uri("tcp://10.0.0.7:2375"), "10.0.0.7", HostConnection.DefaultImage);

        var e = Assert.Throws<ArgumentException>(() => factory.For(host));

        Assert.That(e!.Message, Does.Contain("host db-17").And.Contain("plain-text TCP"));
    }
}
