using System.Text.Json;
using DbProvisioner.Api;

namespace DbProvisioner.Cli.Config;

/// <summary>Reads the config file the server writes at first run (<see cref="ClientConfig"/>, mode 0600).</summary>
public static class CliConfigFile
{
    /// <summary>Reads the file; null when it does not exist. A file that is not valid JSON is a usage error.</summary>
    public static async Task<ClientConfig?> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var fullPath = ClientConfig.ResolvePath(path);
        if (!File.Exists(fullPath))
        {
            return null;
        }

        try
        {
            await using var stream = File.OpenRead(fullPath);
            return await JsonSerializer.DeserializeAsync<ClientConfig>(stream, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            throw new CliUsageException($"The config file {fullPath} is not valid JSON: {e.Message}");
        }
    }
}

/// <summary>Where to send requests and with which key; the key is never printed.</summary>
public sealed record CliConnection(Uri Url, string? Key, string Role, string? ConfigPath)
{
    public override string ToString() => $"CliConnection {{ Url = {Url}, Role = {Role}, Key = {(Key is null ? "none" : "***")} }}";
}

/// <summary>A problem with how dbprov was called or configured (exit code 2); nothing was sent.</summary>
public sealed class CliUsageException(string message) : Exception(message);
