namespace DbProvisioner.Domain.Instances;

/// <summary>Why an instance's MySQL stopped before it answered.</summary>
public enum StartFailureKind
{
    /// <summary>Something else holds the instance's port: the outcome a port check before start used to give.</summary>
    PortTaken,

    /// <summary>Any other reason, named by the log line that says it.</summary>
    Other,
}

/// <param name="Reason">For <see cref="StartFailureKind.Other"/>, what a DBA reads: the log's last error (or last) line.</param>
public sealed record StartFailure(StartFailureKind Kind, string Reason)
{
    // mysqld's own bind error (host networking), and the engine's when a published port is held (bridge networking).
    private static readonly string[] PortTakenSigns = ["Address already in use", "Bind on TCP/IP port", "port is already allocated"];

    /// <summary>
    /// Decides from the end of the container's log (and the engine's start error, if any) why the instance stopped.
    /// The port is not checked before start any more, so a taken port is first seen here.
    /// </summary>
    public static StartFailure FromLog(IEnumerable<string> lines, long? exitCode)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var kept = lines.Select(static l => l.Trim()).Where(static l => l.Length > 0).ToList();
        if (kept.Any(static l => PortTakenSigns.Any(sign => l.Contains(sign, StringComparison.OrdinalIgnoreCase))))
            return new StartFailure(StartFailureKind.PortTaken, "its port is taken");
        var reason = kept.LastOrDefault(static l => l.Contains("ERROR", StringComparison.Ordinal)) ?? kept.LastOrDefault() ?? "no log";
        return new StartFailure(StartFailureKind.Other, exitCode is { } code ? $"mysqld exited with code {code}: {reason}" : reason);
    }
}
