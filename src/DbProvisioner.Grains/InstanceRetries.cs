using DbProvisioner.Contracts;
using DbProvisioner.Runtime;
using Polly;
using Polly.Retry;

namespace DbProvisioner.Grains;

/// <summary>
/// The instance grain's retries, one Polly pipeline per concern, timed by the grain's clock. They sit above the
/// driver's own pipeline (quick retries, circuit, timeouts per engine call) and wait for longer outages: the meta
/// database restarting, an engine away for tens of seconds. Each runs on the grain's scheduler (see
/// <see cref="GrainPipelines.RunAsync{T}"/>), so that state is only touched in the grain's turns.
/// </summary>
internal sealed class InstanceRetries
{
    public static readonly TimeSpan StorageDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan EngineDelay = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(500);
    public const int GiveBackAttempts = 6;

    private readonly TimeProvider _clock;

    /// <param name="onStorageFault">Told about a state the meta database did not take (or could not read back).</param>
    /// <param name="onRemovalRetry">Told about a removal step that failed and will be tried again.</param>
    /// <param name="onGiveBackRetry">Told about a give-back the engine refused, with the attempt that failed.</param>
    public InstanceRetries(TimeProvider clock, Action<Exception> onStorageFault, Func<Exception, ValueTask> onRemovalRetry, Action<Exception, int> onGiveBackRetry)
    {
        _clock = clock;
        // Until the meta database answers: nothing was decided, the step goes on from the last stored state.
        Storage = Build(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(StorageFaults.IsStorageFault),
            MaxRetryAttempts = int.MaxValue,
            Delay = StorageDelay,
            BackoffType = DelayBackoffType.Constant,
            OnRetry = args =>
            {
                onStorageFault(args.Outcome.Exception!);
                return ValueTask.CompletedTask;
            },
        });
        // A removal is never abandoned half-way: the step is tried again until it succeeds.
        Removal = Build(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsStepFailure),
            MaxRetryAttempts = int.MaxValue,
            Delay = EngineDelay,
            BackoffType = DelayBackoffType.Constant,
            OnRetry = args => onRemovalRetry(args.Outcome.Exception!),
        });
        // Giving back what a failure left held: a few tries, then left for the next resume.
        GiveBack = Build(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<HostRuntimeException>(),
            MaxRetryAttempts = GiveBackAttempts - 1,
            Delay = EngineDelay,
            BackoffType = DelayBackoffType.Constant,
            OnRetry = args =>
            {
                onGiveBackRetry(args.Outcome.Exception!, args.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        });
    }

    public ResiliencePipeline Storage { get; }

    public ResiliencePipeline Removal { get; }

    public ResiliencePipeline GiveBack { get; }

    /// <summary>Asks for the open client connections until there are none or the deadline passes; returns the last count.</summary>
    public Task<int> DrainAsync(Func<Task<int>> openConnections, TimeSpan timeout)
    {
        var deadline = _clock.GetUtcNow() + timeout;
        var poll = new ResiliencePipelineBuilder<int> { TimeProvider = _clock }.AddRetry(new RetryStrategyOptions<int>
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result > 0 && _clock.GetUtcNow() < deadline),
            MaxRetryAttempts = int.MaxValue,
            Delay = DrainPoll,
            BackoffType = DelayBackoffType.Constant,
        }).Build();
        return poll.RunAsync(openConnections);
    }

    /// <summary>A step's own work failed (engine, MySQL, another grain), not the meta database and not a contradiction in the state.</summary>
    public static bool IsStepFailure(Exception e) => e is not InvalidOperationException && !StorageFaults.IsStorageFault(e);

    private ResiliencePipeline Build(RetryStrategyOptions retry) =>
        new ResiliencePipelineBuilder { TimeProvider = _clock }.AddRetry(retry).Build();
}

/// <summary>Runs a Polly pipeline from a grain, with every continuation back on the grain's scheduler.</summary>
internal static class GrainPipelines
{
    public static async Task<T> RunAsync<T>(this ResiliencePipeline pipeline, Func<Task<T>> work)
    {
        var context = ResilienceContextPool.Shared.Get(continueOnCapturedContext: true);
        try
        {
            return await pipeline.ExecuteAsync(static async (_, w) => await w(), context, work);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    public static Task RunAsync(this ResiliencePipeline pipeline, Func<Task> work) =>
        pipeline.RunAsync(async () =>
        {
            await work();
            return true;
        });

    public static async Task<T> RunAsync<T>(this ResiliencePipeline<T> pipeline, Func<Task<T>> work)
    {
        var context = ResilienceContextPool.Shared.Get(continueOnCapturedContext: true);
        try
        {
            return await pipeline.ExecuteAsync(static async (_, w) => await w(), context, work);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
