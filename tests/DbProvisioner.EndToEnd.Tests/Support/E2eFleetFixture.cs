using System.Diagnostics;
using System.Net;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// A deployment with the fleet's node-1 and node-2 registered too (hosts e2e-node-1 and e2e-node-2 in the suite's pool,
/// disks Ready); what an earlier, killed run left on the nodes is removed before, and what this one made after.
/// </summary>
[Category("Fleet")]
public abstract class E2eFleetFixture : E2eFixture
{
    private static readonly TimeSpan NodeDisksReady = TimeSpan.FromMinutes(3);

    [OneTimeSetUp]
    public async Task RegisterFleetAsync()
    {
        await FleetNodes.RequireUpAsync();
        foreach (var node in FleetNodes.Nodes) await E2eFleet.RemoveOwnedAsync(node);
        foreach (var node in FleetNodes.Nodes)
        {
            var watch = Stopwatch.StartNew();
            using var response = await E2e.Admin.PostAsync("hosts", E2eFleet.Registration(node));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
            await TestContext.Progress.WriteLineAsync($"[fleet] registered {E2eFleet.HostId(node)} in {watch.Elapsed.TotalSeconds:F1} s");
        }

        var ready = await Eventually.PollAsync(
            () => Task.WhenAll(FleetNodes.Nodes.Select(n => E2e.Admin.GetHostAsync(E2eFleet.HostId(n)))),
            hosts => hosts.All(h => h.Disks.Count == 1 && h.Disks[0].State == "Ready"), NodeDisksReady, TimeSpan.FromSeconds(1));
        Assert.That(ready.Met, Is.True, "node disks: " + string.Join(", ", ready.Last.SelectMany(h => h.Disks.Select(d => $"{h.Id}:{d.Device}={d.State} {d.Error}"))));
    }

    [OneTimeTearDown]
    public async Task RemoveFromNodesAsync()
    {
        foreach (var node in FleetNodes.Nodes)
        {
            await TestContext.Progress.WriteLineAsync($"[fleet] removed {await E2eFleet.RemoveOwnedAsync(node)} containers/volumes from node-{node}");
        }
    }

    /// <summary>Cordons every host of the deployment but <paramref name="open"/>, which it uncordons: placement can only choose among those.</summary>
    protected async Task OpenOnlyAsync(params string[] open)
    {
        foreach (var host in E2eLayout.HostIds.Concat(FleetNodes.Nodes.Select(E2eFleet.HostId)))
        {
            using var response = await E2e.Admin.PostAsync($"hosts/{host}/cordon", new Api.CordonRequest(!open.Contains(host)));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"cordon {host}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
