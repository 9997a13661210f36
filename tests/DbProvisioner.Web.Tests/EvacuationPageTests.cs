using System.Net.Http.Json;
using System.Text.Json;
using DbProvisioner.Testing;
using DbProvisioner.Web.Tests.Support;
using Microsoft.Playwright;

namespace DbProvisioner.Web.Tests;

/// <summary>The operator page's host actions in a real headless browser: an admin evacuates a host and watches each instance reach the gate.</summary>
[TestFixture]
[Category("Browser")]
[NonParallelizable]
public sealed class EvacuationPageTests : BrowserFixture
{
    [Test]
    public async Task An_admin_evacuates_a_host_on_the_page_and_sees_each_instance_reach_the_gate()
    {
        const string pool = "web-evacuate-pool";
        var from = await Server.RegisterHostAsync("web-evac-a", pool);
        var instance = await Server.CreateReadyInstanceAsync(pool);
        var to = await Server.RegisterHostAsync("web-evac-b", pool);
        using var viewer = Server.Client(PageServer.ViewerKey);
        await Eventually.UntilAsync(() => viewer.GetFromJsonAsync<JsonElement>($"/api/v1/hosts/{to}"),
            static host => host.GetProperty("disks").EnumerateArray().All(static d => d.GetProperty("state").GetString() == "Ready"),
            TimeSpan.FromSeconds(30), $"the disks of {to} to be Ready");

        await using var context = await Browser.NewContextAsync();
        var (page, consoleErrors) = await OpenSignedInAsync(context, PageServer.AdminKey);
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync(); // the "Evacuate host …?" confirmation

        await page.Locator($"button.evacuate[data-host='{from}']").ClickAsync();

        await Assertions.Expect(page.Locator("#notice")).ToContainTextAsync($"Evacuation of {from} started");
        var progress = page.Locator($"[data-evacuation='{from}'] tr[data-instance='{instance}']");
        await Assertions.Expect(progress).ToContainTextAsync(to, new() { Timeout = 20_000 });
        await Assertions.Expect(progress).ToContainTextAsync("AwaitingApproval", new() { Timeout = 20_000 });
        await Assertions.Expect(page.Locator($"[data-host='{from}'] h4")).ToContainTextAsync("(cordoned)");
        await Assertions.Expect(page.Locator($"button.cordon[data-host='{from}']")).ToHaveTextAsync("Uncordon");
        await Assertions.Expect(page.Locator($"tr[data-instance='{instance}'][data-request]")).ToHaveCountAsync(1, new() { Timeout = 20_000 });
        var evacuation = await viewer.GetFromJsonAsync<JsonElement>($"/api/v1/hosts/{from}/evacuation");
        Assert.Multiple(() =>
        {
            Assert.That(evacuation.GetProperty("requestedBy").GetString(), Is.EqualTo("web-admin"));
            Assert.That(evacuation.GetProperty("instances")[0].GetProperty("scaleDownState").GetString(), Is.EqualTo("Pending"), "removal waits for a second person");
            Assert.That(Server.Hosts.Host(from).Running.Keys, Has.Member(instance), "nothing removed before approval");
            Assert.That(consoleErrors, Is.Empty);
        });
    }

    [Test]
    public async Task A_cordoned_host_that_was_never_evacuated_shows_no_evacuation_and_no_console_error()
    {
        var host = await Server.RegisterHostAsync("web-cordoned", "web-cordoned-pool");
        using (var admin = Server.Client(PageServer.AdminKey))
        using (var cordon = await admin.PostAsync($"/api/v1/hosts/{host}/cordon", PageServer.Json("""{"cordoned":true}""")))
        {
            Assert.That(cordon.IsSuccessStatusCode, Is.True, await cordon.Content.ReadAsStringAsync());
        }

        await using var context = await Browser.NewContextAsync();
        var (page, consoleErrors) = await OpenSignedInAsync(context, PageServer.ViewerKey);

        // The host list is drawn after the page looked for evacuations.
        await Assertions.Expect(page.Locator($"[data-host='{host}'] h4")).ToContainTextAsync("(cordoned)");
        await Assertions.Expect(page.Locator($"[data-evacuation='{host}']")).ToHaveCountAsync(0);
        Assert.That(consoleErrors, Is.Empty);
    }
}
