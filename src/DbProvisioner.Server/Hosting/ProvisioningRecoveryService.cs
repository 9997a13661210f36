using DbProvisioner.Contracts;

namespace DbProvisioner.Server.Hosting;

/// <summary>
/// Crash recovery at start: once the silo is Active, resumes every instance whose provisioning had not finished
/// (not Ready, not Failed) and starts each host's disk work (formatting interrupted by the crash, the watermark).
/// </summary>
internal sealed partial class ProvisioningRecoveryService(
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    ILogger<ProvisioningRecoveryService> logger) : BackgroundService
{
    private static readonly TimeSpan ActivePoll = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await SiloActivity.WaitUntilActiveAsync(services, lifetime, ActivePoll, stoppingToken))
        {
            return;
        }

        var grains = services.GetRequiredService<IGrainFactory>();
        try
        {
            await RecoverAsync(grains, stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Recovery is best effort at start: an instance left behind is resumed on its next activation or call.
            LogRecoveryFailed(logger, e);
        }
    }

    internal async Task<(int Resumed, int Hosts)> RecoverAsync(IGrainFactory grains, CancellationToken cancellationToken)
    {
        var instances = await grains.ListInstancesAsync().WaitAsync(cancellationToken);
        var resumed = 0;
        foreach (var instance in instances.Where(i => i.State is not ("Ready" or "Removed")))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await grains.GetGrain<IInstanceGrain>(instance.Id).ResumeAsync().WaitAsync(cancellationToken);
                resumed++;
                LogResumed(logger, instance.Id, instance.State);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogResumeFailed(logger, instance.Id, e);
            }
        }

        var hosts = await grains.ListHostsAsync().WaitAsync(cancellationToken);
        foreach (var host in hosts)
        {
            await grains.GetGrain<IDiskPoolGrain>(host.Id).KickAsync().WaitAsync(cancellationToken);
        }

        LogRecovered(logger, resumed, hosts.Count);
        return (resumed, hosts.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Resumed provisioning of instance {InstanceId} (was {State})")]
    private static partial void LogResumed(ILogger logger, string instanceId, string state);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not resume instance {InstanceId}")]
    private static partial void LogResumeFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Start-up recovery: {Resumed} unfinished instances resumed, disk work started on {Hosts} hosts")]
    private static partial void LogRecovered(ILogger logger, int resumed, int hosts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Start-up recovery failed")]
    private static partial void LogRecoveryFailed(ILogger logger, Exception exception);
}

internal static class SiloActivity
{
    /// <summary>Waits for the application to start and the local silo to be Active; false when there is no silo here or the host stops.</summary>
    public static async Task<bool> WaitUntilActiveAsync(
        IServiceProvider services, IHostApplicationLifetime lifetime, TimeSpan poll, CancellationToken cancellationToken)
    {
        var oracle = services.GetService<ISiloStatusOracle>();
        if (oracle is null || services.GetService<IGrainFactory>() is null)
        {
            return false;
        }

        try
        {
            await Task.Delay(Timeout.Infinite, lifetime.ApplicationStarted).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStarted.IsCancellationRequested)
        {
            // Started: ApplicationStarted is a token that is cancelled when the host has started.
        }

        while (oracle.CurrentStatus != SiloStatus.Active)
        {
            if (oracle.CurrentStatus.IsTerminating())
            {
                return false;
            }

            await Task.Delay(poll, cancellationToken);
        }

        return true;
    }
}
