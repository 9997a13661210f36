using System.CommandLine;
using DbProvisioner.Cli.Http;

namespace DbProvisioner.Cli.Commands;

/// <summary><c>dbprov version</c>: this CLI's version and, when reachable, the server's (no key needed).</summary>
internal static class VersionCommand
{
    public sealed record Versions(string Client, string? Server, string? ServerUrl, string? ServerError);

    public static Command Create(CommandRunner runner)
    {
        var command = new Command("version", "Show the versions of this CLI and of the server.");
        runner.SetAnonymousAction(command, async (context, cancellationToken) =>
        {
            string? server = null;
            string? error = null;
            try
            {
                server = (await context.Client.GetHealthAsync(cancellationToken)).Version;
            }
            catch (Exception e) when (e is HttpRequestException or ApiProblemException or TaskCanceledException)
            {
                // The client's own version is still worth printing; the server's absence is reported, not fatal.
                error = e.Message;
            }

            var versions = new Versions(CliVersion.Value, server, context.Connection.Url.ToString(), error);
            context.Render(versions, v => CommandContext.PropertyTable(
                ("Client", v.Client),
                ("Server", v.Server ?? $"unavailable ({v.ServerError})"),
                ("Server URL", v.ServerUrl)));
            return ExitCodes.Ok;
        });
        return command;
    }
}
