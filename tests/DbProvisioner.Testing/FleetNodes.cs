using System.Diagnostics;
using DbProvisioner.Runtime;
using MySqlConnector;

namespace DbProvisioner.Testing;

/// <summary>
/// The fleet of real engines hack/fleet.sh runs on this machine (make setup: node-1 and node-2): node-K's dockerd in its
/// own network namespace on tcp://10.251.K.2:2376 with mutual TLS only, its MySQL ports on 10.251.K.2, its own loop-disk
/// pool (disk-01.img, disk-02.img under disks/fleet/node-K). What each suite owns on the nodes (disks, ports, host and
/// instance ids) stays with the suite; Runtime.Docker owns disk-01, the server and end-to-end suites disk-02.
/// </summary>
public static class FleetNodes
{
    public const int EnginePort = 2376;

    /// <summary>The nodes make setup starts (`fleet.sh up 2`).</summary>
    public static readonly IReadOnlyList<int> Nodes = [1, 2];

    public static string StateDir { get; } =
        Environment.GetEnvironmentVariable("DBPROV_STATE_DIR") is { Length: > 0 } state ? state : "/var/lib/dbprov";

    /// <summary>The appliance's client certificate that fleet.sh issued (the server's default Docker:Tls).</summary>
    public static string ClientCertDir => Path.Combine(StateDir, "secrets", "docker-client");

    public static string ClientCaFile => Path.Combine(ClientCertDir, "ca.pem");

    public static string ClientCertFile => Path.Combine(ClientCertDir, "cert.pem");

    public static string ClientKeyFile => Path.Combine(ClientCertDir, "key.pem");

    public static string Name(int node) => $"node-{node}";

    public static string Address(int node) => $"10.251.{node}.2";

    public static Uri Endpoint(int node) => new($"tcp://{Address(node)}:{EnginePort}");

    /// <summary>How the driver reaches node-K for a host registered as <paramref name="hostId"/>.</summary>
    public static HostConnection Host(string hostId, int node) => new(hostId, Endpoint(node), Address(node), HostConnection.DefaultImage);

    /// <summary>The loop device over node-K's pool file (e.g. disk-02), found by backing file, never by number.</summary>
    public static string Disk(int node, string poolFile)
    {
        var file = Path.Combine(StateDir, "disks", "fleet", Name(node), poolFile + ".img");
        return TestDisks.Attached().Where(a => a.BackingFile == file).Select(a => a.Device).FirstOrDefault()
            ?? throw new InvalidOperationException($"{file} is not attached to a loop device: run `bash hack/fleet.sh up 2`");
    }

    /// <summary>hack/fleet.sh of this checkout (list, stop NAME, start NAME).</summary>
    public static Task<(int Exit, string Output, string Error)> ScriptAsync(params string[] arguments) =>
        RunAsync("bash", [Path.Combine(RepoDir(), "hack", "fleet.sh"), .. arguments], new Dictionary<string, string>(), TimeSpan.FromMinutes(5));

    /// <summary>The docker CLI on node-K's engine, as an operator types it after <c>eval "$(fleet.sh env node-K)"</c>.</summary>
    public static Task<(int Exit, string Output, string Error)> DockerAsync(int node, params string[] arguments) =>
        DockerAsync(node, TimeSpan.FromSeconds(60), arguments);

    /// <summary>The same with more patience (e.g. a pull of the whole image).</summary>
    public static Task<(int Exit, string Output, string Error)> DockerAsync(int node, TimeSpan timeout, params string[] arguments) =>
        RunAsync("docker", arguments, new Dictionary<string, string>
        {
            ["DOCKER_HOST"] = Endpoint(node).ToString().TrimEnd('/'),
            ["DOCKER_TLS_VERIFY"] = "1",
            ["DOCKER_CERT_PATH"] = ClientCertDir,
        }, timeout);

    /// <summary>Throws with what to run unless every one of <paramref name="nodes"/> (default: node-1 and node-2) is up.</summary>
    public static async Task RequireUpAsync(params int[] nodes)
    {
        var (exit, output, error) = await ScriptAsync("list");
        var up = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).Where(f => f.Length > 1 && f[1] == "up").Select(f => f[0]);
        var missing = (nodes.Length == 0 ? Nodes : nodes).Select(Name).Except(up).ToList();
        if (exit != 0 || missing.Count > 0)
            throw new InvalidOperationException($"the fleet is not up ({string.Join(", ", missing)}; run `bash hack/fleet.sh up 2`):\n{output}{error}");
    }

    /// <summary>MySQL of an instance as root, on its host's own address.</summary>
    public static async Task<MySqlConnection> ConnectMySqlAsync(string address, int port, string password)
    {
        var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = address,
            Port = (uint)port,
            UserID = "root",
            Password = password,
            Pooling = false,
            ConnectionTimeout = 5,
        }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(string file, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["DOCKER_API_VERSION"] = "1.41";
        foreach (var (name, value) in environment) info.Environment[name] = value;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancel.Token);
        return (process.ExitCode, (await output).Trim(), (await error).Trim());
    }

    private static string RepoDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "hack", "fleet.sh"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No checkout with hack/fleet.sh above {AppContext.BaseDirectory}");
    }
}
