using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Instances;
using DbProvisioner.Persistence.Storage;

namespace DbProvisioner.Server.Hosting;

/// <summary>
/// Crash recovery at start: once the silo is Active, resumes every instance whose provisioning or removal had not
/// finished, and starts each host's disk work (formatting interrupted by the crash, the watermark). Instances are
/// found in the grain state table as well as the catalog, since a crash can come between an instance's write and the
/// catalog's; a resumed instance repairs its catalog entry. Tried again until the meta database answers.
/// </summary>
internal sealed partial class ProvisioningRecoveryService(
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    ILogger<ProvisioningRecoveryService> logger) : BackgroundService
{
    private static readonly TimeSpan ActivePoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await SiloActivity.WaitUntilActiveAsync(services, lifetime, ActivePoll, stoppingToken))
        {
            return;
        }

        var grains = services.GetRequiredService<IGrainFactory>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RecoverAsync(grains, stoppingToken);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRecoveryFailed(logger, e);
                await Task.Delay(RetryDelay, stoppingToken);
            }
        }
    }

    internal async Task<(int Resumed, int Hosts)> RecoverAsync(IGrainFactory grains, CancellationToken cancellationToken)
    {
        var instances = await grains.ListInstancesAsync().WaitAsync(cancellationToken);
        var listed = instances.ToDictionary(static i => i.Id, static i => i.State, StringComparer.Ordinal);
        var stored = services.GetService<GrainStateKeys>() is { } keys ? await keys.ListAsync(InstanceGrainType, cancellationToken) : [];
        // Resting Ready or Removed: nothing to resume. Anything else (a Failed one may still hold what it must give back) is asked.
        var unfinished = instances.Where(static i => !(InstanceLifecycle.TryParse(i.State, out var state) && state is InstanceState.Ready or InstanceState.Removed)).Select(static i => (i.Id, i.State))
            .Concat(stored.Where(id => !listed.ContainsKey(id)).Select(static id => (Id: id, State: "not in the catalog")))
            .ToList();
        var resumed = 0;
        foreach (var (id, state) in unfinished)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await grains.GetGrain<IInstanceGrain>(id).ResumeAsync().WaitAsync(cancellationToken);
                resumed++;
                LogResumed(logger, id, state);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogResumeFailed(logger, id, e);
            }
        }

        // Clusters whose members a crash kept from being handed over (few: one grain per cluster).
        foreach (var cluster in services.GetService<GrainStateKeys>() is { } clusterKeys ? await clusterKeys.ListAsync(ClusterGrainType, cancellationToken) : [])
        {
            await grains.GetGrain<IClusterGrain>(cluster).ResumeAsync().WaitAsync(cancellationToken);
        }

        var hosts = await grains.ListHostsAsync().WaitAsync(cancellationToken);
        foreach (var host in hosts)
        {
            await grains.GetGrain<IDiskPoolGrain>(host.Id).KickAsync().WaitAsync(cancellationToken);
        }

        LogRecovered(logger, resumed, hosts.Count);
        return (resumed, hosts.Count);
    }

    /// <summary>The grain type of InstanceGrain in the grain state table (Orleans' name: the class name without "Grain", lower case).</summary>
    internal const string InstanceGrainType = "instance";
    internal const string ClusterGrainType = "cluster";

    [LoggerMessage(Level = LogLevel.Information, Message = "Resumed provisioning of instance {InstanceId} (was {State})")]
    private static partial void LogResumed(ILogger logger, string instanceId, string state);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not resume instance {InstanceId}")]
    private static partial void LogResumeFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recovery: {Resumed} unfinished instances resumed, disk work started on {Hosts} hosts")]
    private static partial void LogRecovered(ILogger logger, int resumed, int hosts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Start-up recovery failed; trying again in 5 s")]
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
