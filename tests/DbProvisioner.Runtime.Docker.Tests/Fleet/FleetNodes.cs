using System.Diagnostics;
using DbProvisioner.Runtime;
using MySqlConnector;

namespace DbProvisioner.Runtime.Docker.Tests.Fleet;

/// <summary>
/// The fleet of real engines hack/fleet.sh runs on this machine (make setup: node-1 and node-2): node-K's engine on
/// tcp://10.251.K.2:2376 over mutual TLS, its MySQL ports on 10.251.K.2, its own loop-disk pool. These tests own the
/// nodes' test pools (disk-01, disk-02), ports 3401-3402 in the nodes' namespaces, and instance ids "rtt-fleet-…"; for a
/// timing comparison with this machine's engine, the Runtime.Docker suite's disk-04 and port 3405 there.
/// </summary>
internal static class FleetNodes
{
    public const string StateDir = "/var/lib/dbprov";
    public const string InstancePrefix = "rtt-fleet-";
    public const string ClientCertDir = StateDir + "/secrets/docker-client";

    /// <summary>The appliance's client certificate that fleet.sh issued (section Docker:Tls of the server).</summary>
    public static readonly DockerTlsOptions ClientTls = new()
    {
        CaFile = Path.Combine(ClientCertDir, "ca.pem"),
        CertFile = Path.Combine(ClientCertDir, "cert.pem"),
        KeyFile = Path.Combine(ClientCertDir, "key.pem"),
    };

    public static string Address(int node) => $"10.251.{node}.2";

    public static Uri Endpoint(int node) => new($"tcp://{Address(node)}:2376");

    public static HostConnection Host(int node) => new($"fleet-node-{node}", Endpoint(node), Address(node), HostConnection.DefaultImage);

    public static DockerHostRuntimeFactory NewFactory() => new(new DockerRuntimeOptions { Tls = ClientTls });

    /// <summary>The loop device over node-K's pool file (e.g. disk-01), found by backing file, never by number.</summary>
    public static string Disk(int node, string poolFile) => LoopDeviceOver($"{StateDir}/disks/fleet/node-{node}/{poolFile}.img", "bash hack/fleet.sh up 2");

    /// <summary>The loop device over this machine's test-pool file (e.g. disk-04), for a comparison with the local engine.</summary>
    public static string LocalDisk(string poolFile) => LoopDeviceOver($"{StateDir}/disks/{poolFile}.img", "bash hack/disks.sh up");

    private static string LoopDeviceOver(string file, string fix)
    {
        foreach (var dir in Directory.EnumerateDirectories("/sys/block", "loop*"))
        {
            var backing = Path.Combine(dir, "loop", "backing_file");
            if (File.Exists(backing) && File.ReadAllText(backing).TrimEnd('\n') == file) return "/dev/" + Path.GetFileName(dir);
        }
        throw new InvalidOperationException($"{file} is not attached to a loop device: run `{fix}`");
    }

    /// <summary>hack/fleet.sh of this checkout (list, stop NAME, start NAME).</summary>
    public static async Task<(int Exit, string Stdout, string Stderr)> ScriptAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(RepoDir(), "hack", "fleet.sh"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOCKER_API_VERSION"] = "1.41";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("bash hack/fleet.sh did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Fails the fixture with what to run when node-1 and node-2 are not both up.</summary>
    public static async Task AssertUpAsync()
    {
        var (exit, stdout, stderr) = await ScriptAsync("list");
        Assert.That(exit, Is.Zero, stderr);
        var up = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).Where(f => f.Length > 1 && f[1] == "up").Select(f => f[0]);
        Assert.That(up, Is.SupersetOf(new[] { "node-1", "node-2" }), $"the fleet is not up (run `bash hack/fleet.sh up 2`):\n{stdout}");
    }

    /// <summary>Removes instances a killed earlier run left on the nodes.</summary>
    public static async Task RemoveLeftoversAsync(DockerHostRuntimeFactory factory, params int[] nodes)
    {
        foreach (var node in nodes)
        {
            var runtime = factory.For(Host(node));
            var owned = await runtime.ListOwnedAsync(Docker.Engine.Timeout());
            foreach (var id in owned.Containers.Select(c => c.InstanceId).OfType<string>().Where(id => id.StartsWith(InstancePrefix, StringComparison.Ordinal)).Distinct())
                await runtime.RemoveInstanceAsync(id, Docker.Engine.Timeout());
        }
    }

    private static string RepoDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "hack", "fleet.sh"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No checkout with hack/fleet.sh above {AppContext.BaseDirectory}");
    }
}

/// <summary>MySQL of a fleet instance, on its node's address.</summary>
internal static class FleetMySql
{
    public static async Task<MySqlConnection> ConnectAsync(string address, int port, string password)
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
}
