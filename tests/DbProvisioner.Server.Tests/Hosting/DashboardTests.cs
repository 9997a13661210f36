using System.Net;
using System.Text.Json;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Hosting;
using DbProvisioner.Server.Tests.Support;
using DbProvisioner.Testing;

namespace DbProvisioner.Server.Tests.Hosting;

/// <summary>The Orleans Dashboard under /admin/dashboard: the page and its data for an admin key, nothing for anyone else.</summary>
[TestFixture]
[Category("Silo")]
public sealed class DashboardTests
{
    private ShellApp app = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => (app, _) = await GrainApp.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    [Test]
    public async Task An_admin_gets_the_page_and_the_cluster_counters()
    {
        var admin = app.CreateClient(FakeApiKeyVerifier.Admin);

        using var page = await admin.GetAsync(ServerComposition.DashboardPath + "/index.html");
        using var counters = await admin.GetAsync(ServerComposition.DashboardPath + "/DashboardCounters");
        var pageBody = await page.Content.ReadAsStringAsync();
        var countersBody = await counters.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK), pageBody);
            Assert.That(page.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(counters.StatusCode, Is.EqualTo(HttpStatusCode.OK), countersBody);
        });
        // The one silo of this process shows up in the counters (sampled every second), so the dashboard reads the live cluster.
        var silos = await Eventually.UntilAsync(
            async () => ActiveSilos(await admin.GetStringAsync(ServerComposition.DashboardPath + "/DashboardCounters")),
            count => count == 1, TimeSpan.FromSeconds(15), "the dashboard to count this process's silo");
        Assert.That(silos, Is.EqualTo(1));
    }

    [TestCase(FakeApiKeyVerifier.Viewer, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Requester, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Approver, HttpStatusCode.Forbidden)]
    [TestCase(null, HttpStatusCode.Unauthorized)]
    [TestCase("not-a-key", HttpStatusCode.Unauthorized)]
    public async Task Anyone_but_an_admin_gets_nothing(string? key, HttpStatusCode expected)
    {
        var client = app.CreateClient(key);

        foreach (var path in new[] { "/index.html", "/DashboardCounters", "/ClusterStats" })
        {
            using var response = await client.GetAsync(ServerComposition.DashboardPath + path);
            Assert.That(response.StatusCode, Is.EqualTo(expected), path);
        }
    }

    [Test]
    public async Task A_browser_opens_it_with_the_session_cookie_an_admin_key_was_traded_for_and_only_there()
    {
        using var issued = await app.CreateClient(FakeApiKeyVerifier.Admin).PostAsync(DashboardSession.IssuePath, content: null);
        Assert.That(issued.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await issued.Content.ReadAsStringAsync());
        var setCookie = issued.Headers.GetValues("Set-Cookie").Single();
        Assert.Multiple(() =>
        {
            Assert.That(setCookie, Does.StartWith(DashboardSession.CookieName + "="));
            Assert.That(setCookie, Does.Contain("path=" + ServerComposition.DashboardPath).IgnoreCase, "scoped to the dashboard, never sent to the API");
            Assert.That(setCookie, Does.Contain("httponly").IgnoreCase, "out of reach of scripts");
            Assert.That(setCookie, Does.Contain("samesite=strict").IgnoreCase);
            Assert.That(setCookie, Does.Not.Contain(FakeApiKeyVerifier.Admin), "the ticket does not carry the key");
        });
        var cookie = setCookie.Split(';')[0];

        // What a browser sends when it follows the web page's link: the cookie, no Authorization header.
        async Task<HttpStatusCode> GetWithCookieAsync(string path, string cookieHeader)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Cookie", cookieHeader);
            using var response = await app.CreateClient(key: null).SendAsync(request);
            return response.StatusCode;
        }
        var tampered = cookie[..^4] + (cookie[^4..] == "AAAA" ? "BBBB" : "AAAA");
        Assert.Multiple(async () =>
        {
            Assert.That(await GetWithCookieAsync(ServerComposition.DashboardPath + "/index.html", cookie), Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await GetWithCookieAsync(ServerComposition.DashboardPath + "/DashboardCounters", cookie), Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await GetWithCookieAsync("/api/v1/whoami", cookie), Is.EqualTo(HttpStatusCode.Unauthorized), "the API takes keys only");
            Assert.That(await GetWithCookieAsync(ServerComposition.DashboardPath + "/index.html", tampered), Is.EqualTo(HttpStatusCode.Unauthorized));
        });
    }

    [TestCase(FakeApiKeyVerifier.Viewer, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Approver, HttpStatusCode.Forbidden)]
    [TestCase(null, HttpStatusCode.Unauthorized)]
    public async Task Only_an_admin_key_gets_a_dashboard_session(string? key, HttpStatusCode expected)
    {
        using var response = await app.CreateClient(key).PostAsync(DashboardSession.IssuePath, content: null);

        Assert.That(response.StatusCode, Is.EqualTo(expected));
        Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
    }

    [Test]
    public async Task The_dashboard_is_not_in_the_API_document()
    {
        var document = await app.CreateClient(key: null).GetStringAsync("/openapi/v1.json");

        Assert.That(JsonDocument.Parse(document).RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name),
            Has.None.StartsWith(ServerComposition.DashboardPath));
    }

    private static int ActiveSilos(string counters) =>
        JsonDocument.Parse(counters).RootElement.EnumerateObject()
            .Single(p => p.Name.Equals("totalActiveHostCount", StringComparison.OrdinalIgnoreCase)).Value.GetInt32();
}
