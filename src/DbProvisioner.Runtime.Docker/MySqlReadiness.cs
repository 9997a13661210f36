using System.Net.Sockets;
using MySqlConnector;
using Polly;
using Polly.Retry;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// Waits until an instance's MySQL answers <c>SELECT 1</c> with its credentials. The pauses between attempts are a
/// Polly retry on the given clock, 10 ms at first and doubling up to 50 ms: a seeded mysqld answers within a second,
/// and a fixed 200 ms poll left it idle for up to 200 ms. After each failed attempt the caller's check may end the
/// wait (the container stopped), and past the deadline the wait fails with the last error MySQL gave.
/// </summary>
public sealed class MySqlReadiness
{
    public static readonly TimeSpan DefaultFirstPause = TimeSpan.FromMilliseconds(10);
    public static readonly TimeSpan DefaultLongestPause = TimeSpan.FromMilliseconds(50);

    private readonly TimeProvider _time;
    private readonly ResiliencePipeline<bool> _pipeline;
    private readonly Func<string, int, InstanceCredentials, CancellationToken, Task> _answer;

    /// <param name="time">The clock of the pauses and the deadline.</param>
    /// <param name="firstPause">The pause after the first failed attempt; each next pause doubles it.</param>
    /// <param name="answer">One attempt; by default a fresh connection running <c>SELECT 1</c>.</param>
    /// <param name="longestPause">Where the doubling stops.</param>
    public MySqlReadiness(
        TimeProvider? time = null, TimeSpan? firstPause = null, Func<string, int, InstanceCredentials, CancellationToken, Task>? answer = null,
        TimeSpan? longestPause = null)
    {
        var first = firstPause ?? DefaultFirstPause;
        var longest = longestPause ?? DefaultLongestPause;
        _time = time ?? TimeProvider.System;
        _answer = answer ?? SelectOneAsync;
        _pipeline = new ResiliencePipelineBuilder<bool> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<bool>
            {
                // Only "not answering yet" is retried: a stopped container or the deadline end the wait with an exception.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome is { Exception: null, Result: false }),
                MaxRetryAttempts = int.MaxValue,
                Delay = first,
                MaxDelay = longest > first ? longest : first,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
            })
            .Build();
    }

    /// <param name="ensureStarting">Called after each failed attempt; throws when the instance can no longer answer.</param>
    /// <exception cref="InstanceException">Kind <see cref="HostRuntimeErrorKind.InstanceNotReady"/>: no answer within <paramref name="deadline"/>.</exception>
    public async Task WaitAsync(
        string hostId, string instanceId, string address, int port, InstanceCredentials credentials, TimeSpan deadline,
        Func<CancellationToken, Task> ensureStarting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(ensureStarting);
        var started = _time.GetTimestamp();
        string? lastError = null;
        await _pipeline.ExecuteAsync(async ct =>
        {
            try
            {
                await _answer(address, port, credentials, ct).ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is MySqlException or IOException or SocketException or TimeoutException)
            {
                lastError = e.Message;
            }
            await ensureStarting(ct).ConfigureAwait(false);
            if (_time.GetElapsedTime(started) > deadline) throw InstanceException.NotReady(hostId, instanceId, deadline, lastError);
            return false;
        }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task SelectOneAsync(string address, int port, InstanceCredentials credentials, CancellationToken cancellationToken)
    {
        await using var connection = await MySqlConnectorAdmin.OpenAsync(address, port, credentials, cancellationToken).ConfigureAwait(false);
        await using var command = new MySqlCommand("SELECT 1", connection);
        await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }
}
