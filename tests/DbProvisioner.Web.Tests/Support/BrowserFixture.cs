using Microsoft.Playwright;

namespace DbProvisioner.Web.Tests.Support;

/// <summary>
/// A fixture of its own page server and a real headless browser (Debian's chromium driven by Playwright; no browser is
/// downloaded), started once per fixture: each fixture's instances and requests stay out of the others' pages.
/// </summary>
public abstract class BrowserFixture
{
    public const string Chromium = "/usr/bin/chromium";

    private IPlaywright? playwright;

    private protected PageServer Server { get; private set; } = null!;

    protected IBrowser Browser { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        Assert.That(File.Exists(Chromium), Is.True, $"{Chromium} is missing: apt-get install -y chromium (make setup does)");
        Server = await PageServer.StartAsync();
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    /// <summary>A new page of <paramref name="context"/> signed in with <paramref name="key"/>, and every console error it logs from its start.</summary>
    protected async Task<(IPage Page, List<string> ConsoleErrors)> OpenSignedInAsync(IBrowserContext context, string key)
    {
        var page = await context.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") consoleErrors.Add(message.Text); };
        await page.GotoAsync(Server.Url.ToString());
        await page.FillAsync("#api-key", key);
        await page.ClickAsync("#use-key");
        return (page, consoleErrors);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        playwright?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
    }
}
