using System.Diagnostics;

namespace DbProvisioner.Setup.Tests.Support;

/// <summary>Runs a hack/ script of this checkout with bash, the way the Makefile does, with extra environment.</summary>
public static class HackScript
{
    /// <summary>The checkout: the folder above artifacts/ (the test assembly runs from artifacts/bin/…).</summary>
    public static string RepoDir { get; } = FindRepoDir();

    public static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(
        string script, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] args)
    {
        // .NET ignores SIGPIPE and children inherit that (a writer then fails with EPIPE, exit 1): restore the default,
        // so that the script runs as `make` from a terminal runs it, where such a writer is killed (exit 141).
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoDir };
        psi.ArgumentList.Add("--default-signal=PIPE");
        psi.ArgumentList.Add("bash");
        psi.ArgumentList.Add(Path.Combine(RepoDir, "hack", script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (key, value) in environment) psi.Environment[key] = value;
        psi.Environment["DOCKER_API_VERSION"] = "1.41";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"bash {script} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"hack/{script} {string.Join(' ', args)} did not end within {timeout}: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static string FindRepoDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "hack", "lib.sh")) && File.Exists(Path.Combine(dir.FullName, "Makefile")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No checkout (hack/lib.sh and Makefile) above {AppContext.BaseDirectory}");
    }
}
