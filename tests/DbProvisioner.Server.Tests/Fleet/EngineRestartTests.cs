using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DbProvisioner.Grains;
using DbProvisioner.Runtime;
using DbProvisioner.Runtime.Docker;
using DbProvisioner.Server.Tests.Support;
using DbProvisioner.Testing;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;
using static DbProvisioner.Server.Tests.Support.GrainApp;

namespace DbProvisioner.Server.Tests.Fleet;

/// <summary>
/// A real engine dies and comes back: the grains (in-memory storage) drive node-1 of hack/fleet.sh over mutual TLS with
/// the server's heartbeat. An instance made there before, with a row written in it, comes back by its restart policy;
/// meanwhile the host is reported unhealthy with a reason and placement refuses it with that reason. Runs under the
/// engine lock (it stops node-1, which other suites use) and always starts node-1 again. Owns node-1's test disk disk-02
/// and ports 3411-3412 in node-1's namespace.
/// </summary>
[TestFixture]
[Category("Fleet")]
public sealed class EngineRestartTests
{
    private const string HostId = "hb-node-1";
    private const string Pool = "hb-fleet";
    private const int NodeIndex = 1;
    private static readonly string Node = FleetNodes.Name(NodeIndex);
    private static readonly string Address = FleetNodes.Address(NodeIndex);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan EngineTimeout = TimeSpan.FromMinutes(3);

    private readonly DockerHostRuntimeFactory _runtimes = new(new DockerRuntimeOptions
    {
        Tls = new DockerTlsOptions { CaFile = FleetNodes.ClientCaFile, CertFile = FleetNodes.ClientCertFile, KeyFile = FleetNodes.ClientKeyFile },
    });
    private ShellApp app = null!;
    private string? instanceId;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        await FleetNodes.RequireUpAsync(NodeIndex);
        (app, _) = await GrainApp.StartAsync(services =>
        {
            services.AddSingleton<IHostRuntimeFactory>(_runtimes);
            services.Configure<ProvisioningOptions>(o => o.ReadyDeadline = TimeSpan.FromSeconds(90));
            services.Configure<HostHealthOptions>(o =>
            {
                o.Interval = Interval;
                o.FailureThreshold = 2;
                o.ProbeTimeout = TimeSpan.FromSeconds(3);
                o.DiskCheckEvery = 10;
            });
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        try
        {
            if (instanceId is not null)
                await _runtimes.For(FleetNodes.Host(HostId, NodeIndex)).RemoveInstanceAsync(instanceId, new CancellationTokenSource(EngineTimeout).Token);
        }
        finally
        {
            await app.DisposeAsync();
            _runtimes.Dispose();
        }
    }

    private HttpClient Viewer => app.CreateClient(FakeApiKeyVerifier.Viewer);

    private Task<JsonElement> HostAsync() => Viewer.GetFromJsonAsync<JsonElement>($"/api/v1/hosts/{HostId}");

    [Test]
    public async Task A_stopped_engine_makes_its_host_unhealthy_and_refused_and_when_it_starts_again_its_instance_is_back_with_its_data()
    {
        using var registered = await app.CreateClient(FakeApiKeyVerifier.Admin).PostAsync("/api/v1/hosts", Body(JsonSerializer.Serialize(new
        {
            id = HostId,
            engineEndpoint = FleetNodes.Endpoint(NodeIndex).ToString().TrimEnd('/'),
            mySqlAddress = Address,
            zone = "z1",
            rack = "r1",
            pool = Pool,
            disks = new[] { new { device = FleetNodes.Disk(NodeIndex, "disk-02"), sizeGiB = 2 } },
            reservedCpus = "",
            ports = new { first = 3411, last = 3412 },
            watermarks = new[] { new { @class = "standard", minReady = 1, minSeeded = 1 } },
        })));
        Assert.That(registered.StatusCode, Is.EqualTo(HttpStatusCode.Created), await registered.Content.ReadAsStringAsync());
        await WaitDisksReadyAsync(app, HostId);
        await Eventually.UntilAsync(HostAsync, static h => h.GetProperty("lastSeen").ValueKind == JsonValueKind.String, SettleTimeout, "a first heartbeat");

        instanceId = await CreateAsync();
        var ready = await WaitSettledAsync(app, instanceId, TimeSpan.FromMinutes(2));
        Assert.That(ready.GetProperty("state").GetString(), Is.EqualTo("Ready"), ready.ToString());
        var credentials = await app.CreateClient(FakeApiKeyVerifier.Requester).GetFromJsonAsync<JsonElement>($"/api/v1/instances/{instanceId}/credentials");
        var port = credentials.GetProperty("port").GetInt32();
        var password = credentials.GetProperty("password").GetString()!;
        await using (var before = await ConnectAsync(port, password))
        {
            await ExecuteAsync(before, "CREATE DATABASE IF NOT EXISTS hb; CREATE TABLE hb.t (v VARCHAR(40)); INSERT INTO hb.t VALUES ('written before the restart')");
        }

        var stopping = Stopwatch.StartNew();
        TimeSpan stopped = default, detected = default;
        try
        {
            var stop = FleetNodes.ScriptAsync("stop", Node);
            var down = await Eventually.UntilAsync(HostAsync, static h => !h.GetProperty("healthy").GetBoolean(), TimeSpan.FromMinutes(2), "the host to be reported unhealthy");
            detected = stopping.Elapsed;
            Assert.That((await stop).Exit, Is.Zero, "fleet.sh stop");
            stopped = stopping.Elapsed;
            var reason = down.GetProperty("reason").GetString();
            await TestContext.Progress.WriteLineAsync(
                $"{Node}: reported unhealthy {detected.TotalSeconds:F1} s after `fleet.sh stop` began (the stop itself took {stopped.TotalSeconds:F1} s; heartbeat every {Interval.TotalSeconds:0} s, 2 failures): {reason}");
            Assert.That(reason, Does.Contain("engine"), "the reason names the engine");

            using var refused = await app.CreateClient(FakeApiKeyVerifier.Requester).PostAsync("/api/v1/instances",
                Body($$"""{"pool":"{{Pool}}","cpus":1,"memoryMiB":512,"diskGiB":1}"""));
            var refusal = refused.StatusCode == HttpStatusCode.Accepted
                ? (await WaitSettledAsync(app, (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!)).GetProperty("reason").GetString()
                : await refused.Content.ReadAsStringAsync();
            Assert.That(refusal, Does.Contain("unhealthy").And.Contain(reason!), "placement refuses the host with its reason");
        }
        finally
        {
            var (exit, _, err) = await FleetNodes.ScriptAsync("start", Node);
            Assert.That(exit, Is.Zero, $"fleet.sh start {Node}: {err}");
        }

        var restarted = Stopwatch.StartNew();
        var back = await Eventually.UntilAsync(HostAsync, static h => h.GetProperty("healthy").GetBoolean(), TimeSpan.FromMinutes(2), "the host to be healthy again");
        await TestContext.Progress.WriteLineAsync($"{Node}: healthy again {restarted.Elapsed.TotalSeconds:F1} s after `fleet.sh start` returned");
        Assert.That(back.TryGetProperty("reason", out var r) ? r.ValueKind : JsonValueKind.Null, Is.EqualTo(JsonValueKind.Null));

        var row = await Eventually.UntilAsync(async () =>
        {
            try
            {
                await using var after = await ConnectAsync(port, password);
                await using var select = new MySqlCommand("SELECT v FROM hb.t", after);
                return (string?)await select.ExecuteScalarAsync();
            }
            catch (MySqlException)
            {
                return null;
            }
        }, static v => v is not null, TimeSpan.FromMinutes(2), "MySQL of the instance to answer again after the engine restart");
        Assert.That(row, Is.EqualTo("written before the restart"), "the container came back by its restart policy on the same data");
    }

    private async Task<string> CreateAsync()
    {
        using var created = await app.CreateClient(FakeApiKeyVerifier.Requester).PostAsync("/api/v1/instances",
            Body($$"""{"pool":"{{Pool}}","cpus":1,"memoryMiB":512,"diskGiB":1}"""));
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await created.Content.ReadAsStringAsync());
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private static Task<MySqlConnection> ConnectAsync(int port, string password) => FleetNodes.ConnectMySqlAsync(Address, port, password);

    private static async Task ExecuteAsync(MySqlConnection connection, string sql)
    {
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
