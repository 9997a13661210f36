using System.Net.Http.Headers;
using DbProvisioner.Server.Api;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace DbProvisioner.Server.Tests.Support;

/// <summary>The real Program with the silo off (HTTP-shell tests only), no file log and the fake key verifier.</summary>
internal sealed class ServerFactory : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in TestSettings.HttpShell)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services => services.AddSingleton<IApiKeyVerifier, FakeApiKeyVerifier>());
    }

    public HttpClient CreateClient(string? key)
    {
        var client = CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }
}

internal static class TestSettings
{
    public static readonly IReadOnlyDictionary<string, string> HttpShell = new Dictionary<string, string>
    {
        ["Silo:Enabled"] = "false",
        ["Bootstrap:GenerateKeysOnStart"] = "false",
        ["Log:Directory"] = string.Empty,
        ["Log:MinimumLevel"] = "Warning",
    };
}

/// <summary>
/// The same composition as Program (AddDbProvisionerServer / UseDbProvisionerServer / MapApiV1) on a TestServer,
/// plus test-only endpoints in the /api/v1 group.
/// </summary>
internal sealed class ShellApp : IAsyncDisposable
{
    private readonly WebApplication app;

    private ShellApp(WebApplication app) => this.app = app;

    public IServiceProvider Services => app.Services;

    public static async Task<ShellApp> StartAsync(
        Action<RouteGroupBuilder>? mapTestEndpoints = null,
        IReadOnlyDictionary<string, string>? settings = null,
        Action<IServiceCollection>? services = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var merged = new Dictionary<string, string>(TestSettings.HttpShell);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            merged[key] = value;
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Testing",
            Args = merged.Select(s => $"--{s.Key}={s.Value}").ToArray(),
        });
        builder.WebHost.UseTestServer();
        builder.AddDbProvisionerServer();
        builder.Services.AddSingleton<IApiKeyVerifier, FakeApiKeyVerifier>();
        services?.Invoke(builder.Services);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseDbProvisionerServer();
        var api = app.MapApiV1();
        mapTestEndpoints?.Invoke(api);
        var shell = new ShellApp(app);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            // A host that failed before its hosted services started cannot be stopped; the start failure is what matters.
            await app.DisposeAsync();
            throw;
        }

        return shell;
    }

    /// <summary>A handler into the TestServer, for the CLI's HTTP client.</summary>
    public HttpMessageHandler CreateHandler() => app.GetTestServer().CreateHandler();

    public HttpClient CreateClient(string? key = null)
    {
        var client = app.GetTestClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
