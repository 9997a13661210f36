using Orleans.Runtime;

namespace DbProvisioner.Server.Hosting;

/// <summary>The cluster-wide recovery sweep: one grain whose reminder, kept in the meta database, outlives any silo.</summary>
public interface IRecoverySweepGrain : IGrainWithStringKey
{
    /// <summary>Registers the reminder unless it is already there with this period.</summary>
    Task ScheduleAsync(TimeSpan period);
}

/// <summary>
/// Resumes unfinished instances, clusters, disk work and evacuations on each tick of its reminder. Start-up recovery covers a restart of
/// the whole appliance; this covers a silo that dies while the others go on: nothing calls its in-flight instances again,
/// and a grain timer would have died with it, while the reminder is fired by whichever silo owns it next.
/// </summary>
internal sealed partial class RecoverySweepGrain(
    ProvisioningRecoveryService recovery,
    RecoverySweepLog log,
    IServiceProvider services,
    ILogger<RecoverySweepGrain> logger) : Grain, IRecoverySweepGrain, IRemindable
{
    public const string Key = "cluster";
    public const string ReminderName = "recovery-sweep";

    public async Task ScheduleAsync(TimeSpan period)
    {
        var existing = await this.GetReminder(ReminderName);
        if (existing is null)
        {
            await this.RegisterOrUpdateReminder(ReminderName, period, period);
            LogScheduled(logger, period);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName)
        {
            return;
        }

        var (resumed, hosts) = await recovery.RecoverAsync(GrainFactory, CancellationToken.None);
        // The grain state table is there only with the meta database (always, where reminders are).
        var evacuations = services.GetService<Persistence.Storage.GrainStateKeys>() is { } keys
            ? await EvacuationRecoveryService.ResumeAllAsync(keys, GrainFactory, CancellationToken.None)
            : 0;
        log.Record(resumed);
        LogSwept(logger, resumed, hosts, evacuations);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Recovery sweep reminder registered (every {Period})")]
    private static partial void LogScheduled(ILogger logger, TimeSpan period);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recovery sweep: {Resumed} unfinished instances resumed, disk work kicked on {Hosts} hosts, {Evacuations} evacuations resumed")]
    private static partial void LogSwept(ILogger logger, int resumed, int hosts, int evacuations);
}

/// <summary>The sweeps this process ran, for /healthz.</summary>
public sealed class RecoverySweepLog(TimeProvider clock)
{
    private long _count;
    private long _lastAtTicks;

    public long Count => Interlocked.Read(ref _count);

    public DateTimeOffset? LastAt => Interlocked.Read(ref _lastAtTicks) is var t && t == 0 ? null : new DateTimeOffset(t, TimeSpan.Zero);

    public int LastResumed { get; private set; }

    public void Record(int resumed)
    {
        LastResumed = resumed;
        Interlocked.Exchange(ref _lastAtTicks, clock.GetUtcNow().UtcTicks);
        Interlocked.Increment(ref _count);
    }
}

/// <summary>Once the silo is Active, makes sure the sweep's reminder exists (every silo asks; the first registers it).</summary>
internal sealed partial class RecoverySweepScheduler(
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    Microsoft.Extensions.Options.IOptions<ClusteringOptions> options,
    ILogger<RecoverySweepScheduler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await SiloActivity.WaitUntilActiveAsync(services, lifetime, TimeSpan.FromMilliseconds(250), stoppingToken))
        {
            return;
        }

        var grain = services.GetRequiredService<IGrainFactory>().GetGrain<IRecoverySweepGrain>(RecoverySweepGrain.Key);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await grain.ScheduleAsync(options.Value.RecoverySweepPeriod).WaitAsync(stoppingToken);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogScheduleFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not register the recovery sweep reminder; trying again in 5 s")]
    private static partial void LogScheduleFailed(ILogger logger, Exception exception);
}
