using System.CommandLine;
using DbProvisioner.Api;
using DbProvisioner.Cli.Config;
using DbProvisioner.Cli.Http;

namespace DbProvisioner.Cli.Commands;

/// <summary>
/// Resolves the connection, runs a command body and maps every failure to a message on stderr and an exit code.
/// A command file calls <see cref="SetApiAction"/> once per subcommand.
/// </summary>
public sealed class CommandRunner(GlobalOptions options, CliEnvironment environment)
{
    public GlobalOptions Options => options;

    /// <summary>
    /// Sets the command's action. <paramref name="role"/> is the least role it needs; it picks the config file's key
    /// unless <c>--role</c> or <c>--key</c> says otherwise. The body returns an exit code (usually <see cref="ExitCodes.Ok"/>).
    /// </summary>
    public void SetApiAction(Command command, string role, Func<CommandContext, CancellationToken, Task<int>> body) =>
        command.SetAction((parse, cancellationToken) => RunAsync(parse, role, requireKey: true, body, cancellationToken));

    /// <summary>Like <see cref="SetApiAction"/> for commands that may run without a key (e.g. <c>version</c>).</summary>
    public void SetAnonymousAction(Command command, Func<CommandContext, CancellationToken, Task<int>> body) =>
        command.SetAction((parse, cancellationToken) => RunAsync(parse, "viewer", requireKey: false, body, cancellationToken));

    private async Task<int> RunAsync(
        ParseResult parse,
        string defaultRole,
        bool requireKey,
        Func<CommandContext, CancellationToken, Task<int>> body,
        CancellationToken cancellationToken)
    {
        var format = parse.GetValue(options.Output);
        try
        {
            var connection = await ResolveConnectionAsync(parse, defaultRole, requireKey, cancellationToken);
            return await body(new CommandContext(parse, connection, format, environment), cancellationToken);
        }
        catch (CliUsageException e)
        {
            return Fail(ExitCodes.Usage, "usage", e.Message);
        }
        catch (ApiProblemException e)
        {
            return Fail(ExitCodes.FromHttpStatus(e.StatusCode), $"server answered {e.StatusCode}", e.Message);
        }
        catch (HttpRequestException e)
        {
            return Fail(ExitCodes.Failure, "unreachable", $"Cannot reach the server: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Fail(ExitCodes.Failure, "timeout", "The server did not answer in time.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Fail(ExitCodes.Failure, "cancelled", "Cancelled.");
        }
    }

    private int Fail(int exitCode, string kind, string message)
    {
        // Plain text: stderr is often a log file or a script's capture, where markup and wrapping would get in the way.
        environment.Error.WriteLine($"error ({kind}): {message}");
        return exitCode;
    }

    private async Task<CliConnection> ResolveConnectionAsync(ParseResult parse, string defaultRole, bool requireKey, CancellationToken cancellationToken)
    {
        var configPath = parse.GetValue(options.Config) ?? environment.GetVariable(GlobalOptions.ConfigVariable) ?? ClientConfig.DefaultPath;
        var explicitConfig = parse.GetValue(options.Config) is not null || environment.GetVariable(GlobalOptions.ConfigVariable) is not null;
        var config = await CliConfigFile.ReadAsync(configPath, cancellationToken);
        if (config is null && explicitConfig)
        {
            throw new CliUsageException($"The config file {ClientConfig.ResolvePath(configPath)} does not exist.");
        }

        var urlText = parse.GetValue(options.Url) ?? environment.GetVariable(GlobalOptions.UrlVariable) ?? config?.Url ?? GlobalOptions.DefaultUrl;
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliUsageException($"'{urlText}' is not an http(s) URL.");
        }

        var role = parse.GetValue(options.Role) ?? defaultRole;
        var key = parse.GetValue(options.Key);
        if (key is null && config?.Keys is { } keys)
        {
            key = keys.GetValueOrDefault(role);
            if (key is null && parse.GetValue(options.Role) is null)
            {
                // No key for the command's own role: admin may do everything.
                key = keys.GetValueOrDefault("admin");
            }
        }

        if (key is null && requireKey)
        {
            throw new CliUsageException(
                $"No API key for role '{role}': pass --key, or write {ClientConfig.ResolvePath(configPath)} (the server creates it at first run).");
        }

        // Trailing slash so that relative API paths resolve under the server's base path.
        var root = new Uri(url.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
        return new CliConnection(root, key, role, config is null ? null : ClientConfig.ResolvePath(configPath));
    }
}
