using System.Net;
using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// One server on its own throw-away meta database with this suite's two logical hosts registered and their disks
/// Ready. Each host has one free CPU, so a deployment holds at most two instances; fixtures that need more start
/// their own deployment (there is no scale-down through the API yet).
/// </summary>
public sealed class E2eDeployment : IAsyncDisposable
{
    private static readonly TimeSpan DisksReadyTimeout = TimeSpan.FromMinutes(4);

    private E2eDeployment(string database, string folder, IReadOnlyDictionary<string, string>? extraSettings)
    {
        Database = database;
        Folder = folder;
        ClientConfigPath = Path.Combine(folder, "config.json");
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Server:Url"] = $"http://127.0.0.1:{E2eLayout.HttpPort}",
            ["Silo:ClusterId"] = "dbprov-e2e",
            ["Silo:ServiceId"] = "dbprov-e2e",
            ["Silo:SiloPort"] = E2eLayout.SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Silo:GatewayPort"] = E2eLayout.GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MetaDb:Database"] = database,
            ["MetaDb:PasswordFile"] = E2eLayout.MetaPasswordFile,
            ["GrainStorage:MigrateOnStart"] = "true",
            ["Bootstrap:GenerateKeysOnStart"] = "true",
            ["Bootstrap:ClientConfigPath"] = ClientConfigPath,
            ["Log:Directory"] = Path.Combine(folder, "logs"),
            ["Provisioning:CredentialKeyFile"] = Path.Combine(folder, "secrets", "credentials.key"),
        };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        Server = new ServerProcess(settings, Path.Combine(folder, "server.out"));
    }

    public string Database { get; }
    public string Folder { get; }
    public string ClientConfigPath { get; }
    public ServerProcess Server { get; }
    public DockerEngine Docker { get; } = new();
    public IReadOnlyDictionary<string, string> Keys { get; private set; } = new Dictionary<string, string>();
    public ApiClient Admin { get; private set; } = null!;
    public ApiClient Requester { get; private set; } = null!;
    public ApiClient Viewer { get; private set; } = null!;
    public ApiClient Approver { get; private set; } = null!;
    public ApiClient Anonymous { get; private set; } = null!;

    /// <summary>Starts a server on a new database, registers both hosts and waits until every disk is Ready.</summary>
    public static async Task<E2eDeployment> StartAsync(IReadOnlyDictionary<string, string>? extraSettings = null)
    {
        var folder = Directory.CreateTempSubdirectory("dbprov-e2e-").FullName;
        var deployment = new E2eDeployment(MetaDatabase.NewName(), folder, extraSettings);
        try
        {
            await deployment.Server.StartAsync(CancellationToken.None);
            await deployment.ReadKeysAsync();
            foreach (var host in E2eLayout.Hosts)
            {
                await deployment.RegisterHostAsync(host);
            }

            await deployment.WaitForDisksReadyAsync();
            return deployment;
        }
        catch
        {
            await TestContext.Progress.WriteLineAsync($"deployment failed to start; server output:\n{deployment.Server.Tail()}");
            await deployment.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the server (as a crash) and starts it again on the same database, keys and key file.</summary>
    public async Task RestartAsync()
    {
        await Server.KillAsync();
        await Server.StartAsync(CancellationToken.None);
    }

    public static RegisterHostRequest RegistrationOf(E2eHost host) => new(
        host.Id,
        E2eLayout.EngineEndpoint,
        E2eLayout.Zone,
        host.Rack,
        E2eLayout.Pool,
        [.. host.Devices.Select(d => new DiskSpec(d, E2eLayout.DiskSizeGiB))],
        host.ReservedCpus,
        new PortRangeSpec(host.FirstPort, host.LastPort),
        MySqlAddress: "127.0.0.1",
        // Every disk formatted, one seeded: enough for the tests, and less work for two cores.
        Watermarks: [new WatermarkSpec("standard", host.Devices.Count, 1)]);

    private Task RegisterHostAsync(E2eHost host) => RegisterHostAsync(Admin, host);

    public static async Task RegisterHostAsync(ApiClient admin, E2eHost host)
    {
        using var response = await admin.PostAsync("hosts", RegistrationOf(host));
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"registering host {host.Id} answered {(int)response.StatusCode}: {body}");
        }
    }

    private Task WaitForDisksReadyAsync() => WaitForDisksReadyAsync(Admin, Server.Tail);

    public static async Task WaitForDisksReadyAsync(ApiClient admin, Func<int, string> tail)
    {
        var expected = E2eLayout.Hosts.Sum(h => h.Devices.Count);
        var polled = await Eventually.PollAsync(async () =>
            {
                var hosts = await Task.WhenAll(E2eLayout.Hosts.Select(h => admin.GetHostAsync(h.Id)));
                var disks = hosts.SelectMany(h => h.Disks.Select(d => (Host: h.Id, Disk: d))).ToList();
                var faulty = disks.Where(d => d.Disk.State == "Faulty").ToList();
                return faulty.Count == 0 ? disks
                    : throw new InvalidOperationException("faulty disks: " + string.Join(", ", faulty.Select(d => $"{d.Host}:{d.Disk.Device}")) + "\n" + tail(60));
            },
            disks => disks.Count == expected && disks.All(d => d.Disk.State == "Ready"), DisksReadyTimeout, TimeSpan.FromSeconds(1));
        if (!polled.Met)
        {
            throw new TimeoutException("disks not Ready: " + string.Join(", ", polled.Last.Select(d => $"{d.Host}:{d.Disk.Device}={d.Disk.State}")) + "\n" + tail(60));
        }

        await TestContext.Progress.WriteLineAsync($"[e2e] {polled.Last.Count} disks Ready after {polled.Elapsed.TotalSeconds:F1} s");
    }

    private async Task ReadKeysAsync()
    {
        await using var stream = File.OpenRead(ClientConfigPath);
        using var config = await JsonDocument.ParseAsync(stream);
        Keys = config.RootElement.GetProperty("keys").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        Admin = new ApiClient(Server.BaseAddress, Keys["admin"]);
        Requester = new ApiClient(Server.BaseAddress, Keys["requester"]);
        Viewer = new ApiClient(Server.BaseAddress, Keys["viewer"]);
        Approver = new ApiClient(Server.BaseAddress, Keys["approver"]);
        Anonymous = new ApiClient(Server.BaseAddress, null);
    }

    /// <summary>
    /// Host views and the instance list must agree: every CPU, disk and port claimed on a host belongs to an
    /// instance that is not Failed, and every such instance holds exactly its own. <paramref name="moreHosts"/>: hosts a
    /// fixture registered besides the two logical ones (e.g. fleet nodes).
    /// </summary>
    public Task<IReadOnlyList<string>> FindLeaksAsync(params string[] moreHosts) => FindLeaksAsync(Admin, moreHosts);

    public static async Task<IReadOnlyList<string>> FindLeaksAsync(ApiClient admin, params string[] moreHosts)
    {
        var instances = await admin.ListInstancesAsync();
        var live = instances.Where(i => i.State is not ("Failed" or "Removed")).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var host in E2eLayout.HostIds.Concat(moreHosts))
        {
            var view = await admin.GetHostAsync(host);
            foreach (var held in view.Instances.Where(i => !live.Contains(i.Id)))
            {
                problems.Add($"{host}: instance {held.Id} (not live) still holds CPUs {held.Cpus}, port {held.Port}");
            }

            foreach (var core in view.NumaNodes.SelectMany(n => n.Cores).Where(c => c.Instance is not null && !live.Contains(c.Instance)))
            {
                problems.Add($"{host}: core {core.Core} (CPUs {core.Cpus}) assigned to {core.Instance}, which is not live");
            }

            foreach (var disk in view.Disks.Where(d => d.ClaimedBy is not null && !live.Contains(d.ClaimedBy)))
            {
                problems.Add($"{host}: disk {disk.Device} claimed by {disk.ClaimedBy}, which is not live");
            }

            foreach (var disk in view.Disks.Where(d => d.State == "Claimed" && d.ClaimedBy is null))
            {
                problems.Add($"{host}: disk {disk.Device} is Claimed by nobody");
            }
        }

        return problems;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        var removed = await Docker.RemoveOwnedAsync();
        await TestContext.Progress.WriteLineAsync($"[e2e] removed {removed.Count} containers/volumes; dropping {Database}; server log {Server.LogFile}");
        await MetaDatabase.DropAsync(Database);
        Docker.Dispose();
        Admin?.Dispose();
        Requester?.Dispose();
        Viewer?.Dispose();
        Approver?.Dispose();
        Anonymous?.Dispose();
    }
}
