using DbProvisioner.Api;
using DbProvisioner.Server.Hosting;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Server.Bootstrap;

/// <summary>
/// <c>DbProvisioner.Server bootstrap-keys [--config PATH]</c>: creates one API key per role when none exists and
/// writes the CLI config (mode 0600). Starts neither the silo nor Kestrel. Exit 0 done or keys exist, 2 usage, 1 failure.
/// </summary>
internal static class BootstrapCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? configPath = null;
        var settings = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                configPath = args[++i];
            }
            else if (args[i] is "-h" or "--help")
            {
                await Console.Out.WriteLineAsync("Usage: DbProvisioner.Server bootstrap-keys [--config ~/.config/dbprov/config.json] [--Section:Key=value ...]");
                return 0;
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && args[i].Contains(':', StringComparison.Ordinal))
            {
                settings.Add(args[i]);
            }
            else
            {
                await Console.Error.WriteLineAsync($"bootstrap-keys: unexpected argument '{args[i]}'.");
                return 2;
            }
        }

        var builder = WebApplication.CreateBuilder([.. settings, "--Silo:Enabled=false", "--Bootstrap:GenerateKeysOnStart=false"]);
        builder.AddDbProvisionerServer();
        builder.Configuration.AddCommandLine([.. settings, "--Silo:Enabled=false", "--Bootstrap:GenerateKeysOnStart=false"]);
        await using var app = builder.Build();

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var path = configPath ?? app.Services.GetRequiredService<IOptions<BootstrapOptions>>().Value.ClientConfigPath;
        BootstrapOutcome outcome;
        try
        {
            outcome = await app.Services.GetRequiredService<ApiKeyBootstrapper>().BootstrapAsync(path, cancel.Token);
        }
        catch (Exception e) when (e is MySqlConnector.MySqlException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"bootstrap-keys: {e.Message}");
            return 1;
        }

        await Console.Out.WriteLineAsync(outcome == BootstrapOutcome.KeysCreated
            ? $"Created one API key per role and wrote them to {ClientConfig.ResolvePath(path)} (mode 0600)."
            : "API keys already exist; nothing was created. The existing keys are in the CLI config written at first run.");
        return 0;
    }
}
