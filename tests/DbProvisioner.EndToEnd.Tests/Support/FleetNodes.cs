using System.Diagnostics;
using DbProvisioner.Api;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// The fleet hack/fleet.sh runs on this machine (make setup: node-1, node-2): node-K's engine on tcp://10.251.K.2:2376 over
/// mutual TLS with the appliance's client certificate (the server's default Docker:Tls), its MySQL on 10.251.K.2. This
/// suite registers node-K as host e2e-node-K with its pool's disk-02 and ports 3521-3529.
/// </summary>
public static class FleetNodes
{
    public const string StateDir = "/var/lib/dbprov";
    public const string ClientCertDir = StateDir + "/secrets/docker-client";
    public static readonly int[] Nodes = [1, 2];

    public static string HostId(int node) => $"e2e-node-{node}";

    public static string Address(int node) => $"10.251.{node}.2";

    public static RegisterHostRequest Registration(int node) => new(
        HostId(node),
        $"tcp://{Address(node)}:2376",
        E2eLayout.Zone,
        $"r-node-{node}",
        E2eLayout.Pool,
        [new DiskSpec(Disk(node), E2eLayout.DiskSizeGiB)],
        null,
        new PortRangeSpec(3521, 3529),
        MySqlAddress: Address(node),
        Watermarks: [new WatermarkSpec("standard", 1, 1)]);

    /// <summary>The loop device over node-K's pool file disk-02, found by backing file.</summary>
    public static string Disk(int node)
    {
        var file = $"{StateDir}/disks/fleet/node-{node}/disk-02.img";
        return TestDisks.Attached().Where(a => a.BackingFile == file).Select(a => a.Device).FirstOrDefault()
            ?? throw new InvalidOperationException($"{file} is not attached: run `bash hack/fleet.sh up 2`");
    }

    /// <summary>The docker CLI on node-K's engine (the environment `hack/fleet.sh env node-K` prints).</summary>
    public static async Task<(int ExitCode, string Output, string Error)> DockerAsync(int node, params string[] arguments)
    {
        var info = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.Environment["DOCKER_HOST"] = $"tcp://{Address(node)}:2376";
        info.Environment["DOCKER_TLS_VERIFY"] = "1";
        info.Environment["DOCKER_CERT_PATH"] = ClientCertDir;
        info.Environment["DOCKER_API_VERSION"] = "1.41";
        foreach (var part in arguments) info.ArgumentList.Add(part);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("docker did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await output).Trim(), (await error).Trim());
    }

    /// <summary>Removes what the appliance made on node-K for this suite's host (containers, then volumes), by label.</summary>
    public static async Task<int> RemoveOwnedAsync(int node)
    {
        var label = $"label=dbprov.host={HostId(node)}";
        var removed = 0;
        var (_, containers, _) = await DockerAsync(node, "ps", "-aq", "--filter", label);
        foreach (var id in containers.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if ((await DockerAsync(node, "rm", "-f", id)).ExitCode == 0) removed++;
        }

        var (_, volumes, _) = await DockerAsync(node, "volume", "ls", "-q", "--filter", label);
        foreach (var name in volumes.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if ((await DockerAsync(node, "volume", "rm", "-f", name)).ExitCode == 0) removed++;
        }

        return removed;
    }

    /// <summary>Fails with what to run when a node does not answer.</summary>
    public static async Task AssertUpAsync()
    {
        foreach (var node in Nodes)
        {
            var (exit, _, error) = await DockerAsync(node, "version", "--format", "{{.Server.Version}}");
            Assert.That(exit, Is.Zero, $"node-{node} does not answer (run `bash hack/fleet.sh up 2`): {error}");
        }
    }
}
