using System.Diagnostics;
using DbProvisioner.Domain.Config;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;
using MySqlConnector;
using DbProvisioner.Api;

namespace DbProvisioner.Runtime.Docker.Tests.Docker;

/// <summary>
/// What the real-engine tests share. They use only the test pool's disk-01 to disk-04 (TestDisks) and ports 3401-3420 (the
/// rest of the pool belongs to other suites), at most two single-CPU instances at a time, and
/// instance ids starting with "rtt-" so that leftovers of a killed run can be found and removed.
/// </summary>
internal static class Engine
{
    public const string HostId = "local";
    public static readonly HostConnection Host = HostConnection.Local(HostId);
    public static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(90);

    public static CancellationToken Timeout(int minutes = 4) => new CancellationTokenSource(TimeSpan.FromMinutes(minutes)).Token;

    public static InstanceContainerSpec Spec(string id, string device, int cpu, int port, long memoryMiB = 512, long swapMiB = 256, int swappiness = 10,
        InstanceCredentials? credentials = null) =>
        new(id, device, CpuSet.Of(cpu), [0], memoryMiB, swapMiB, swappiness, port,
            MyCnf.Render(new MyCnfSpec(memoryMiB, NumaPolicy.Required, ServerId: port, Port: port)),
            credentials ?? InstanceCredentials.Generate(),
            new Dictionary<string, string> { ["dbprov.test"] = "runtime-docker" });

    public static async Task<MySqlConnection> ConnectAsync(int port, string password, string user = "root", CancellationToken cancellationToken = default)
    {
        var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = "127.0.0.1",
            Port = (uint)port,
            UserID = user,
            Password = password,
            Pooling = false,
            ConnectionTimeout = 5,
        }.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public static async Task<object?> ScalarAsync(MySqlConnection connection, string sql)
    {
        await using var command = new MySqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>The docker CLI, as a DBA would use it to check what the appliance did.</summary>
    public static async Task<(int Exit, string Stdout, string Stderr)> DockerAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("docker")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOCKER_API_VERSION"] = "1.41";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("docker did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }

    public static async Task<string> ExecAsync(string container, params string[] command)
    {
        var (exit, stdout, stderr) = await DockerAsync(["exec", container, .. command]);
        Assert.That(exit, Is.Zero, $"docker exec {container} {string.Join(' ', command)}: {stderr}");
        return stdout.Trim();
    }

    /// <summary>Containers (all states) and volumes on the engine that carry this instance's label or name.</summary>
    public static async Task<(string[] Containers, string[] Volumes)> LeftoversOfAsync(string instanceId)
    {
        var containers = await DockerAsync("ps", "-aq", "--filter", $"label=dbprov.instance={instanceId}");
        var byName = await DockerAsync("ps", "-aq", "--filter", $"name=^/{ResourceNames.Container(instanceId)}$");
        var volumes = await DockerAsync("volume", "ls", "-q", "--filter", $"label=dbprov.instance={instanceId}");
        var volumeByName = await DockerAsync("volume", "ls", "-q", "--filter", $"name=^{ResourceNames.DataVolume(instanceId)}$");
        return (Lines(containers.Stdout + byName.Stdout).Distinct().ToArray(), Lines(volumes.Stdout + volumeByName.Stdout).Distinct().ToArray());
    }

    /// <summary>Helper containers or volumes left for a device (format/check helpers must remove themselves).</summary>
    public static async Task<string[]> HelperLeftoversForAsync(string device)
    {
        var containers = await DockerAsync("ps", "-aq", "--filter", "label=dbprov.helper", "--filter", $"label=dbprov.disk={device}");
        var volumes = await DockerAsync("volume", "ls", "-q", "--filter", "label=dbprov.helper", "--filter", $"label=dbprov.disk={device}");
        return Lines(containers.Stdout + volumes.Stdout);
    }

    /// <summary>Whether the host has the device mounted anywhere (/proc/mounts of the host).</summary>
    public static bool IsMountedOnHost(string device) =>
        File.ReadAllLines("/proc/mounts").Any(l => l.Split(' ')[0] == device);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Removes what a killed earlier run may have left, before any real-engine test runs.</summary>
[SetUpFixture]
public sealed class EngineSetUp
{
    [OneTimeSetUp]
    public async Task RemoveLeftoversOfEarlierRunsAsync()
    {
        var (_, stdout, _) = await Engine.DockerAsync("ps", "-a", "--format", "{{.Label \"dbprov.instance\"}}", "--filter", "label=dbprov.test=runtime-docker");
        var ids = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(id => id.StartsWith("rtt-", StringComparison.Ordinal)).Distinct();
        using var factory = new DockerHostRuntimeFactory();
        foreach (var id in ids) await factory.For(Engine.Host).RemoveInstanceAsync(id, Engine.Timeout());
    }
}
