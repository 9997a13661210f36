using DbProvisioner.Contracts;
using DbProvisioner.Persistence.Storage;

namespace DbProvisioner.Server.Hosting;

/// <summary>
/// At start, once the silo is Active: every evacuation under way (found in the grain state table, few: one per
/// evacuated host) goes on watching its replacements, so a restart never leaves an old instance without its scale-down request.
/// </summary>
internal sealed partial class EvacuationRecoveryService(
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    ILogger<EvacuationRecoveryService> logger) : BackgroundService
{
    /// <summary>The grain type of EvacuationGrain in the grain state table.</summary>
    internal const string EvacuationGrainType = "evacuation";
    private static readonly TimeSpan ActivePoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await SiloActivity.WaitUntilActiveAsync(services, lifetime, ActivePoll, stoppingToken) || services.GetService<GrainStateKeys>() is not { } keys)
        {
            return;
        }

        var grains = services.GetRequiredService<IGrainFactory>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var hostId in await keys.ListAsync(EvacuationGrainType, stoppingToken))
                {
                    await grains.GetGrain<IEvacuationGrain>(hostId).ResumeAsync().WaitAsync(stoppingToken);
                }

                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogResumeFailed(logger, e);
                await Task.Delay(RetryDelay, stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not resume the evacuations under way; trying again in 5 s")]
    private static partial void LogResumeFailed(ILogger logger, Exception exception);
}
