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

    public static HealthCheckOptions Options { get; } = new()
    {
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
