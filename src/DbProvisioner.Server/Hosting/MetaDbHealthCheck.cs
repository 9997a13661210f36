using DbProvisioner.Persistence;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DbProvisioner.Server.Hosting;

/// <summary>Whether the meta database answers a query now; when it does not, /healthz is 503 and says why.</summary>
internal sealed class MetaDbHealthCheck(MetaDbConnectionFactory connections) : IHealthCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["database"] = connections.DatabaseName };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await using var connection = await connections.OpenConnectionAsync(timeout.Token);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy("The meta database answers.", data);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"The meta database did not answer within {Timeout.TotalSeconds:0} s.", data: data);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            return HealthCheckResult.Unhealthy($"The meta database does not answer: {e.Message}", data: data);
        }
    }
}
