using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace DbProvisioner.Runtime;

/// <summary>How a driver retries and breaks its calls: the same settings for a Docker engine and a Kubernetes API server.</summary>
public sealed record CallPolicy(int MaxRetryAttempts, TimeSpan RetryBaseDelay, int CircuitMinimumThroughput, TimeSpan CircuitBreakDuration);

/// <summary>The drivers' shared start of a call pipeline: retries with jitter on transient failures only, then one circuit over the same failures.</summary>
public static class RuntimePipelines
{
    /// <param name="onRetry">Told the failure's type name, the attempt about to run and the delay before it (for the driver's log).</param>
    /// <param name="onOpened">Told how long the circuit stays open.</param>
    public static ResiliencePipelineBuilder RetryThenBreak(
        this ResiliencePipelineBuilder builder,
        Func<Exception, bool> isTransient,
        CallPolicy policy,
        CircuitBreakerStateProvider circuit,
        Action<string?, int, TimeSpan> onRetry,
        Action<TimeSpan>? onOpened = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(policy);
        var transient = new PredicateBuilder().Handle(isTransient);
        return builder
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = policy.MaxRetryAttempts,
                Delay = policy.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    onRetry(args.Outcome.Exception?.GetType().Name, args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.5,
                MinimumThroughput = policy.CircuitMinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = policy.CircuitBreakDuration,
                StateProvider = circuit,
                OnOpened = args =>
                {
                    onOpened?.Invoke(args.BreakDuration);
                    return ValueTask.CompletedTask;
                },
            });
    }
}
