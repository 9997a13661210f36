using System.Diagnostics;
using System.Net;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// The built server as a child process with this suite's configuration. Only the process started here is ever
/// killed (with its children), never anything found by name.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly IReadOnlyList<string> _arguments;
    private readonly string _logFile;
    private readonly object _logLock = new();
    private Process? _process;
    private StreamWriter? _log;
    private int _generation;

    /// <param name="baseAddress">Where this server answers (its Server:Url); the suite's port unless given.</param>
    public ServerProcess(IReadOnlyDictionary<string, string> settings, string logFile, Uri? baseAddress = null)
    {
        _arguments = [E2eLayout.ServerDll, .. settings.Select(s => $"--{s.Key}={s.Value}")];
        _logFile = logFile;
        BaseAddress = baseAddress ?? new Uri($"http://127.0.0.1:{E2eLayout.HttpPort}/");
    }

    public Uri BaseAddress { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The pid of the process this object started, while it runs (for SIGSTOP/SIGCONT/SIGTERM in silo tests).</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Sends the process this object started a signal (e.g. TERM, STOP, CONT) by its pid.</summary>
    public async Task SignalAsync(string signal)
    {
        if (ProcessId is not { } pid)
        {
            throw new InvalidOperationException("The server is not running.");
        }

        WriteLog($"==== SIG{signal} from the test");
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    /// <summary>Waits for the process to end by itself; false when it still runs after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        if (_process is not { } process)
        {
            return true;
        }

        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Starts the server and waits until /healthz says the silo is Active.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The server is already running.");
        }

        _generation++;
        _log ??= new StreamWriter(new FileStream(_logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        WriteLog($"==== start #{_generation}: dotnet {string.Join(' ', _arguments)}");

        var info = new ProcessStartInfo("dotnet")
        {
            // The content root is the working folder: appsettings.json sits next to the dll.
            WorkingDirectory = Path.GetDirectoryName(E2eLayout.ServerDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in _arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => WriteLog(e.Data);
        process.ErrorDataReceived += (_, e) => WriteLog(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.UntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"The server exited with code {process.ExitCode} while starting:\n{Tail()}");
                }

                try
                {
                    using var response = await http.GetAsync(new Uri("healthz", UriKind.Relative), cancellationToken);
                    return $"{(int)response.StatusCode} {response.StatusCode}";
                }
                catch (HttpRequestException e)
                {
                    return $"not listening yet ({e.Message})";
                }
                catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return "a slow answer while the silo starts";
                }
            },
            static answer => answer == "200 OK", StartTimeout, "the server to answer /healthz with 200",
            answer => $"{answer}\n{Tail()}", TimeSpan.FromMilliseconds(250), cancellationToken);
    }

    /// <summary>Kills the process this object started, with its children, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        if (!process.HasExited)
        {
            WriteLog("==== killed by the test");
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
        process.Dispose();
        _process = null;
    }

    /// <summary>The last lines of the server's output, for a failure message.</summary>
    public string Tail(int lines = 60)
    {
        lock (_logLock)
        {
            _log?.Flush();
        }

        try
        {
            using var stream = new FileStream(_logFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException e)
        {
            return $"(no server log: {e.Message})";
        }
    }

    public string LogFile => _logFile;

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        lock (_logLock)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    private void WriteLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            _log?.WriteLine(line);
        }
    }
}
