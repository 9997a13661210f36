using System.Text.Json;
using System.Text.Json.Serialization;

namespace DbProvisioner.Cli.Config;

/// <summary>The file the server writes at first run: <c>{"url": "...", "keys": {"viewer": "...", ...}}</c> (mode 0600).</summary>
public sealed record CliConfigFile(
    [property: JsonPropertyName("url")] string? Url,
    [property: JsonPropertyName("keys")] IReadOnlyDictionary<string, string>? Keys)
{
    public const string DefaultPath = "~/.config/dbprov/config.json";

    public static string ResolvePath(string path)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.GetFullPath(Path.Combine(home, path.Length > 2 ? path[2..] : string.Empty));
        }

        return Path.GetFullPath(path);
    }

    /// <summary>Reads the file; null when it does not exist. A file that is not valid JSON is a usage error.</summary>
    public static async Task<CliConfigFile?> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var fullPath = ResolvePath(path);
        if (!File.Exists(fullPath))
        {
            return null;
        }

        try
        {
            await using var stream = File.OpenRead(fullPath);
            return await JsonSerializer.DeserializeAsync<CliConfigFile>(stream, cancellationToken: cancellationToken);
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
