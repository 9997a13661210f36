using System.Text.Json.Serialization;

namespace DbProvisioner.Api;

// The service around API v1: who is calling, whether the server is up, and the CLI's config file.

/// <summary>The caller's key id and role (<c>GET /whoami</c>); proves authentication end to end.</summary>
public sealed record WhoAmIResponse(string KeyId, string Role);

/// <summary>The body of <c>GET /healthz</c>.</summary>
public sealed record HealthResponse(string Status, string Version, IReadOnlyDictionary<string, HealthEntryResponse> Checks);

public sealed record HealthEntryResponse(string Status, string? Description, IReadOnlyDictionary<string, object> Data);

/// <summary>
/// The CLI's config file, <c>{"url": "...", "keys": {"viewer": "...", ...}}</c>: the server writes it at first run (mode
/// 0600), the CLI reads it. Either field may be missing from a file a person wrote.
/// </summary>
public sealed record ClientConfig(
    [property: JsonPropertyName("url")] string? Url,
    [property: JsonPropertyName("keys")] IReadOnlyDictionary<string, string>? Keys)
{
    public const string DefaultPath = "~/.config/dbprov/config.json";

    /// <summary>Expands a leading <c>~</c> to the user's home directory.</summary>
    public static string ResolvePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.GetFullPath(Path.Combine(home, path.Length > 2 ? path[2..] : string.Empty));
        }

        return Path.GetFullPath(path);
    }
}
