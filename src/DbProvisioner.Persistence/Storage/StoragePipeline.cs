using System.Net.Sockets;
using DbProvisioner.Contracts;
using MySqlConnector;
using Polly;
using DbProvisioner.Runtime.Faults;
using Orleans.Storage;

namespace DbProvisioner.Persistence.Storage;

/// <summary>
/// What every grain-state call goes through: chaos strategies when a drill asks for them, a few quick retries (after a
/// meta-database restart each pooled session fails once before it is dropped; a write retried after an answer was
/// lost meets its own version and is refused as a conflict, never applied twice), and the translation of a
/// meta database that does not answer into <see cref="StorageUnavailableException"/>, which the grains tell apart
/// from a failure of their own work (they keep their last stored state and retry) and the API answers with 503.
/// </summary>
internal sealed class StoragePipeline
{
    private readonly ResiliencePipeline _pipeline;
    private readonly string _name;

    public StoragePipeline(string name, ChaosOptions chaos)
    {
        ArgumentNullException.ThrowIfNull(chaos);
        _name = name;
        var builder = new ResiliencePipelineBuilder().AddRetry(new Polly.Retry.RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsUnavailable),
            MaxRetryAttempts = 3,
            Delay = TimeSpan.FromMilliseconds(50),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        });
        builder.AddChaos(chaos, $"GrainStorage:{name}:Chaos",
            () => new StorageUnavailableException($"grain storage '{name}': fault injected by the chaos drill"));
        _pipeline = builder.Build();
    }

    public async Task ExecuteAsync(string what, Func<CancellationToken, Task> call, CancellationToken cancellationToken)
    {
        try
        {
            await _pipeline.ExecuteAsync(static async (c, token) => await c(token).ConfigureAwait(false), call, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw new StorageUnavailableException($"grain storage '{_name}': {what} failed, the meta database did not answer: {e.Message}", e);
        }
    }

    /// <summary>The database is away or refused the session (down, restarting, too many connections), not a conflict or a bug.</summary>
    internal static bool IsUnavailable(Exception e) => e switch
    {
        InconsistentStateException or StorageUnavailableException or OperationCanceledException => false,
        MySqlException mySql => mySql.ErrorCode != MySqlErrorCode.DuplicateKeyEntry,
        SocketException or IOException or TimeoutException => true,
        InvalidOperationException when e.InnerException is { } inner => IsUnavailable(inner),
        _ => false,
    };
}
