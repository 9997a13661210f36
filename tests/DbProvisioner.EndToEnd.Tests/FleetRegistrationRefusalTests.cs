using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.EndToEnd.Tests.Support;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>
/// Issue 11, bad input at registration, against the real server and node-1's real engine: a second host on node-1's engine
/// asking for its disk or overlapping its ports is a 409 naming node-1's host; an engine whose certificate is not from the
/// appliance's CA, or that does not answer, is a 400 naming <c>engineEndpoint</c>; in every case nothing is registered.
/// </summary>
[TestFixture]
[Category("Fleet")]
public sealed class FleetRegistrationRefusalTests : E2eFixture
{
    private const int Node = 1;

    [OneTimeSetUp]
    public async Task RegisterNodeAsync()
    {
        await FleetNodes.RequireUpAsync();
        using var response = await E2e.Admin.PostAsync("hosts", E2eFleet.Registration(Node) with { Watermarks = [new WatermarkSpec("standard", 0, 0)] });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
    }

    private static RegisterHostRequest Slice(string id, int firstPort, string? device = null) =>
        E2eFleet.Registration(Node) with
        {
            Id = id,
            Ports = new PortRangeSpec(firstPort, firstPort + 4),
            Disks = [new DiskSpec(device ?? "/dev/dbprov-e2e-unused", E2eLayout.DiskSizeGiB)],
            Watermarks = [new WatermarkSpec("standard", 0, 0)],
        };

    [Test]
    public async Task A_second_host_asking_for_the_disk_of_node_1_on_its_engine_is_a_409_naming_it()
    {
        var (status, body) = await RegisterAsync(Slice("e2e-node-1-disk", 3541, FleetNodes.Disk(Node, "disk-02")));

        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), body);
        Assert.That(Detail(body), Does.StartWith("disks:").And.Contain(E2eFleet.HostId(Node)).And.Contain(FleetNodes.Disk(Node, "disk-02")));
        await AssertNotRegisteredAsync("e2e-node-1-disk");
    }

    [Test]
    public async Task A_second_host_whose_ports_overlap_node_1s_on_its_address_is_a_409_naming_it()
    {
        var (status, body) = await RegisterAsync(Slice("e2e-node-1-ports", 3525));

        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), body);
        Assert.That(Detail(body), Does.StartWith("ports:").And.Contain(E2eFleet.HostId(Node)).And.Contain("3521-3529"));
        await AssertNotRegisteredAsync("e2e-node-1-ports");
    }

    [Test]
    public async Task An_engine_whose_certificate_is_not_from_the_appliances_ca_is_a_400_on_engineEndpoint()
    {
        using var impostor = SelfSignedTlsListener.Start();

        var (status, body) = await RegisterAsync(Slice("e2e-impostor", 3551) with { EngineEndpoint = $"https://127.0.0.1:{impostor.Port}", MySqlAddress = "127.0.0.1" });

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(Errors(body)["engineEndpoint"].Single(), Does.Contain("TLS handshake").And.Contain("appliance's CA"));
        Assert.That(impostor.Handshakes, Is.GreaterThan(0), "the server did reach the impostor engine (the refusal is its certificate, not the address)");
        await AssertNotRegisteredAsync("e2e-impostor");
    }

    [Test]
    public async Task An_engine_that_does_not_answer_is_a_400_on_engineEndpoint()
    {
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var (status, body) = await RegisterAsync(Slice("e2e-unreachable", 3561) with { EngineEndpoint = $"https://127.0.0.1:{closedPort}", MySqlAddress = "127.0.0.1" });

        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(Errors(body)["engineEndpoint"].Single(), Does.Contain($"127.0.0.1:{closedPort}"));
        await AssertNotRegisteredAsync("e2e-unreachable");
    }

    [Test]
    public async Task The_same_id_with_another_configuration_is_a_409_and_the_first_stays()
    {
        var (status, body) = await RegisterAsync(E2eFleet.Registration(Node) with { Rack = "r-other", Watermarks = [new WatermarkSpec("standard", 0, 0)] });

        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), body);
        Assert.That((await E2e.Admin.GetHostAsync(E2eFleet.HostId(Node))).Rack, Is.EqualTo($"r-node-{Node}"));
    }

    private async Task<(HttpStatusCode Status, string Body)> RegisterAsync(RegisterHostRequest request)
    {
        using var response = await E2e.Admin.PostAsync("hosts", request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task AssertNotRegisteredAsync(string id)
    {
        using var response = await E2e.Admin.GetAsync($"hosts/{id}");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), $"host {id} must not be registered");
    }

    private static string Detail(string body) => JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString() ?? "";

    private static Dictionary<string, string[]> Errors(string body) =>
        JsonSerializer.Deserialize<Dictionary<string, string[]>>(JsonDocument.Parse(body).RootElement.GetProperty("errors").GetRawText())!;

    /// <summary>An "engine" on loopback that completes TCP and offers a self-signed certificate (no CA the appliance knows).</summary>
    private sealed class SelfSignedTlsListener : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly X509Certificate2 _certificate;
        private readonly CancellationTokenSource _stop = new();
        private int _handshakes;

        private SelfSignedTlsListener()
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=impostor-engine", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            _certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Handshakes => Volatile.Read(ref _handshakes);

        public static SelfSignedTlsListener Start()
        {
            var listener = new SelfSignedTlsListener();
            listener._listener.Start();
            _ = listener.AcceptAsync();
            return listener;
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    using (client)
                    await using (var tls = new SslStream(client.GetStream()))
                    {
                        Interlocked.Increment(ref _handshakes);
                        try
                        {
                            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, _stop.Token);
                        }
                        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                        {
                            // The appliance refused our certificate and hung up: what the test expects.
                        }
                    }
                });
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _certificate.Dispose();
            _stop.Dispose();
        }
    }
}
