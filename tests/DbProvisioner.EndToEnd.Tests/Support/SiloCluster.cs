using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// Several server processes in one cluster (membership and reminders in a throw-away meta database) behind HAProxy,
/// configured by hack/silo.sh proxy-config, with this suite's two logical hosts registered. Every process it starts is
/// killed on dispose, whatever the test did.
/// </summary>
public sealed class SiloCluster : IAsyncDisposable
{
    /// <summary>Short, so that a test sees the recovery sweep's reminder fire within seconds.</summary>
    public static readonly TimeSpan SweepPeriod = TimeSpan.FromSeconds(5);

    private readonly List<ServerProcess> _silos = [];
    private Process? _proxy;

    private SiloCluster(int count, string database, string folder)
    {
        Database = database;
        Folder = folder;
        var cluster = "e2e-" + database[E2eLayout.DatabasePrefix.Length..];
        for (var k = 1; k <= count; k++)
        {
            var http = TestPorts.Next();
            var settings = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["Server:Url"] = $"http://127.0.0.1:{http}",
                ["Silo:Name"] = $"silo-{k}",
                ["Silo:ClusterId"] = cluster,
                ["Silo:ServiceId"] = cluster,
                ["Silo:SiloPort"] = TestPorts.NextText(),
                ["Silo:GatewayPort"] = TestPorts.NextText(),
                ["Cluster:Membership"] = "AdoNet",
                ["Cluster:RecoverySweepPeriod"] = SweepPeriod.ToString("c", CultureInfo.InvariantCulture),
                ["MetaDb:Database"] = database,
                ["MetaDb:PasswordFile"] = E2eLayout.MetaPasswordFile,
                ["Bootstrap:ClientConfigPath"] = Path.Combine(folder, "config.json"),
                ["Log:Directory"] = Path.Combine(folder, $"logs-{k}"),
                ["Provisioning:CredentialKeyFile"] = Path.Combine(folder, "secrets", "credentials.key"),
            };
            _silos.Add(new ServerProcess(settings, Path.Combine(folder, $"silo-{k}.out"), new Uri($"http://127.0.0.1:{http}/")));
        }

        ProxyAddress = new Uri($"http://127.0.0.1:{TestPorts.Next()}/");
    }

    public string Database { get; }
    public string Folder { get; }

    /// <summary>Keep <see cref="Folder"/> (logs, configuration, the silos' secrets) after dispose: set when a test failed.</summary>
    public bool KeepFolder { get; set; }
    public Uri ProxyAddress { get; }
    public IReadOnlyList<ServerProcess> Silos => _silos;
    public DockerEngine Docker { get; } = new();
    public ApiClient Admin { get; private set; } = null!;
    public ApiClient Requester { get; private set; } = null!;
    public ApiClient Approver { get; private set; } = null!;

    /// <summary>Starts silo 1 (it writes the keys), the others together, HAProxy, and registers both hosts with their disks Ready.</summary>
    public static async Task<SiloCluster> StartAsync(int count)
    {
        var cluster = new SiloCluster(count, MetaDatabase.NewName(), Directory.CreateTempSubdirectory("dbprov-silos-").FullName);
        try
        {
            await cluster._silos[0].StartAsync(CancellationToken.None);
            await Task.WhenAll(cluster._silos.Skip(1).Select(s => s.StartAsync(CancellationToken.None)));
            await cluster.StartProxyAsync();
            using (var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(cluster.Folder, "config.json"))))
            {
                var keys = config.RootElement.GetProperty("keys");
                cluster.Admin = new ApiClient(cluster.ProxyAddress, keys.GetProperty("admin").GetString());
                cluster.Requester = new ApiClient(cluster.ProxyAddress, keys.GetProperty("requester").GetString());
                cluster.Approver = new ApiClient(cluster.ProxyAddress, keys.GetProperty("approver").GetString());
            }

            foreach (var host in E2eLayout.Hosts)
            {
                await E2eDeployment.RegisterHostAsync(cluster.Admin, host);
            }

            await E2eDeployment.WaitForDisksReadyAsync(cluster.Admin, cluster.Tails);
            return cluster;
        }
        catch
        {
            await TestContext.Progress.WriteLineAsync($"silo cluster failed to start:\n{cluster.Tails(40)}");
            cluster.KeepFolder = true;
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The silo's own /healthz (not through HAProxy): its status and its view of the cluster.</summary>
    public async Task<SiloHealth?> HealthAsync(int index)
    {
        using var http = new HttpClient { BaseAddress = _silos[index].BaseAddress, Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(new Uri("healthz", UriKind.Relative));
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var data = doc.RootElement.GetProperty("checks").GetProperty("silo").GetProperty("data");
            return new SiloHealth(
                response.StatusCode == HttpStatusCode.OK,
                data.GetProperty("name").GetString()!,
                data.TryGetProperty("activeSilos", out var active) ? active.GetInt32() : 0,
                data.TryGetProperty("lastRecoverySweepAt", out var sweep) ? sweep.GetDateTimeOffset() : null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The silo's own heartbeat counters from its /metrics (not through HAProxy): heartbeats sent per host; null when it does not answer.</summary>
    public async Task<IReadOnlyDictionary<string, long>?> HeartbeatsAsync(int index)
    {
        using var http = new HttpClient { BaseAddress = _silos[index].BaseAddress, Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            var text = await http.GetStringAsync(new Uri("metrics", UriKind.Relative));
            return System.Text.RegularExpressions.Regex.Matches(text, @"^dbprov_host_heartbeats(?:_total)?\{[^}]*host=""([^""]+)""[^}]*\} (\d+)", System.Text.RegularExpressions.RegexOptions.Multiline)
                .ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), StringComparer.Ordinal);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Starts every silo that is not running (after a kill, or one that stopped itself), one at a time.</summary>
    public async Task EnsureAllRunningAsync()
    {
        foreach (var silo in _silos.Where(s => !s.IsRunning))
        {
            await silo.KillAsync();
            await silo.StartAsync(CancellationToken.None);
        }

        await Eventually.UntilAsync(
            async () => await Task.WhenAll(Enumerable.Range(0, _silos.Count).Select(HealthAsync)),
            views => views.All(v => v is { Healthy: true } && v.ActiveSilos == _silos.Count), TimeSpan.FromSeconds(60),
            "every silo to see all of them Active", static views => string.Join(", ", views.Select(v => v?.ToString() ?? "no answer")));
    }

    public string Tails(int lines) => string.Join("\n", _silos.Select((s, i) => $"---- silo-{i + 1} ({s.LogFile}):\n{s.Tail(lines)}"));

    private async Task StartProxyAsync()
    {
        var hack = Path.Combine(RepoDirectory(), "hack", "silo.sh");
        var config = Path.Combine(Folder, "haproxy.cfg");
        var print = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { hack, "proxy-config", ProxyAddress.Authority }.Concat(_silos.Select(s => s.BaseAddress.Authority)))
        {
            print.ArgumentList.Add(argument);
        }

        print.Environment["DBPROV_SILOS_DIR"] = Folder;
        using (var printer = Process.Start(print)!)
        {
            var text = await printer.StandardOutput.ReadToEndAsync();
            await printer.WaitForExitAsync();
            Assert.That(printer.ExitCode, Is.Zero, await printer.StandardError.ReadToEndAsync());
            await File.WriteAllTextAsync(config, text);
        }

        // -db: in the foreground, a child of this test, so that dispose can end it.
        var run = new ProcessStartInfo("haproxy") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-db", "-f", config })
        {
            run.ArgumentList.Add(argument);
        }

        _proxy = Process.Start(run)!;
        _proxy.OutputDataReceived += (_, _) => { };
        _proxy.ErrorDataReceived += (_, _) => { };
        _proxy.BeginOutputReadLine();
        _proxy.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = ProxyAddress, Timeout = TimeSpan.FromSeconds(3) };
        await Eventually.UntilAsync(async () =>
            {
                try
                {
                    using var response = await http.GetAsync(new Uri("healthz", UriKind.Relative));
                    return response.StatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return HttpStatusCode.ServiceUnavailable;
                }
            },
            static status => status == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "HAProxy to answer /healthz", static s => s.ToString(),
            TimeSpan.FromMilliseconds(250), CancellationToken.None);
    }

    private static string RepoDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "hack", "silo.sh")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No hack/silo.sh above {AppContext.BaseDirectory}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_proxy is { HasExited: false })
        {
            _proxy.Kill(entireProcessTree: true);
            await _proxy.WaitForExitAsync();
        }

        _proxy?.Dispose();
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        var removed = await Docker.RemoveOwnedAsync();
        if (!KeepFolder)
        {
            Directory.Delete(Folder, recursive: true);
        }

        await TestContext.Progress.WriteLineAsync(
            $"[silos] removed {removed.Count} containers/volumes; dropping {Database}; {(KeepFolder ? $"logs kept in {Folder}" : $"removed {Folder}")}");
        await MetaDatabase.DropAsync(Database);
        Docker.Dispose();
        Admin?.Dispose();
        Requester?.Dispose();
        Approver?.Dispose();
    }
}

/// <summary>One silo's /healthz: whether it answered 200, its name, how many silos it sees Active, its last recovery sweep.</summary>
public sealed record SiloHealth(bool Healthy, string Name, int ActiveSilos, DateTimeOffset? LastRecoverySweepAt);
