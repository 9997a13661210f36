using System.ComponentModel.DataAnnotations;

namespace DbProvisioner.Server.Hosting;

/// <summary>HTTP side of the server (section <c>Server</c>).</summary>
public sealed class ServerOptions
{
    public const string Section = "Server";

    /// <summary>The one address Kestrel listens on; loopback by default so that a fresh appliance is not exposed.</summary>
    [Required]
    public string Url { get; set; } = "http://127.0.0.1:8080";

    /// <summary>The address clients use, written into the CLI config; defaults to <see cref="Url"/>.</summary>
    public string? PublicUrl { get; set; }

    public string ClientUrl => string.IsNullOrWhiteSpace(PublicUrl) ? Url : PublicUrl;
}

/// <summary>The Orleans silo hosted in the same process (section <c>Silo</c>).</summary>
public sealed class SiloOptions
{
    public const string Section = "Silo";

    /// <summary>False only for HTTP-shell tests; a real server always hosts the silo.</summary>
    public bool Enabled { get; set; } = true;

    [Required]
    public string ClusterId { get; set; } = "dbprov";

    [Required]
    public string ServiceId { get; set; } = "dbprov";

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>This silo's name in the membership table, /healthz and the metrics' <c>silo</c> label; defaults to silo-{SiloPort}.</summary>
    public string? Name { get; set; }

    public string DisplayName => string.IsNullOrWhiteSpace(Name) ? $"silo-{SiloPort}" : Name;
}

/// <summary>Serilog sinks (section <c>Log</c>); finer overrides go in the standard <c>Serilog</c> section.</summary>
public sealed class LogOptions
{
    public const string Section = "Log";

    /// <summary>Folder of the rolling log files; relative paths are under the content root. Empty disables the file sink.</summary>
    public string? Directory { get; set; } = "logs";

    /// <summary>Compact JSON (CLEF) on the console and in files instead of text.</summary>
    public bool Json { get; set; }

    public Serilog.Events.LogEventLevel MinimumLevel { get; set; } = Serilog.Events.LogEventLevel.Information;

    [Range(1, 1000)]
    public int RetainedFileCount { get; set; } = 14;

    [Range(1, long.MaxValue)]
    public long FileSizeLimitBytes { get; set; } = 64L * 1024 * 1024;
}

/// <summary>First-run key generation (section <c>Bootstrap</c>).</summary>
public sealed class BootstrapOptions
{
    public const string Section = "Bootstrap";

    /// <summary>When no API key exists at start, create one per role and write the CLI config file.</summary>
    public bool GenerateKeysOnStart { get; set; } = true;

    /// <summary>Where the CLI config (URL and one key per role, mode 0600) is written; <c>~</c> is the user's home.</summary>
    [Required]
    public string ClientConfigPath { get; set; } = "~/.config/dbprov/config.json";
}
