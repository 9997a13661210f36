using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DbProvisioner.Web.Tests.Support;
using Microsoft.Playwright;

namespace DbProvisioner.Web.Tests;

/// <summary>
/// The operator page in a real headless browser (Debian's chromium, driven by Playwright; no browser is downloaded):
/// an approver opens the page, enters a key, sees the pending request with its risks, approves it and watches the instance go.
/// </summary>
[TestFixture]
[Category("Browser")]
[NonParallelizable]
public sealed class ApprovalPageTests : BrowserFixture
{
    private const string Pool = "web-pool";

    [Test]
    public async Task An_approver_approves_a_pending_request_on_the_page_and_the_instance_disappears()
    {
        var hostId = await Server.RegisterHostAsync("web-host", Pool);
        var instance = await Server.CreateReadyInstanceAsync(Pool);
        using var requester = Server.Client(PageServer.RequesterKey);
        using var deleted = await requester.DeleteAsync($"/api/v1/instances/{instance}");
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await deleted.Content.ReadAsStringAsync());
        var request = await deleted.Content.ReadFromJsonAsync<JsonElement>();
        var requestId = request.GetProperty("id").GetString()!;

        await using var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") consoleErrors.Add(message.Text); };
        var response = await page.GotoAsync(Server.Url.ToString());
        Assert.That(response?.Status, Is.EqualTo(200), "the page itself needs no key");

        await page.FillAsync("#api-key", PageServer.ApproverKey);
        await page.ClickAsync("#use-key");
        await Assertions.Expect(page.Locator("#whoami")).ToHaveTextAsync("web-approver (approver)");

        var row = page.Locator($"tr[data-request='{requestId}']");
        await Assertions.Expect(row).ToBeVisibleAsync();
        await Assertions.Expect(row.Locator(".risk.blocking[data-code='last-member']")).ToBeVisibleAsync();
        await Assertions.Expect(row).ToContainTextAsync(instance);
        // The CPU map shows which instance holds which core, and the reserved core.
        var heldCores = page.Locator($"[data-host='{hostId}'] .core.held[data-instance='{instance}']");
        await Assertions.Expect(heldCores).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator($"[data-host='{hostId}'] .core.reserved")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator($"[data-host='{hostId}'] [data-swap]")).ToHaveTextAsync("swap 2048 of 2048 MiB free for instances (host has 2048 MiB)");
        await Assertions.Expect(page.Locator($"#instance-table tr[data-instance='{instance}']")).ToHaveCountAsync(1);

        await row.Locator("button.approve").ClickAsync();
        var dialog = page.Locator("#approve-dialog");
        await Assertions.Expect(dialog).ToBeVisibleAsync();
        await Assertions.Expect(dialog.Locator("li.blocking[data-code='last-member']")).ToBeVisibleAsync();
        await dialog.Locator("#approve-confirm").ClickAsync();

        await Assertions.Expect(page.Locator("#notice")).ToContainTextAsync($"Approved {requestId}");
        await Assertions.Expect(row).ToHaveCountAsync(0, new() { Timeout = 20_000 });
        await Assertions.Expect(heldCores).ToHaveCountAsync(0, new() { Timeout = 20_000 });
        await Assertions.Expect(page.Locator($"#instance-table tr[data-instance='{instance}']")).ToHaveCountAsync(0, new() { Timeout = 20_000 });
        await Assertions.Expect(page.Locator("#error")).ToBeHiddenAsync();

        var key = await page.EvaluateAsync<string?>("() => sessionStorage.getItem('dbprov.key')");
        var persisted = await page.EvaluateAsync<int>("() => localStorage.length");
        var view = await requester.GetFromJsonAsync<JsonElement>($"/api/v1/scale-downs/{requestId}");
        Assert.Multiple(() =>
        {
            Assert.That(key, Is.EqualTo(PageServer.ApproverKey), "the key lives in the tab's sessionStorage");
            Assert.That(persisted, Is.Zero, "nothing in localStorage");
            Assert.That(view.GetProperty("state").GetString(), Is.EqualTo("Removed"));
            Assert.That(view.GetProperty("decision").GetProperty("by").GetString(), Is.EqualTo("web-approver"));
            Assert.That(view.GetProperty("decision").GetProperty("acknowledged").EnumerateArray().Select(a => a.GetString()), Does.Contain("last-member"));
            Assert.That(Server.Hosts.Host(hostId).Removals, Is.EqualTo(new[] { instance }));
            Assert.That(Server.Audit.Events.Select(e => e.Action), Does.Contain("scale-down.approve").And.Contain("removal.Removed"));
            Assert.That(consoleErrors, Is.Empty);
        });
    }

    [Test]
    public async Task The_requester_sees_the_gate_refuse_their_own_approval_as_a_problem_on_the_page()
    {
        await Server.RegisterHostAsync("web-host-b", Pool);
        var instance = await Server.CreateReadyInstanceAsync(Pool);
        using var admin = Server.Client(PageServer.AdminKey);
        using var deleted = await admin.DeleteAsync($"/api/v1/instances/{instance}");
        var requestId = (await deleted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        await using var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(Server.Url.ToString());
        await page.FillAsync("#api-key", PageServer.AdminKey);
        await page.ClickAsync("#use-key");
        var row = page.Locator($"tr[data-request='{requestId}']");
        await row.Locator("button.approve").ClickAsync();
        await page.Locator("#approve-confirm").ClickAsync();

        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("Forbidden (403)");
        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("requester");
        await Assertions.Expect(row).ToBeVisibleAsync();
        using var viewer = Server.Client(PageServer.ViewerKey);
        var view = await viewer.GetFromJsonAsync<JsonElement>($"/api/v1/scale-downs/{requestId}");
        Assert.That(view.GetProperty("state").GetString(), Is.EqualTo("Pending"));
    }
}
