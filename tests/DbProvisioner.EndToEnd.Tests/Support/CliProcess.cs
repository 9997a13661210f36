using System.Diagnostics;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>The built <c>dbprov</c> CLI run as a process, as a script would run it.</summary>
public static class CliProcess
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(E2eLayout.CliDll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Nothing from the user's own config or environment.
        info.Environment.Remove("DBPROV_URL");
        info.Environment.Remove("DBPROV_CONFIG");
        info.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, await output, $"killed after {timeout}: {await error}");
        }

        return (process.ExitCode, await output, await error);
    }
}
