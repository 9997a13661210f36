using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using DbProvisioner.Persistence.Storage;
using DbProvisioner.Server.Tests.Support;
using DbProvisioner.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Providers;
using Orleans.Storage;

namespace DbProvisioner.Server.Tests.Hosting;

[TestFixture]
[Category("Fast")]
public sealed class OptionsValidationTests
{
    [TestCase("Server:Url", "ftp://127.0.0.1:21")]
    [TestCase("Server:Url", "not a url")]
    [TestCase("Server:PublicUrl", "http://host/with/path")]
    [TestCase("Log:RetainedFileCount", "0")]
    public void Invalid_options_stop_the_server_at_start(string key, string value)
    {
        var error = Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = await ShellApp.StartAsync(settings: new Dictionary<string, string> { [key] = value });
        });

        Assert.That(error!.Message, Does.Contain(key.Split(':')[1]));
    }
}

/// <summary>Boots the real Orleans silo in-process (localhost clustering) and checks that /healthz sees it Active.</summary>
[TestFixture]
[Category("Silo")]
public sealed class SiloHealthTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Healthz_reports_the_local_silo_active()
    {
        await using var app = await ShellApp.StartAsync(settings: new Dictionary<string, string>
        {
            ["Silo:Enabled"] = "true",
            ["Silo:SiloPort"] = TestPorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Silo:GatewayPort"] = TestPorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Storage is wired (checked below) but not touched: no grain runs here, so no meta DB is needed.
            ["GrainStorage:MigrateOnStart"] = "false",
        });

        var storage = app.Services.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);
        Assert.That(storage, Is.TypeOf<MySqlGrainStorage>(), "the server's grain storage is the meta DB, never in-memory");

        using var response = await app.CreateClient().GetAsync("/healthz");
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var silo = JsonDocument.Parse(body).RootElement.GetProperty("checks").GetProperty("silo");
        Assert.That(silo.GetProperty("data").GetProperty("status").GetString(), Is.EqualTo("Active"));
    }
}
