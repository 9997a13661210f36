using DbProvisioner.Contracts;
using DbProvisioner.Persistence.Storage;

namespace DbProvisioner.Server.Hosting;

/// <summary>
/// At start, once the silo is Active: every evacuation under way (found in the grain state table, few: one per
/// evacuated host) goes on watching its replacements, so a restart never leaves an old instance without its scale-down request.
/// With several silos the recovery sweep's reminder does it again on every tick (<see cref="ResumeAllAsync"/>), so an
/// evacuation whose grain died with a silo goes on while the others run, not only after a restart.
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
                await ResumeAllAsync(keys, grains, stoppingToken);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogResumeFailed(logger, e);
                await Task.Delay(RetryDelay, stoppingToken);
            }
        }
    }

    /// <summary>Resumes every evacuation the grain state table holds (resuming a finished one changes nothing); answers how many.</summary>
    internal static async Task<int> ResumeAllAsync(GrainStateKeys keys, IGrainFactory grains, CancellationToken cancellationToken)
    {
        var hostIds = await keys.ListAsync(EvacuationGrainType, cancellationToken);
        foreach (var hostId in hostIds)
        {
            await grains.GetGrain<IEvacuationGrain>(hostId).ResumeAsync().WaitAsync(cancellationToken);
        }

        return hostIds.Count;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not resume the evacuations under way; trying again in 5 s")]
    private static partial void LogResumeFailed(ILogger logger, Exception exception);
}
