namespace DbProvisioner.Cli;

/// <summary>What the CLI touches outside itself; tests substitute writers, variables and the HTTP handler.</summary>
public sealed record CliEnvironment(
    TextWriter Out,
    TextWriter Error,
    Func<string, string?> GetVariable,
    HttpMessageHandler? HttpHandler = null)
{
    public static CliEnvironment System { get; } = new(Console.Out, Console.Error, Environment.GetEnvironmentVariable);
}
