using Microsoft.Extensions.Time.Testing;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using DbProvisioner.Contracts;
using DbProvisioner.Grains;
using DbProvisioner.Persistence;
using DbProvisioner.Runtime;
using DbProvisioner.Testing;
using DbProvisioner.Testing.Simulation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MySqlConnector;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.Storage;

namespace DbProvisioner.Server.Tests.Support;

/// <summary>
/// The server's composition with its silo and real grains on in-memory grain storage and simulated hosts, MySQL answered by a
/// simulation (no client connections, not replicating), and the real audit trail (<see cref="ScaleDown.MetaDbAuditSink"/> over
/// <see cref="Persistence.Audit.AuditLog"/>) in a throw-away meta database <c>dbprov_test_…</c>, dropped on dispose.
/// </summary>
internal sealed class ScaleDownApp : IAsyncDisposable
{
    private ScaleDownApp(ShellApp app, SimulatedHostRuntimeFactory hosts, SimulatedMySqlAdmin mysql, string database, TimeProvider? clock)
    {
        Clock = clock;
        App = app;
        Hosts = hosts;
        MySql = mysql;
        Database = database;
    }

    public ShellApp App { get; }

    /// <summary>The clock the silo reads, when the test gave one.</summary>
    public TimeProvider? Clock { get; }

    public SimulatedHostRuntimeFactory Hosts { get; }

    public SimulatedMySqlAdmin MySql { get; }

    public string Database { get; }

    /// <summary>Starts the app; with a <paramref name="clock"/>, the grains and the server's sweeps read the time from it.</summary>
    public static async Task<ScaleDownApp> StartAsync(TimeSpan? scaleDownExpiry = null, TimeProvider? clock = null)
    {
        var database = $"dbprov_test_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        var options = MetaOptions(database);
        await using (var connections = new MetaDbConnectionFactory(options))
        {
            await new MetaDbMigrator(connections).MigrateAsync(CancellationToken.None);
        }

        var hosts = new SimulatedHostRuntimeFactory();
        var mysql = new SimulatedMySqlAdmin();
        try
        {
            var app = await ShellApp.StartAsync(
                settings: new Dictionary<string, string>
                {
                    ["Silo:Enabled"] = "true",
                    ["Silo:SiloPort"] = TestPorts.NextText(),
                    ["Silo:GatewayPort"] = TestPorts.NextText(),
                    ["GrainStorage:MigrateOnStart"] = "false",
                    ["MetaDb:Host"] = options.Host,
                    ["MetaDb:Port"] = options.Port.ToString(CultureInfo.InvariantCulture),
                    ["MetaDb:Database"] = database,
                    ["MetaDb:PasswordFile"] = options.PasswordFile,
                },
                services: services =>
                {
                    services.AddSingleton<IHostRuntimeFactory>(hosts);
                    services.AddSingleton<IMySqlAdmin>(mysql);
                    if (clock is not null)
                    {
                        services.AddSingleton(clock);
                    }

                    services.AddSingleton<ICredentialProtector>(new AesGcmCredentialProtector(RandomNumberGenerator.GetBytes(32)));
                    services.Configure<ProvisioningOptions>(o =>
                    {
                        o.ReadyDeadline = TimeSpan.FromSeconds(10);
                        o.DrainTimeout = TimeSpan.FromSeconds(2);
                        if (scaleDownExpiry is { } expiry)
                        {
                            o.ScaleDownExpiry = expiry;
                        }
                    });
                },
                configure: builder => builder.UseOrleans(TestGrainStorage.UseMemoryGrainStorage));
            return new ScaleDownApp(app, hosts, mysql, database, clock);
        }
        catch
        {
            await DropAsync(database);
            throw;
        }
    }

    public HttpClient Client(string key) => App.CreateClient(key);

    /// <summary>Registers a simulated host (1 NUMA node × 4 cores) in <paramref name="pool"/> and returns its id.</summary>
    public async Task<string> RegisterHostAsync(string prefix, string pool, int disks = 2)
    {
        var id = HostIdInBucketZero(prefix);
        using var response = await Client(FakeApiKeyVerifier.Admin).PostAsync("/api/v1/hosts", GrainApp.Body(GrainApp.HostJson(id, pool, disks)));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
        // The disks are formatted in the background: a request before they are Ready is (rightly) refused.
        await GrainApp.WaitDisksReadyAsync(App, id, Clock as FakeTimeProvider);
        return id;
    }

    /// <summary>Requests one instance (1 CPU, 1 GiB, 1 GiB disk) with the requester key and waits until it is Ready.</summary>
    public async Task<string> CreateReadyInstanceAsync(string pool)
    {
        using var response = await Client(FakeApiKeyVerifier.Requester).PostAsync(
            "/api/v1/instances", GrainApp.Body(JsonSerializer.Serialize(new { pool, cpus = 1, memoryMiB = 1024, diskGiB = 1 })));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var view = await GrainApp.WaitSettledAsync(App, id);
        Assert.That(view.GetProperty("state").GetString(), Is.EqualTo("Ready"), view.ToString());
        return id;
    }

    /// <summary><c>DELETE /instances/{id}</c> with <paramref name="key"/>; asserts 202 and returns the request.</summary>
    public async Task<JsonElement> RequestRemovalAsync(string instanceId, string key = FakeApiKeyVerifier.Requester)
    {
        using var response = await Client(key).DeleteAsync($"/api/v1/instances/{instanceId}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static string[] BlockingCodes(JsonElement request) =>
        [.. request.GetProperty("risks").EnumerateArray().Where(r => r.GetProperty("severity").GetString() == "Blocking").Select(r => r.GetProperty("code").GetString()!)];

    public Task<HttpResponseMessage> ApproveAsync(string requestId, string key, IEnumerable<string> acknowledge) =>
        Client(key).PostAsync($"/api/v1/scale-downs/{requestId}/approve", GrainApp.Body(JsonSerializer.Serialize(new { acknowledge })));

    public async Task<JsonElement> GetJsonAsync(string path, string key = FakeApiKeyVerifier.Viewer) =>
        await Client(key).GetFromJsonAsync<JsonElement>(path);

    /// <summary>Polls the request until it leaves Approved/Draining.</summary>
    public async Task<JsonElement> WaitRequestSettledAsync(string requestId, TimeSpan? timeout = null) =>
        await Eventually.UntilAsync(() => GetJsonAsync($"/api/v1/scale-downs/{requestId}"),
            static view => view.GetProperty("state").GetString() is not ("Approved" or "Draining"),
            timeout ?? GrainApp.SettleTimeout, $"scale-down request {requestId} to leave Approved and Draining");

    /// <summary>
    /// A host id whose catalog bucket is 0. The pool check of POST /instances reads only bucket 0 of the catalog for now
    /// (reported); hosts in other buckets would be "not registered" there.
    /// </summary>
    public static string HostIdInBucketZero(string prefix)
    {
        for (var i = 0; ; i++)
        {
            var id = $"{prefix}-{i}";
            if (Catalog.BucketOf(id) == 0)
            {
                return id;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.DisposeAsync();
        }
        finally
        {
            await DropAsync(Database);
        }
    }

    public static MetaDbOptions MetaOptions(string database) => new()
    {
        Host = Environment.GetEnvironmentVariable("DBPROV_TEST_META_HOST") ?? "127.0.0.1",
        Port = int.TryParse(Environment.GetEnvironmentVariable("DBPROV_TEST_META_PORT"), out var port) ? port : 3306,
        Database = database,
        PasswordFile = Environment.GetEnvironmentVariable("DBPROV_TEST_META_PASSWORD_FILE") ?? MetaDbOptions.DefaultPasswordFile,
    };

    private static async Task DropAsync(string database)
    {
        if (!database.StartsWith("dbprov_test_", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Refusing to drop '{database}': not a test database.");
        }

        var options = MetaOptions(database);
        var builder = new MySqlConnectionStringBuilder
        {
            Server = options.Host,
            Port = (uint)options.Port,
            UserID = options.User,
            Password = (await File.ReadAllTextAsync(options.PasswordFile)).TrimEnd('\r', '\n'),
            Pooling = false,
        };
        await using var connection = new MySqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"DROP DATABASE IF EXISTS `{database}`";
        await command.ExecuteNonQueryAsync();
    }
}
