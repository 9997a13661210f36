using System.Diagnostics;
using System.Net.Http;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using DbProvisioner.Runtime;
using DbProvisioner.Testing;
using MySqlConnector;
using Engine = DbProvisioner.Runtime.Docker.Tests.Docker.Engine;

namespace DbProvisioner.Runtime.Docker.Tests.Fleet;

/// <summary>
/// Through the driver over mutual TLS: one instance on node-1 and one on node-2, each reached on its node's own address;
/// and the engines' side of mutual TLS, which refuses a client without a certificate.
/// </summary>
[Category("Fleet")]
public sealed class FleetInstanceTests
{
    private const string LocalId = "rtt-fleet-local";
    private const int LocalPort = 3405;
    private static readonly int[] Nodes = [1, 2];
    private readonly Dictionary<int, InstanceContainerSpec> _specs = [];
    private DockerHostRuntimeFactory _factory = null!;

    private static string Id(int node) => $"{FleetRuntime.InstancePrefix}{node}";

    private static int Port(int node) => 3400 + node;

    [OneTimeSetUp]
    public async Task ProvisionOnEachNodeAsync()
    {
        await FleetNodes.RequireUpAsync();
        _factory = FleetRuntime.NewFactory();
        await FleetRuntime.RemoveLeftoversAsync(_factory, Nodes);
        foreach (var node in Nodes)
        {
            // One CPU per node, different ones: the simulated machines share this machine's cores.
            _specs[node] = Engine.Spec(Id(node), FleetNodes.Disk(node, "disk-01"), cpu: node - 1, Port(node));
            await ProvisionAsync($"node-{node}", _factory.For(FleetRuntime.Host(node)), _specs[node]);
        }

        // The same on this machine's engine over its Unix socket, for the log's comparison.
        using var local = new DockerHostRuntimeFactory();
        var localSpec = Engine.Spec(LocalId, TestDisks.Resolve("disk-04"), cpu: 0, LocalPort);
        try
        {
            await ProvisionAsync("local", local.For(Engine.Host), localSpec);
        }
        finally
        {
            await local.For(Engine.Host).RemoveInstanceAsync(LocalId, Engine.Timeout());
        }
    }

    [OneTimeTearDown]
    public async Task RemoveAsync()
    {
        foreach (var node in _specs.Keys) await _factory.For(FleetRuntime.Host(node)).RemoveInstanceAsync(Id(node), Engine.Timeout());
        _factory.Dispose();
    }

    private static async Task ProvisionAsync(string where, IHostRuntime runtime, InstanceContainerSpec spec)
    {
        var clock = Stopwatch.StartNew();
        await runtime.FormatDiskAsync(spec.Device, seed: true, Engine.Timeout());
        var formatted = clock.Elapsed;
        await runtime.StartInstanceAsync(spec, Engine.Timeout());
        await runtime.WaitUntilReadyAsync(spec.InstanceId, spec.Port, spec.Credentials, Engine.ReadyDeadline, Engine.Timeout());
        await TestContext.Progress.WriteLineAsync(
            $"{where}: disk formatted and seeded in {formatted.TotalSeconds:F1} s, instance started and Ready in {(clock.Elapsed - formatted).TotalSeconds:F1} s");
    }

    [Test]
    public async Task MySql_answers_on_each_nodes_own_address_with_the_generated_password()
    {
        foreach (var node in Nodes)
        {
            await using var connection = await FleetNodes.ConnectMySqlAsync(FleetNodes.Address(node), Port(node), _specs[node].Credentials.RootPassword);

            Assert.That(Convert.ToInt32(await Engine.ScalarAsync(connection, "SELECT @@server_id")), Is.EqualTo(Port(node)), $"node-{node}'s own mysqld");
        }
    }

    [Test]
    public async Task Each_instance_runs_on_its_nodes_engine_and_not_on_this_machines()
    {
        foreach (var node in Nodes)
        {
            var owned = await _factory.For(FleetRuntime.Host(node)).ListOwnedAsync(Engine.Timeout());
            var (_, local, _) = await Engine.DockerAsync("ps", "-aq", "--filter", $"label=dbprov.instance={Id(node)}");

            Assert.That(owned.Containers.Where(c => c.InstanceId == Id(node)).Select(c => c.State), Is.EqualTo(new[] { "running" }), $"node-{node}");
            Assert.That(owned.Containers.Select(c => c.InstanceId), Does.Not.Contain(Id(3 - node)), $"node-{node} holds only its own instance");
            Assert.That(local.Trim(), Is.Empty, "nothing of it on this machine's engine");
        }
    }

    [Test]
    public async Task A_node_port_is_not_this_machines_port()
    {
        // The instance listens in node-1's namespace: on this machine's loopback its port is closed.
        var e = Assert.ThrowsAsync<MySqlException>(async () => await FleetNodes.ConnectMySqlAsync("127.0.0.1", Port(1), _specs[1].Credentials.RootPassword));

        Assert.That(e!.ErrorCode, Is.EqualTo(MySqlErrorCode.UnableToConnectToHost));
        await using var connection = await FleetNodes.ConnectMySqlAsync(FleetNodes.Address(1), Port(1), _specs[1].Credentials.RootPassword);
        Assert.That(await Engine.ScalarAsync(connection, "SELECT 1"), Is.EqualTo(1));
    }

    [Test]
    public async Task An_engine_refuses_a_client_without_a_certificate_and_answers_one_with_the_appliances()
    {
        using var ca = X509CertificateLoader.LoadCertificateFromFile(FleetNodes.ClientCaFile);
        using var client = X509Certificate2.CreateFromPemFile(FleetNodes.ClientCertFile, FleetNodes.ClientKeyFile);
        var version = new Uri($"https://{FleetNodes.Address(1)}:2376/version");

        using var anonymous = HttpTo(ca, clientCertificate: null);
        var refused = Assert.ThrowsAsync<HttpRequestException>(() => anonymous.GetStringAsync(version));
        using var withCertificate = HttpTo(ca, client);
        var answer = await withCertificate.GetStringAsync(version);

        Assert.That(refused!.InnerException, Is.InstanceOf<IOException>().Or.InstanceOf<AuthenticationException>(), refused.ToString());
        Assert.That(answer, Does.Contain("\"ApiVersion\""));
    }

    [Test]
    public void The_driver_without_a_client_certificate_does_not_reach_a_node()
    {
        using var factory = new DockerHostRuntimeFactory(new DockerRuntimeOptions { MaxRetryAttempts = 0 });
        var host = FleetRuntime.Host(1) with { EngineEndpoint = new Uri($"https://{FleetNodes.Address(1)}:2376") };

        Assert.That(factory.EndpointRefusal(host.EngineEndpoint), Does.Contain("no client certificate"));
        Assert.That(factory.EndpointRefusal(FleetNodes.Endpoint(1)), Does.Contain("plain-text TCP to another machine"));
        Assert.Throws<ArgumentException>(() => factory.For(FleetRuntime.Host(1)), "the driver never dials a remote engine in plain text");
    }

    private static HttpClient HttpTo(X509Certificate2 ca, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = EngineTls.ServerValidation(ca),
                ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
    }
}
