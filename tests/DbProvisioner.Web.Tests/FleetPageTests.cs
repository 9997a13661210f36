using System.Net.Http.Json;
using System.Text.Json;
using DbProvisioner.Web.Tests.Support;
using Microsoft.Playwright;

namespace DbProvisioner.Web.Tests;

/// <summary>The page's fleet summary: each host with its health and the drift count of its inspection, the fixes on hover.</summary>
[TestFixture]
[Category("Browser")]
[NonParallelizable]
public sealed class FleetPageTests : BrowserFixture
{
    [Test]
    public async Task The_fleet_table_shows_the_drift_of_a_cpuset_changed_by_hand_and_none_on_a_clean_host()
    {
        var drifting = await Server.RegisterHostAsync("web-drift", "web-fleet-a");
        var clean = await Server.RegisterHostAsync("web-clean", "web-fleet-b");
        var instance = await Server.CreateReadyInstanceAsync("web-fleet-a");
        using var viewer = Server.Client(PageServer.ViewerKey);
        var cpus = (await viewer.GetFromJsonAsync<JsonElement>($"/api/v1/instances/{instance}")).GetProperty("cpuSet").GetString();
        Server.Hosts.Host(drifting).UpdateCpusetByHand(instance, cpus == "3" ? "1" : "3");

        await using var context = await Browser.NewContextAsync();
        var (page, consoleErrors) = await OpenSignedInAsync(context, PageServer.ViewerKey);

        var driftRow = page.Locator($"#fleet-table tr[data-fleet-host='{drifting}']");
        var cleanRow = page.Locator($"#fleet-table tr[data-fleet-host='{clean}']");
        await Assertions.Expect(driftRow.Locator(".drift.some")).ToHaveTextAsync("1 drift");
        await Assertions.Expect(driftRow.Locator(".drift.some")).ToHaveAttributeAsync("title", new System.Text.RegularExpressions.Regex($"docker update --cpuset-cpus {cpus} dbprov-{instance}"));
        await Assertions.Expect(driftRow).ToContainTextAsync("healthy");
        await Assertions.Expect(driftRow).ToContainTextAsync("image present"); // the engine holds dbprov/mysql: the host takes instances
        await Assertions.Expect(cleanRow.Locator(".drift.none")).ToHaveTextAsync("none");
        Assert.That(consoleErrors, Is.Empty);
    }
}
