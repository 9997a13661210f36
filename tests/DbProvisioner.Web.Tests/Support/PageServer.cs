using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DbProvisioner.Contracts;
using DbProvisioner.Grains;
using DbProvisioner.Runtime;
using DbProvisioner.Server.Api;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Hosting;
using DbProvisioner.Testing;
using DbProvisioner.Testing.Simulation;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.Storage;

namespace DbProvisioner.Web.Tests.Support;

/// <summary>
/// The server's own composition (AddDbProvisionerServer / UseDbProvisionerServer / MapApiV1) on a real loopback port, so a
/// browser can reach it, with real grains on in-memory grain storage, simulated hosts and MySQL, a recording audit trail
/// and fixed test keys. The engine itself is proven by the end-to-end tests; this is for the page.
/// </summary>
internal sealed class PageServer : IAsyncDisposable
{
    public const string ViewerKey = "web-viewer-key";
    public const string RequesterKey = "web-requester-key";
    public const string ApproverKey = "web-approver-key";
    public const string AdminKey = "web-admin-key";

    private readonly WebApplication app;

    private PageServer(WebApplication app, Uri url, SimulatedHostRuntimeFactory hosts, RecordingAuditSink audit)
    {
        this.app = app;
        Url = url;
        Hosts = hosts;
        Audit = audit;
    }

    public Uri Url { get; }

    public SimulatedHostRuntimeFactory Hosts { get; }

    public RecordingAuditSink Audit { get; }

    public static async Task<PageServer> StartAsync()
    {
        var port = TestPorts.NextText();
        var url = new Uri($"http://127.0.0.1:{port}");
        var settings = new Dictionary<string, string>
        {
            ["Server:Url"] = url.ToString().TrimEnd('/'),
            ["Silo:Enabled"] = "true",
            ["Silo:SiloPort"] = TestPorts.NextText(),
            ["Silo:GatewayPort"] = TestPorts.NextText(),
            ["GrainStorage:MigrateOnStart"] = "false",
            ["Bootstrap:GenerateKeysOnStart"] = "false",
            ["Log:Directory"] = string.Empty,
            ["Log:MinimumLevel"] = "Warning",
        };
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Testing",
            Args = [.. settings.Select(s => $"--{s.Key}={s.Value}")],
        });
        builder.AddDbProvisionerServer();
        var hosts = new SimulatedHostRuntimeFactory();
        var audit = new RecordingAuditSink();
        builder.Services.AddSingleton<IApiKeyVerifier, TestKeys>();
        builder.Services.AddSingleton<IHostRuntimeFactory>(hosts);
        builder.Services.AddSingleton<IMySqlAdmin, SimulatedMySqlAdmin>();
        builder.Services.AddSingleton<IAuditSink>(audit);
        builder.Services.AddSingleton<ICredentialProtector>(new AesGcmCredentialProtector(RandomNumberGenerator.GetBytes(32)));
        builder.Services.Configure<ProvisioningOptions>(o =>
        {
            o.ReadyDeadline = TimeSpan.FromSeconds(10);
            o.DrainTimeout = TimeSpan.FromSeconds(2);
        });
        builder.UseOrleans(TestGrainStorage.UseMemoryGrainStorage);

        var app = builder.Build();
        app.UseDbProvisionerServer();
        app.MapApiV1();
        await app.StartAsync();
        return new PageServer(app, url, hosts, audit);
    }

    public HttpClient Client(string key)
    {
        var client = new HttpClient { BaseAddress = Url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>A simulated host (1 NUMA node × 4 cores, core 0 reserved) whose catalog bucket is 0 (see the report on bucket-0 pool checks).</summary>
    public async Task<string> RegisterHostAsync(string prefix, string pool)
    {
        var id = Enumerable.Range(0, 10_000).Select(i => $"{prefix}-{i}").First(i => Catalog.BucketOf(i) == 0);
        var body = JsonSerializer.Serialize(new
        {
            id,
            engineEndpoint = $"tcp://{id}.sim:2375",
            zone = "z1",
            rack = "r1",
            pool,
            disks = new[] { new { device = $"/dev/sim-{id}-0", sizeGiB = 2 }, new { device = $"/dev/sim-{id}-1", sizeGiB = 2 } },
            reservedCpus = "0",
            ports = new { first = 3400, last = 3409 },
            topology = new { numaNodes = 1, coresPerNode = 4, threadsPerCore = 1, memoryMiBPerNode = 16384 },
            swapMiB = 2048,
        });
        using var client = Client(AdminKey);
        using var response = await client.PostAsync("/api/v1/hosts", Json(body));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
        // The disk pool formats both disks at once after registration: a request made meanwhile finds no free disk.
        await Eventually.UntilAsync(() => client.GetFromJsonAsync<JsonElement>($"/api/v1/hosts/{id}"),
            static host => host.GetProperty("disks").EnumerateArray().All(static d => d.GetProperty("state").GetString() == "Ready"),
            TimeSpan.FromSeconds(30), $"the disks of host {id} to be Ready");
        return id;
    }

    public async Task<string> CreateReadyInstanceAsync(string pool)
    {
        using var client = Client(RequesterKey);
        using var response = await client.PostAsync("/api/v1/instances", Json(JsonSerializer.Serialize(new { pool, cpus = 1, memoryMiB = 1024, diskGiB = 1 })));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var view = await Eventually.UntilAsync(() => client.GetFromJsonAsync<JsonElement>($"/api/v1/instances/{id}"),
            static view => view.GetProperty("state").GetString() is "Ready" or "Failed", TimeSpan.FromSeconds(30), $"instance {id} to be Ready or Failed");
        Assert.That(view.GetProperty("state").GetString(), Is.EqualTo("Ready"), view.ToString());
        return id;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private sealed class TestKeys : IApiKeyVerifier
    {
        private static readonly Dictionary<string, ApiPrincipal> Keys = new(StringComparer.Ordinal)
        {
            [ViewerKey] = new("web-viewer", ApiRole.Viewer),
            [RequesterKey] = new("web-requester", ApiRole.Requester),
            [ApproverKey] = new("web-approver", ApiRole.Approver),
            [AdminKey] = new("web-admin", ApiRole.Admin),
        };

        public Task<ApiPrincipal?> VerifyAsync(string key, CancellationToken cancellationToken) => Task.FromResult(Keys.GetValueOrDefault(key));
    }

}
