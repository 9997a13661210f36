using Microsoft.Extensions.Time.Testing;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DbProvisioner.Grains;
using DbProvisioner.Runtime;
using DbProvisioner.Testing;
using DbProvisioner.Testing.Simulation;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;

namespace DbProvisioner.Server.Tests.Support;

/// <summary>
/// The server's composition with its Orleans silo and the real grains, but in-memory grain storage and simulated hosts
/// (no engine, no meta DB): HTTP + grains in one process. In-memory storage is for tests only; the server never uses it.
/// </summary>
internal static class GrainApp
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>How long a test waits for background work (formatting, provisioning, a removal) to finish.</summary>
    public static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    /// <param name="services">More services after the defaults (a fake clock, options).</param>
    public static async Task<(ShellApp App, SimulatedHostRuntimeFactory Hosts)> StartAsync(Action<IServiceCollection>? services = null)
    {
        var more = services;
        var hosts = new SimulatedHostRuntimeFactory();
        var app = await ShellApp.StartAsync(
            settings: new Dictionary<string, string>
            {
                ["Silo:Enabled"] = "true",
                ["Silo:SiloPort"] = TestPorts.NextText(),
                ["Silo:GatewayPort"] = TestPorts.NextText(),
                ["GrainStorage:MigrateOnStart"] = "false",
            },
            services: services =>
            {
                services.AddSingleton<IHostRuntimeFactory>(hosts);
                services.AddSingleton<ICredentialProtector>(new AesGcmCredentialProtector(RandomNumberGenerator.GetBytes(32)));
                services.Configure<ProvisioningOptions>(o => o.ReadyDeadline = TimeSpan.FromSeconds(10));
                more?.Invoke(services);
            },
            configure: builder =>
            {
                builder.UseOrleans(TestGrainStorage.UseMemoryGrainStorage);
                // No meta DB and no MySQL here: audit rows are recorded in memory, MySQL status is simulated.
                builder.Services.AddSingleton<IAuditSink>(new RecordingAuditSink());
                builder.Services.AddSingleton<IMySqlAdmin>(new SimulatedMySqlAdmin());
            });
        return (app, hosts);
    }

    /// <summary>A simulated host's registration body (topology given: 1 node × 4 cores × 1 thread, 16 GiB).</summary>
    public static string HostJson(string id, string pool, int disks = 2, int firstPort = 3400, string zone = "z1", string rack = "r1") =>
        JsonSerializer.Serialize(new
        {
            id,
            engineEndpoint = $"tcp://{id}.sim:2375",
            zone,
            rack,
            pool,
            disks = Enumerable.Range(0, disks).Select(i => new { device = $"/dev/sim-{id}-{i}", sizeGiB = 2 }).ToArray(),
            reservedCpus = "",
            ports = new { first = firstPort, last = firstPort + 9 },
            topology = new { numaNodes = 1, coresPerNode = 4, threadsPerCore = 1, memoryMiBPerNode = 16384 },
        });

    public static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<HttpResponseMessage> RegisterHostAsync(ShellApp app, string id, string pool, int disks = 2, FakeTimeProvider? clock = null)
    {
        var response = await app.CreateClient(FakeApiKeyVerifier.Admin).PostAsync("/api/v1/hosts", Body(HostJson(id, pool, disks)));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
        await WaitDisksReadyAsync(app, id, clock);
        return response;
    }

    /// <summary>
    /// Waits until the host's background formatting is done: a request placed while every disk is still Formatting is
    /// refused ("no Ready or Discovered disk"), which is not what these tests are about.
    /// </summary>
    /// <param name="clock">A silo's fake clock: moved a heartbeat on per look, since a described host's image (and so its disk
    /// work) waits for the first heartbeat its engine answers.</param>
    public static async Task WaitDisksReadyAsync(ShellApp app, string hostId, FakeTimeProvider? clock = null)
    {
        var client = app.CreateClient(FakeApiKeyVerifier.Viewer);
        await Eventually.UntilAsync(() =>
            {
                clock?.Advance(new HostHealthOptions().Interval);
                return client.GetFromJsonAsync<JsonElement>($"/api/v1/hosts/{hostId}");
            },
            static host => host.GetProperty("disks").EnumerateArray().All(d => d.GetProperty("state").GetString() == "Ready"),
            SettleTimeout, $"the disks of host {hostId} to be Ready");
    }

    /// <summary>Polls <c>GET /instances/{id}</c> until Ready or Failed.</summary>
    public static async Task<JsonElement> WaitSettledAsync(ShellApp app, string id, TimeSpan? timeout = null)
    {
        var client = app.CreateClient(FakeApiKeyVerifier.Viewer);
        return await Eventually.UntilAsync(() => client.GetFromJsonAsync<JsonElement>($"/api/v1/instances/{id}"),
            static view => view.GetProperty("state").GetString() is "Ready" or "Failed",
            timeout ?? SettleTimeout, $"instance {id} to be Ready or Failed");
    }
}
