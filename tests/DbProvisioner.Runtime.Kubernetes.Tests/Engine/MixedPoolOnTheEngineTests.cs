using System.Diagnostics;
using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Runtime.Kubernetes.Tests.Runtime;
using DbProvisioner.Testing;
using k8s.Models;
using MySqlConnector;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Engine;

/// <summary>
/// The issue's "done when": one pool of the REAL local Docker engine and a fake Kubernetes node serves one cluster with a
/// member on each runtime, and its removal through the scale-down gate leaves nothing on the engine. Owns the test
/// pool's disk-03 (a Runtime.Docker disk: that suite runs before this one, never at the same time under the engine lock)
/// and leaves it Ready (wiped and re-formatted); instance ids start with "kmix-".
/// </summary>
[Category("Engine")]
public sealed class MixedPoolOnTheEngineTests
{
    private const string PoolDisk = "disk-03";
    private const string DiskClass = "ssd";
    private const string DockerSocket = "unix:///var/run/docker.sock";
    private static readonly TimeSpan Settle = TimeSpan.FromMinutes(3);

    private static IClusterClient Client => MixedEngineSilo.Client;

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    [Test]
    [CancelAfter(600_000)]
    public async Task A_cluster_in_a_pool_of_the_local_engine_and_a_node_has_a_real_mysql_and_a_pod_and_leaves_nothing_after_removal()
    {
        var pool = NewId("kmix");
        var device = TestDisks.Resolve(PoolDisk);
        var port = TestPorts.Next();
        var local = await RegisterAsync(new RegisterHostRequest(NewId("kmix-local"), DockerSocket, "zone-a", "rack-local", pool,
            [new DiskSpec(device, 2, DiskClass)], "0", new PortRangeSpec(port, port), MySqlAddress: "127.0.0.1", Watermarks: [new WatermarkSpec(DiskClass, 1, 0)]));
        var nodePorts = TestPorts.Next();
        var node = await RegisterAsync(new RegisterHostRequest(NewId("kmix-node"), $"k8s://{FakeCluster.Name}/node-a", "zone-a", "rack-node", pool,
            [new DiskSpec("/dev/kmix-node-0", 100, DiskClass)], null, new PortRangeSpec(nodePorts, nodePorts + 9), MySqlAddress: "10.0.0.7",
            Watermarks: [new WatermarkSpec(DiskClass, 1, 0)]));
        var name = NewId("kmix");
        var template = new InstanceSpec(name, "", "primary", 1, 512, 0, 1, 1, DiskClass, NumaPolicy.Preferred, pool, SpreadSpec.HostHard);
        var request = new CreateClusterRequest(name, pool, 1, 2, SpreadSpec.HostHard, new InstanceTemplateSpec(1, 512, 0, 1, DiskClass, NumaPolicy.Preferred, 1));
        string? onEngine = null;
        try
        {
            var created = await Client.GetGrain<IClusterGrain>(name).CreateAsync(request, template, "tester");
            Assert.That(created.Ok, Is.True, created.Error);
            var members = created.Value!.Members;
            onEngine = members.SingleOrDefault(m => m.Host == local.Id)?.InstanceId;
            foreach (var member in members)
            {
                var view = await Client.GetGrain<IInstanceGrain>(member.InstanceId).WaitSettledAsync(Settle);
                Assert.That(view!.State, Is.EqualTo("Ready"), $"{member.InstanceId} on {member.Host}: {view.Reason}");
            }

            var onNode = members.Single(m => m.Host == node.Id).InstanceId;
            var credentials = (await Client.GetGrain<IInstanceGrain>(onEngine!).GetCredentialsAsync())!;
            await Assert.MultipleAsync(async () =>
            {
                Assert.That(members.Select(m => m.Host), Is.EquivalentTo(new[] { local.Id, node.Id }), "hard spread by host: one member on each runtime");
                Assert.That(credentials.Port, Is.EqualTo(port));
                Assert.That(await ServerVersionAsync(credentials), Does.Contain("MariaDB"), "the member on the engine is a real MySQL answering the returned password");
                Assert.That(await EngineAsync("ps", "-q", "--filter", $"label=dbprov.instance={onEngine}", "--filter", "status=running"), Is.Not.Empty, "its container runs on the local engine");
                Assert.That(MixedEngineSilo.Fake.Server.Objects<V1Pod>("pods").Single(p => p.Metadata.Name == $"dbprov-{onNode}").Spec.NodeName, Is.EqualTo("node-a"));
                Assert.That(MixedEngineSilo.Fake.Server.Objects<V1Pod>("pods").Where(p => p.Metadata.Name == $"dbprov-{onEngine}"), Is.Empty, "the engine's member is no pod");
            });

            foreach (var member in members) await RemoveThroughTheGateAsync(member.InstanceId);

            await Eventually.UntilAsync(async () => (await Client.GetGrain<IHostGrain>(local.Id).GetAsync())!.Disks.Single().State, s => s == "Ready", Settle,
                "the engine's released disk to be wiped and Ready again");
            await Assert.MultipleAsync(async () =>
            {
                Assert.That(await EngineAsync("ps", "-aq", "--filter", $"label=dbprov.instance={onEngine}"), Is.Empty, "no container of the member is left");
                Assert.That(await EngineAsync("volume", "ls", "-q", "--filter", $"label=dbprov.instance={onEngine}"), Is.Empty, "no volume of the member is left");
                Assert.That(await EngineAsync("ps", "-aq", "--filter", $"label=dbprov.host={local.Id}"), Is.Empty, "no helper of the host is left");
                Assert.That(MixedEngineSilo.Fake.Server.Objects<V1Pod>("pods").Where(p => p.Metadata.Name == $"dbprov-{onNode}"), Is.Empty);
            });
        }
        finally
        {
            if (onEngine is not null) await RemoveLeftoversAsync(onEngine);
        }
    }

    private static async Task<HostView> RegisterAsync(RegisterHostRequest request)
    {
        var outcome = await Client.GetGrain<IHostGrain>(request.Id!).RegisterAsync(request);
        Assert.That(outcome.Ok, Is.True, $"register {request.Id}: {outcome.Error}");
        await Client.GetGrain<IDiskPoolGrain>(request.Id!).RunUntilIdleAsync();
        var placement = Client.GetGrain<IPlacementGrain>(request.Pool!);
        await Eventually.UntilAsync(async () => (await placement.SnapshotAsync()).SingleOrDefault(h => h.HostId == request.Id)?.ReadyDisks.Sum(static d => d.Count),
            ready => ready == request.Disks!.Count, Settle, $"the placement index to see the Ready disks of {request.Id}");
        return (await Client.GetGrain<IHostGrain>(request.Id!).GetAsync())!;
    }

    /// <summary>A scale-down request, approved by someone else with its blocking risks acknowledged, until Removed.</summary>
    private static async Task RemoveThroughTheGateAsync(string instanceId)
    {
        var gate = Client.GetGrain<IScaleDownGrain>(NewId("sd"));
        var created = await gate.CreateAsync(instanceId, "requester-key");
        Assert.That(created.Ok, Is.True, created.Error);
        var risks = created.Value!.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToList();
        Assert.That((await gate.ApproveAsync("approver-key", risks)).Ok, Is.True);
        var settled = await gate.WaitSettledAsync(Settle);
        Assert.That(settled!.State, Is.EqualTo("Removed"), string.Join(" | ", settled.Steps.Select(static s => $"{s.Step}: {s.Outcome}")));
    }

    private static async Task<string> ServerVersionAsync(CredentialsView credentials)
    {
        await using var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = credentials.Host, Port = (uint)credentials.Port, UserID = credentials.User, Password = credentials.Password, Pooling = false, ConnectionTimeout = 5,
        }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand("SELECT VERSION()", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The docker CLI's output lines, as a DBA would check what is on the engine.</summary>
    private static async Task<string[]> EngineAsync(params string[] args)
    {
        var start = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOCKER_API_VERSION"] = "1.41";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.That(process.ExitCode, Is.Zero, $"docker {string.Join(' ', args)}: {await error}");
        return (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>After a failed run only: what this test's member left on the engine, so that the next suite finds disk-03 free.</summary>
    private static async Task RemoveLeftoversAsync(string instanceId)
    {
        foreach (var container in await EngineAsync("ps", "-aq", "--filter", $"label=dbprov.instance={instanceId}")) await EngineAsync("rm", "-f", container);
        foreach (var volume in await EngineAsync("volume", "ls", "-q", "--filter", $"label=dbprov.instance={instanceId}")) await EngineAsync("volume", "rm", "-f", volume);
    }
}
