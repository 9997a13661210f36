using System.CommandLine;
using DbProvisioner.Api;
using DbProvisioner.Cli.Config;

namespace DbProvisioner.Cli.Commands;

public enum OutputFormat
{
    Table,
    Json,
}

/// <summary>Options every command accepts (recursive on the root command).</summary>
public sealed class GlobalOptions
{
    public const string UrlVariable = "DBPROV_URL";
    public const string ConfigVariable = "DBPROV_CONFIG";
    public const string DefaultUrl = "http://127.0.0.1:8080";

    public Option<string?> Url { get; } = new("--url")
    {
        Description = $"Server URL (default: ${UrlVariable}, then the config file, then {DefaultUrl}).",
        Recursive = true,
    };

    public Option<string?> Key { get; } = new("--key")
    {
        Description = "API key to use instead of the one in the config file (visible to other local users in the process list; prefer the config file).",
        Recursive = true,
    };

    public Option<string?> Role { get; } = new("--role")
    {
        Description = "Which key of the config file to use: viewer, requester, approver or admin (default: the least the command needs).",
        Recursive = true,
    };

    public Option<string?> Config { get; } = new("--config")
    {
        Description = $"Config file (default: ${ConfigVariable}, then {ClientConfig.DefaultPath}).",
        Recursive = true,
    };

    public Option<OutputFormat> Output { get; } = new("--output", "-o")
    {
        Description = "Output format: table (for people) or json (for scripts).",
        DefaultValueFactory = _ => OutputFormat.Table,
        HelpName = "table|json",
        Recursive = true,
    };

    public IEnumerable<Option> All => [Url, Key, Role, Config, Output];

    public GlobalOptions()
    {
        Role.AcceptOnlyFromAmong("viewer", "requester", "approver", "admin");
    }
}
