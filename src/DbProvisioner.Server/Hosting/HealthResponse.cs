using System.Reflection;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using DbProvisioner.Api;

namespace DbProvisioner.Server.Hosting;

internal static class HealthEndpoint
{
    public static string ServerVersion { get; } =
        typeof(HealthEndpoint).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "unknown";

    /// <summary>The tag of the checks that say whether this process should be restarted (a meta database away is not one).</summary>
    public const string Live = "live";

    /// <summary>/healthz: every check; 503 when this silo cannot serve (the meta database away, the silo not Active).</summary>
    public static HealthCheckOptions Options { get; } = Build(static _ => true);

    /// <summary>/healthz/live: only this process's silo, for a liveness probe, so an outage of the meta database restarts nothing.</summary>
    public static HealthCheckOptions LiveOptions { get; } = Build(static check => check.Tags.Contains(Live));

    private static HealthCheckOptions Build(Func<HealthCheckRegistration, bool> predicate) => new()
    {
        Predicate = predicate,
        ResponseWriter = (context, report) =>
        {
            var body = new HealthResponse(
                report.Status.ToString(),
                ServerVersion,
                report.Entries.ToDictionary(
                    e => e.Key,
                    e => new HealthEntryResponse(e.Value.Status.ToString(), e.Value.Description, e.Value.Data)));
            return context.Response.WriteAsJsonAsync(body, context.RequestAborted);
        },
        ResultStatusCodes =
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = StatusCodes.Status200OK,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
    };
}
