using System.Diagnostics;
using MySqlConnector;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// The shared meta MySQL server as a fault target: its container (made by hack/meta-db.sh) is restarted with the
/// docker CLI and waited on until MySQL answers again. Nothing is ever removed or re-created here.
/// </summary>
public static class MetaServer
{
    public const string Container = "dbprov-meta";
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(90);

    /// <summary><c>docker restart dbprov-meta</c>, then waits until it answers; returns how long until it answered.</summary>
    public static async Task<TimeSpan> RestartAsync()
    {
        var watch = Stopwatch.StartNew();
        var (code, output) = await DockerAsync("restart", Container);
        if (code != 0)
        {
            throw new InvalidOperationException($"docker restart {Container} exited {code}: {output}");
        }

        await WaitAnsweringAsync(AnswerTimeout);
        return watch.Elapsed;
    }

    /// <summary>Leaves the meta DB running and answering (e.g. after a failed run): starts the stopped container if needed.</summary>
    public static async Task EnsureAnsweringAsync()
    {
        if (await AnswersAsync())
        {
            return;
        }

        var (_, running) = await DockerAsync("inspect", "-f", "{{.State.Running}}", Container);
        if (running.Trim() != "true")
        {
            var (code, output) = await DockerAsync("start", Container);
            if (code != 0)
            {
                throw new InvalidOperationException($"docker start {Container} exited {code}: {output}");
            }
        }

        await WaitAnsweringAsync(AnswerTimeout);
    }

    public static Task WaitAnsweringAsync(TimeSpan timeout) =>
        Eventually.UntilAsync(AnswersAsync, timeout, $"the meta DB ({Container}) to answer SELECT 1", TimeSpan.FromMilliseconds(100));

    /// <summary>True when a fresh connection runs SELECT 1.</summary>
    public static async Task<bool> AnswersAsync()
    {
        try
        {
            var password = (await File.ReadAllTextAsync(E2eLayout.MetaPasswordFile)).TrimEnd('\r', '\n');
            var builder = new MySqlConnectionStringBuilder
            {
                Server = "127.0.0.1",
                Port = 3306,
                UserID = "root",
                Password = password,
                Pooling = false,
                ConnectionTimeout = 2,
            };
            await using var connection = new MySqlConnection(builder.ConnectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) == 1;
        }
        catch (MySqlException)
        {
            return false;
        }
    }

    private static async Task<(int ExitCode, string Output)> DockerAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("docker did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, ((await output) + (await error)).Trim());
    }
}
