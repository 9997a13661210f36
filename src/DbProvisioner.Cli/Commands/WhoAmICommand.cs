using System.CommandLine;
using DbProvisioner.Api;

namespace DbProvisioner.Cli.Commands;

/// <summary><c>dbprov whoami</c>: the key id and role the server sees.</summary>
internal static class WhoAmICommand
{
    public static Command Create(CommandRunner runner)
    {
        var command = new Command("whoami", "Show the API key id and role the server sees for the key in use.");
        runner.SetApiAction(command, "viewer", async (context, cancellationToken) =>
        {
            var me = await context.Client.GetAsync<WhoAmIResponse>("whoami", cancellationToken);
            context.Render(me, m => CommandContext.PropertyTable(("Key id", m.KeyId), ("Role", m.Role), ("Server", context.Connection.Url.ToString())));
            return ExitCodes.Ok;
        });
        return command;
    }
}
