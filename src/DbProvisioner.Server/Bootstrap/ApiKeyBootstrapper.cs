using DbProvisioner.Api;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Hosting;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Server.Bootstrap;

public enum BootstrapOutcome
{
    /// <summary>Keys already existed; nothing was created or written.</summary>
    KeysAlreadyExist,

    /// <summary>One key per role was created and the CLI config file written.</summary>
    KeysCreated,
}

/// <summary>
/// First run: when the key store has no key at all, creates one key per role and writes the CLI config.
/// Only the store's hashes outlive this call; the plain keys go to the 0600 file and nowhere else (never a log).
/// </summary>
public sealed partial class ApiKeyBootstrapper(
    IApiKeyIssuer issuer,
    IOptions<ServerOptions> server,
    ILogger<ApiKeyBootstrapper> logger)
{
    public async Task<BootstrapOutcome> BootstrapAsync(string clientConfigPath, CancellationToken cancellationToken)
    {
        var path = ClientConfig.ResolvePath(clientConfigPath);
        if (await issuer.AnyKeyExistsAsync(cancellationToken))
        {
            LogKeysExist(logger, path);
            return BootstrapOutcome.KeysAlreadyExist;
        }

        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var role in ApiRoles.All)
        {
            var issued = await issuer.CreateKeyAsync(role, $"bootstrap {role.ToName()} key", cancellationToken);
            keys[role.ToName()] = issued.Key;
            LogKeyCreated(logger, issued.KeyId, role.ToName());
        }

        await ClientConfigFile.WriteAsync(path, new ClientConfig(server.Value.ClientUrl, keys), cancellationToken);
        LogConfigWritten(logger, path);
        return BootstrapOutcome.KeysCreated;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "API keys already exist; not generating any (CLI config expected at {Path})")]
    private static partial void LogKeysExist(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created bootstrap API key {KeyId} with role {Role}")]
    private static partial void LogKeyCreated(ILogger logger, string keyId, string role);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Wrote the API keys to {Path} (mode 0600); it is the only copy of them")]
    private static partial void LogConfigWritten(ILogger logger, string path);
}

/// <summary>Runs the bootstrap as a start-up step when <c>Bootstrap:GenerateKeysOnStart</c> is true.</summary>
internal sealed class ApiKeyBootstrapService(IServiceProvider services, IOptions<BootstrapOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.GenerateKeysOnStart)
        {
            return;
        }

        await services.GetRequiredService<ApiKeyBootstrapper>().BootstrapAsync(options.Value.ClientConfigPath, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
