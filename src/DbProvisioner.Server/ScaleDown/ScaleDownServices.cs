using DbProvisioner.Contracts;
using DbProvisioner.Grains;
using DbProvisioner.Runtime;
using DbProvisioner.Runtime.Docker;
using DbProvisioner.Server.Hosting;

namespace DbProvisioner.Server.ScaleDown;

/// <summary>What the scale-down gate needs in the silo: the real audit trail and the MySQL admin client for drains.</summary>
public static class ScaleDownServices
{
    /// <summary>
    /// The audit sink writes to the meta database's audit table (never a no-op), and drains and risk probes talk to
    /// MySQL through MySqlConnector. Tests may replace either after this.
    /// </summary>
    public static IServiceCollection AddScaleDownGate(this IServiceCollection services)
    {
        services.AddSingleton<IAuditSink, MetaDbAuditSink>();
        services.AddSingleton<IMySqlAdmin, MySqlConnectorAdmin>();
        return services;
    }
}

/// <summary>
/// At start, finishes every approved removal a crash interrupted (each request resumes its instance's removal from its last
/// recorded step); then, every <see cref="SweepInterval"/>, expires the pending requests whose time is up, so that the
/// expiry is audited even when nobody looks at the request.
/// </summary>
internal sealed partial class ScaleDownRecoveryService(
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    TimeProvider clock,
    ILogger<ScaleDownRecoveryService> logger) : BackgroundService
{
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ActivePoll = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await SiloActivity.WaitUntilActiveAsync(services, lifetime, ActivePoll, stoppingToken))
        {
            return;
        }

        var grains = services.GetRequiredService<IGrainFactory>();
        var first = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(grains, resume: first, stoppingToken);
                first = false;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSweepFailed(logger, e);
            }

            await Task.Delay(SweepInterval, clock, stoppingToken);
        }
    }

    internal async Task<int> SweepAsync(IGrainFactory grains, bool resume, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var touched = 0;
        foreach (var request in await grains.ListScaleDownsAsync().WaitAsync(cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var grain = grains.GetGrain<IScaleDownGrain>(request.Id);
            try
            {
                if (resume && request.State is ScaleDownStates.Approved or ScaleDownStates.Draining)
                {
                    await grain.ResumeAsync().WaitAsync(cancellationToken);
                    LogResumed(logger, request.Id, request.InstanceId, request.State);
                    touched++;
                }
                else if (request.State == ScaleDownStates.Pending && request.ExpiresAt <= now)
                {
                    await grain.GetAsync().WaitAsync(cancellationToken); // reading a due request expires it
                    touched++;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogResumeFailed(logger, request.Id, e);
            }
        }

        return touched;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Resumed scale-down {RequestId} of instance {InstanceId} (was {State})")]
    private static partial void LogResumed(ILogger logger, string requestId, string instanceId, string state);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not resume scale-down {RequestId}")]
    private static partial void LogResumeFailed(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Scale-down sweep failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
