namespace DbProvisioner.Cli;

/// <summary>What the CLI touches outside itself; tests substitute writers, variables and the HTTP handler.</summary>
public sealed record CliEnvironment(
    TextWriter Out,
    TextWriter Error,
    Func<string, string?> GetVariable,
    HttpMessageHandler? HttpHandler = null)
{
    public static CliEnvironment System { get; } = new(Console.Out, Console.Error, Environment.GetEnvironmentVariable)
    {
        In = Console.In,
        InputIsTerminal = !Console.IsInputRedirected,
    };

    /// <summary>Where a confirmation prompt reads its answer; closed (end of input) unless set.</summary>
    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>True when <see cref="In"/> is a person at a terminal; a prompt is refused otherwise.</summary>
    public bool InputIsTerminal { get; init; }
}
