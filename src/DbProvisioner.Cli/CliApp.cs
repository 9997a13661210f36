using System.CommandLine;
using DbProvisioner.Cli.Commands;

namespace DbProvisioner.Cli;

/// <summary>
/// Builds <c>dbprov</c>. A command group lives in one file (<c>Commands/HostCommands.cs</c> with
/// <c>public static Command Create(CommandRunner runner)</c>) and is added to <see cref="CommandGroups"/> with one line.
/// </summary>
public static class CliApp
{
    private static readonly Func<CommandRunner, Command>[] CommandGroups =
    [
        WhoAmICommand.Create,
        VersionCommand.Create,
        HostCommands.Create,
        InstanceCommands.Create,
        ClusterCommands.Create,
        ScaleDownCommands.Create,
    ];

    public static RootCommand BuildRootCommand(CliEnvironment environment)
    {
        var options = new GlobalOptions();
        var runner = new CommandRunner(options, environment);
        var root = new RootCommand($"dbprov: self-service MySQL instances on DbProvisioner. {ExitCodes.Help}");
        foreach (var option in options.All)
        {
            root.Options.Add(option);
        }

        foreach (var group in CommandGroups)
        {
            root.Subcommands.Add(group(runner));
        }

        return root;
    }

    /// <summary>Parses and runs; a command line that does not parse prints why and exits with <see cref="ExitCodes.Usage"/>.</summary>
    public static async Task<int> RunAsync(string[] args, CliEnvironment environment, CancellationToken cancellationToken = default)
    {
        var parse = BuildRootCommand(environment).Parse(args);
        var invocation = new InvocationConfiguration { Output = environment.Out, Error = environment.Error };
        var exitCode = await parse.InvokeAsync(invocation, cancellationToken);
        return parse.Errors.Count > 0 ? ExitCodes.Usage : exitCode;
    }
}
