using System.Net;
using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.EndToEnd.Tests.Support;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>
/// Issue 11, spread becomes physical: this machine's engine (host e2e-a; e2e-b, the same engine, cordoned) and the fleet's
/// node-1 and node-2 over mutual TLS in one pool; a 1×3 cluster with hard host spread puts one member on each engine.
/// </summary>
[TestFixture]
public sealed class FleetSpreadTests : E2eFleetFixture
{
    [OneTimeSetUp]
    public async Task OneHostPerEngineAsync()
    {
        // e2e-b is a second slice of this machine's engine: cordoned, so that every engine gets exactly one host.
        using var cordon = await E2e.Admin.PostAsync($"hosts/{E2eLayout.HostB.Id}/cordon", new CordonRequest(true));
        Assert.That(cordon.StatusCode, Is.EqualTo(HttpStatusCode.OK), await cordon.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task A_one_by_three_cluster_with_hard_host_spread_puts_one_member_on_each_engine()
    {
        using var response = await E2e.Requester.PostAsync("clusters",
            new CreateClusterRequest("e2e-fleet", E2eLayout.Pool, 1, 3, SpreadSpec.HostHard, E2eRequests.Template()));
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
        var cluster = JsonSerializer.Deserialize<ClusterView>(body, ApiClient.Json)!;
        var engines = new[] { E2eLayout.HostA.Id, E2eFleet.HostId(1), E2eFleet.HostId(2) };
        Assert.That(cluster.Members.Select(m => m.Host), Is.EquivalentTo(engines), body);

        var members = new List<InstanceView>();
        foreach (var member in cluster.Members)
        {
            members.Add(await ApiClient.WaitSettledAsync(E2e.Requester, member.InstanceId, TimeSpan.FromSeconds(150)));
        }

        // Request → Ready per member, from the instance's own step timings: the fleet's engines against this machine's.
        foreach (var m in members.OrderBy(m => m.Host, StringComparer.Ordinal))
        {
            var readyAt = m.Steps.LastOrDefault(s => s.Step == "Ready")?.At;
            var took = readyAt is { } at ? $"{(at - m.CreatedAt).TotalSeconds:F2} s" : "not Ready";
            await TestContext.Progress.WriteLineAsync($"[fleet] request → Ready on {m.Host} ({(m.Host == E2eLayout.HostA.Id ? "local" : "fleet")}): {took}; {E2eRequests.Describe(m)}");
        }

        Assert.That(members.Select(m => m.State), Is.All.EqualTo("Ready"), string.Join("\n", members.Select(E2eRequests.Describe)));
        foreach (var m in members)
        {
            // MySQL answers on the host's own address with the password the appliance returns.
            var credentials = await E2e.Requester.GetOkAsync<CredentialsView>($"instances/{m.Id}/credentials");
            var node = E2eFleet.NodeOf(m.Host!);
            var address = node is { } k ? FleetNodes.Address(k) : "127.0.0.1";
            Assert.That(credentials.Host, Is.EqualTo(address), $"{m.Id} on {m.Host}");
            Assert.That(await E2eRequests.SelectOneAsync(credentials), Is.EqualTo(1), $"{m.Id} on {m.Host}");

            // The container is on that engine, labelled for that host.
            var name = DockerEngine.ContainerName(m.Id);
            var (exit, output, error) = node is { } n
                ? await FleetNodes.DockerAsync(n, "inspect", "--format", "{{index .Config.Labels \"dbprov.host\"}} {{.State.Running}}", name)
                : await DockerEngine.CliAsync("inspect", "--format", "{{index .Config.Labels \"dbprov.host\"}} {{.State.Running}}", name);
            Assert.That(exit, Is.Zero, $"{name} on {m.Host}'s engine: {error}");
            Assert.That(output, Is.EqualTo($"{m.Host} true"), $"{name} on {m.Host}'s engine");
        }

        // No node runs a second member: each holds exactly its own instance container.
        foreach (var node in FleetNodes.Nodes)
        {
            var (_, names, _) = await FleetNodes.DockerAsync(node, "ps", "--format", "{{.Names}}", "--filter", $"label=dbprov.host={E2eFleet.HostId(node)}", "--filter", "label=dbprov.instance");
            var own = members.Where(m => m.Host == E2eFleet.HostId(node)).Select(m => DockerEngine.ContainerName(m.Id));
            Assert.That(names.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EquivalentTo(own), $"node-{node}");
        }
    }
}
