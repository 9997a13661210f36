using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using DbProvisioner.Testing;
using MySqlConnector;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// The built DbProvisioner.Server as a child process on its own throwaway meta database
/// (<c>dbprov_bench_&lt;8 hex&gt;</c>), free HTTP/silo/gateway ports, a fresh credentials key file and client
/// config in a temporary folder. Only the process started here is ever killed; disposing drops the database.
/// </summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private const string DatabasePrefix = "dbprov_bench_";
    private const string MetaPasswordFile = "/var/lib/dbprov/secrets/meta-root-password";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly List<string> _arguments;
    private readonly object _logLock = new();
    private Process? _process;
    private StreamWriter? _log;

    private readonly IReadOnlyDictionary<string, string> _environment;

    private BenchServer(string purpose, IReadOnlyDictionary<string, string> extraSettings, IReadOnlyDictionary<string, string> environment)
    {
        _environment = environment;
        var ci = CultureInfo.InvariantCulture;
        Database = DatabasePrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        Folder = Directory.CreateTempSubdirectory($"dbprov-bench-{purpose}-").FullName;
        var http = TestPorts.Next();
        var silo = TestPorts.Next();
        var gateway = TestPorts.Next();
        BaseAddress = new Uri(string.Create(ci, $"http://127.0.0.1:{http}/"));
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Server:Url"] = string.Create(ci, $"http://127.0.0.1:{http}"),
            ["Silo:ClusterId"] = "dbprov-bench-" + Database[DatabasePrefix.Length..],
            ["Silo:ServiceId"] = "dbprov-bench-" + Database[DatabasePrefix.Length..],
            ["Silo:SiloPort"] = silo.ToString(ci),
            ["Silo:GatewayPort"] = gateway.ToString(ci),
            ["MetaDb:Database"] = Database,
            ["MetaDb:PasswordFile"] = MetaPasswordFile,
            ["GrainStorage:MigrateOnStart"] = "true",
            ["Bootstrap:GenerateKeysOnStart"] = "true",
            ["Bootstrap:ClientConfigPath"] = Path.Combine(Folder, "config.json"),
            ["Log:Directory"] = Path.Combine(Folder, "logs"),
            ["Provisioning:CredentialKeyFile"] = Path.Combine(Folder, "secrets", "credentials.key"),
        };
        foreach (var (k, v) in extraSettings) settings[k] = v;
        _arguments = [ServerDll, .. settings.Select(static s => $"--{s.Key}={s.Value}")];
        LogFile = Path.Combine(Folder, "server.out");
    }

    public string Database { get; }

    public string Folder { get; }

    public string LogFile { get; }

    public Uri BaseAddress { get; }

    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("The server is not running.");

    public BenchApi Admin { get; private set; } = null!;

    public BenchApi Requester { get; private set; } = null!;

    public BenchApi Approver { get; private set; } = null!;

    /// <summary>Starts a server on a new database and waits until /healthz answers 200 (silo Active).</summary>
    public static async Task<BenchServer> StartAsync(
        string purpose, IReadOnlyDictionary<string, string>? extraSettings = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var server = new BenchServer(purpose, extraSettings ?? new Dictionary<string, string>(), environment ?? new Dictionary<string, string>());
        try
        {
            await server.StartProcessAsync();
            return server;
        }
        catch
        {
            Console.Error.WriteLine($"  the server did not start; its output:\n{server.Tail()}");
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The resident set of the server process (VmRSS of /proc/&lt;pid&gt;/status), in bytes.</summary>
    public long RssBytes()
    {
        var line = File.ReadAllLines($"/proc/{ProcessId}/status").First(static l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var kib = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return kib * 1024;
    }

    /// <summary>The server's own CPU time so far (user + system), from /proc/&lt;pid&gt;/stat.</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{ProcessId}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
    }

    public string Tail(int lines = 40)
    {
        lock (_logLock) _log?.Flush();
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(lines));
        }
        catch (IOException e)
        {
            return $"(no server output: {e.Message})";
        }
    }

    /// <summary>Lines of the server's output that contain <paramref name="text"/>.</summary>
    public int CountLogLines(string text)
    {
        lock (_logLock) _log?.Flush();
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var count = 0;
            while (reader.ReadLine() is { } line)
                if (line.Contains(text, StringComparison.Ordinal)) count++;
            return count;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
            _process = null;
        }
        lock (_logLock)
        {
            _log?.Dispose();
            _log = null;
        }
        Admin?.Dispose();
        Requester?.Dispose();
        Approver?.Dispose();
        await DropDatabaseAsync(Database);
        if (Environment.GetEnvironmentVariable("BENCH_KEEP_SERVER_LOGS") is not "1")
        {
            try
            {
                Directory.Delete(Folder, recursive: true); // logs, client config with keys, credentials key file
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"  could not remove {Folder}: {e.Message}");
            }
        }
    }

    /// <summary>Drops one of this harness's throwaway databases (a generated <c>dbprov_bench_</c> name only).</summary>
    public static async Task DropDatabaseAsync(string database)
    {
        if (!database.StartsWith(DatabasePrefix, StringComparison.Ordinal) || !database.All(static c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new InvalidOperationException($"refusing to drop '{database}': not a benchmark database");
        try
        {
            var password = (await File.ReadAllTextAsync(MetaPasswordFile)).TrimEnd('\r', '\n');
            var builder = new MySqlConnectionStringBuilder { Server = "127.0.0.1", Port = 3306, UserID = "root", Password = password, Pooling = false };
            await using var connection = new MySqlConnection(builder.ConnectionString);
            await connection.OpenAsync();
            await using var drop = connection.CreateCommand();
            drop.CommandText = $"DROP DATABASE IF EXISTS `{database}`";
            await drop.ExecuteNonQueryAsync();
            Console.Error.WriteLine($"  dropped {database}");
        }
        catch (Exception e) when (e is MySqlException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"  could not drop {database}: {e.Message}");
        }
    }

    private async Task StartProcessAsync()
    {
        _log = new StreamWriter(new FileStream(LogFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = false };
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(ServerDll)!, // appsettings.json sits next to the dll
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in _arguments) info.ArgumentList.Add(a);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (k, v) in _environment) info.Environment[k] = v;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var watch = Stopwatch.StartNew();
        await Eventually.UntilAsync(async () =>
            {
                if (process.HasExited) throw new InvalidOperationException($"the server exited with code {process.ExitCode} while starting");
                try
                {
                    using var response = await http.GetAsync(new Uri("healthz", UriKind.Relative));
                    return $"{(int)response.StatusCode} {response.StatusCode}";
                }
                catch (HttpRequestException e)
                {
                    return $"not listening yet ({e.Message})";
                }
                catch (TaskCanceledException)
                {
                    return "a slow answer while the silo starts";
                }
            },
            static answer => answer == "200 OK", StartTimeout, "the server to answer /healthz with 200", maxPause: TimeSpan.FromMilliseconds(200));
        StartSeconds = watch.Elapsed.TotalSeconds;

        await using var stream = File.OpenRead(Path.Combine(Folder, "config.json"));
        using var config = await JsonDocument.ParseAsync(stream);
        var keys = config.RootElement.GetProperty("keys");
        Admin = new BenchApi(BaseAddress, keys.GetProperty("admin").GetString()!);
        Requester = new BenchApi(BaseAddress, keys.GetProperty("requester").GetString()!);
        Approver = new BenchApi(BaseAddress, keys.GetProperty("approver").GetString()!);
    }

    /// <summary>Seconds from process start to the first healthy answer.</summary>
    public double StartSeconds { get; private set; }

    private void Write(string? line)
    {
        if (line is null) return;
        lock (_logLock) _log?.WriteLine(line);
    }
    /// <summary>artifacts/bin/DbProvisioner.Server/&lt;configuration&gt;/DbProvisioner.Server.dll, built with this project.</summary>
    public static string ServerDllPath => ServerDll;

    private static string ServerDll
    {
        get
        {
            var configuration = (typeof(BenchServer).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release").ToLowerInvariant();
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (dir.Name == "bin" && dir.Parent?.Name == "artifacts")
                {
                    var path = Path.Combine(dir.FullName, "DbProvisioner.Server", configuration, "DbProvisioner.Server.dll");
                    return File.Exists(path) ? path : throw new FileNotFoundException($"the server is not built for {configuration}", path);
                }
            }
            throw new DirectoryNotFoundException($"no artifacts/bin above {AppContext.BaseDirectory}");
        }
    }
}

/// <summary>API v1 over HTTP with one key.</summary>
internal sealed class BenchApi : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HttpClient _http;

    public BenchApi(Uri server, string key)
    {
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 })
        {
            BaseAddress = new Uri(server, "api/v1/"),
            Timeout = TimeSpan.FromSeconds(60),
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
    }

    /// <summary>POST that must answer <paramref name="expected"/>; returns the body as <typeparamref name="T"/>.</summary>
    public async Task<T> PostAsync<T>(string path, object body, HttpStatusCode expected)
    {
        using var response = await _http.PostAsJsonAsync(path, body, Json);
        return await ReadAsync<T>(response, "POST " + path, expected);
    }

    public async Task<T> GetAsync<T>(string path)
    {
        using var response = await _http.GetAsync(path);
        return await ReadAsync<T>(response, "GET " + path, HttpStatusCode.OK);
    }

    public async Task<T> DeleteAsync<T>(string path, HttpStatusCode expected)
    {
        using var response = await _http.DeleteAsync(path);
        return await ReadAsync<T>(response, "DELETE " + path, expected);
    }

    public void Dispose() => _http.Dispose();

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, string what, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != expected)
            throw new InvalidOperationException($"{what} answered {(int)response.StatusCode} (expected {(int)expected}): {text}");
        return JsonSerializer.Deserialize<T>(text, Json) ?? throw new InvalidOperationException($"{what} answered null");
    }
}
