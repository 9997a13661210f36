using System.Net;
using System.Net.Sockets;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;
using Docker.DotNet;

namespace DbProvisioner.Runtime.Docker.Tests.Runtime;

/// <summary>The engine's own words (Docker 20.10, API 1.41) become the DBA's.</summary>
public sealed class DockerErrorsTests
{
    private static DockerApiException Engine(HttpStatusCode status, string message) =>
        new(status, $$"""{"message":"{{message.Replace("\"", "\\\"", StringComparison.Ordinal)}}"}""");

    [Test]
    public void A_missing_device_names_the_device_and_the_host()
    {
        var e = DockerErrors.Translate("local", "start", Engine(HttpStatusCode.InternalServerError,
            "error gathering device information while adding custom device \"/dev/dbprov-no-such-disk\": no such file or directory"));

        Assert.That(e.Kind, Is.EqualTo(HostRuntimeErrorKind.DeviceNotFound));
        Assert.That(e.Message, Is.EqualTo("/dev/dbprov-no-such-disk does not exist on host local"));
    }

    [Test]
    public void A_character_device_under_a_volume_is_not_a_block_device()
    {
        var e = DockerErrors.Translate("local", "start", Engine(HttpStatusCode.InternalServerError,
            "failed to mount local volume: mount /dev/null:/var/lib/docker/volumes/v/_data: block device required"), device: "/dev/null");

        Assert.That(e.Message, Is.EqualTo("/dev/null is not a block device"));
    }

    [Test]
    public void Unavailable_cpus_name_only_the_cpus_the_host_lacks()
    {
        var e = DockerErrors.Translate("local", "create", Engine(HttpStatusCode.BadRequest,
            "Requested CPUs are not available - requested 1,5, available: 0-1"), cpus: CpuSet.Of(1, 5));

        Assert.That(e.Kind, Is.EqualTo(HostRuntimeErrorKind.CpuNotOnHost));
        Assert.That(e.Message, Is.EqualTo("CPU 5 does not exist on host local"));
    }

    [Test]
    public void User_errors_are_not_retried_but_engine_failures_are()
    {
        Assert.That(DockerErrors.IsTransient(Engine(HttpStatusCode.InternalServerError,
            "failed to mount local volume: mount /dev/dbprov-no-such-disk:/x: no such file or directory")), Is.False);
        Assert.That(DockerErrors.IsTransient(Engine(HttpStatusCode.InternalServerError, "containerd: connection reset")), Is.True);
        Assert.That(DockerErrors.IsTransient(Engine(HttpStatusCode.NotFound, "No such container: x")), Is.False);
        Assert.That(DockerErrors.IsTransient(new HttpRequestException("refused")), Is.True);
    }

    [Test]
    public void A_refused_connection_wrapped_by_the_tls_transport_is_transient_and_a_wrapped_user_error_is_not()
    {
        Assert.That(DockerErrors.IsTransient(new AggregateException(new SocketException((int)SocketError.ConnectionRefused))), Is.True);
        Assert.That(DockerErrors.IsTransient(new AggregateException(new InvalidOperationException("bad request"))), Is.False);
        Assert.That(DockerErrors.IsTransient(new AggregateException()), Is.False);
    }

    [Test]
    public void A_failed_tls_handshake_is_not_transient_however_it_is_wrapped()
    {
        var tls = new System.Security.Authentication.AuthenticationException("The remote certificate was rejected by the provided RemoteCertificateValidationCallback.");

        Assert.Multiple(() =>
        {
            Assert.That(DockerErrors.IsTransient(new HttpRequestException("ssl", tls)), Is.False);
            Assert.That(DockerErrors.IsTransient(new AggregateException(new IOException("handshake", tls))), Is.False);
            Assert.That(DockerErrors.TlsFailure(new AggregateException(new HttpRequestException("ssl", tls))), Is.SameAs(tls));
            Assert.That(DockerErrors.TlsFailure(new HttpRequestException("refused")), Is.Null);
        });
    }
}
