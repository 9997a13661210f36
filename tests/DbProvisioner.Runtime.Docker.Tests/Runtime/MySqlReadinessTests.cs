using DbProvisioner.Runtime;

namespace DbProvisioner.Runtime.Docker.Tests.Runtime;

/// <summary>
/// Waiting for MySQL, without MySQL: the attempt is a stand-in, and the deadline runs on a clock that moves only
/// when an attempt says how long it took.
/// </summary>
public sealed class MySqlReadinessTests
{
    private static readonly InstanceCredentials Credentials = InstanceCredentials.Generate();

    [Test]
    public async Task A_server_that_answers_on_the_third_attempt_ends_the_wait()
    {
        var attempts = 0;
        var checks = 0;
        var readiness = new MySqlReadiness(firstPause: TimeSpan.FromMilliseconds(1), answer: (_, _, _, _) =>
            ++attempts < 3 ? throw new IOException("Connection refused") : Task.CompletedTask);

        await readiness.WaitAsync("db-17", "db-1", "10.0.0.7", 3401, Credentials, TimeSpan.FromMinutes(1), _ => { checks++; return Task.CompletedTask; }, CancellationToken.None);

        Assert.That(attempts, Is.EqualTo(3));
        Assert.That(checks, Is.EqualTo(2), "the container is looked at after each failed attempt");
    }

    [Test]
    public async Task The_pauses_between_attempts_start_short_and_double_up_to_the_longest_pause()
    {
        var clock = new PauseRecordingClock();
        var attempts = 0;
        var readiness = new MySqlReadiness(clock, answer: (_, _, _, _) =>
            ++attempts < 9 ? throw new IOException("Connection refused") : Task.CompletedTask);

        await readiness.WaitAsync("db-17", "db-1", "10.0.0.7", 3401, Credentials, TimeSpan.FromMinutes(1), _ => Task.CompletedTask, CancellationToken.None);

        Assert.That(clock.Pauses.Select(static p => p.TotalMilliseconds), Is.EqualTo(new[] { 10, 20, 40, 50, 50, 50, 50, 50 }));
    }

    [Test]
    public void A_server_that_never_answers_fails_past_the_deadline_on_the_given_clock_with_the_last_error()
    {
        var clock = new ManualClock();
        var attempts = 0;
        // Each attempt takes 30 s on the clock: 30, 60 and 90 s are within the 90 s deadline, 120 s is not.
        var readiness = new MySqlReadiness(clock, TimeSpan.Zero, (_, _, _, _) =>
        {
            attempts++;
            clock.Advance(TimeSpan.FromSeconds(30));
            throw new TimeoutException($"Connect Timeout expired ({attempts})");
        });

        var e = Assert.ThrowsAsync<InstanceException>(() =>
            readiness.WaitAsync("db-17", "db-1", "10.0.0.7", 3401, Credentials, TimeSpan.FromSeconds(90), _ => Task.CompletedTask, CancellationToken.None));

        Assert.That(e!.Kind, Is.EqualTo(HostRuntimeErrorKind.InstanceNotReady));
        Assert.That(e.Message, Is.EqualTo("instance db-1 on host db-17 was not ready within 90 s (last error: Connect Timeout expired (4))"));
        Assert.That(attempts, Is.EqualTo(4));
    }

    [Test]
    public void A_container_that_stopped_ends_the_wait_at_once_with_its_reason()
    {
        var attempts = 0;
        var stopped = InstanceException.Failed("db-17", "db-1", "mysqld exited with code 1: [ERROR] Aborting");
        var readiness = new MySqlReadiness(answer: (_, _, _, _) => { attempts++; throw new IOException("Connection refused"); });

        var e = Assert.ThrowsAsync<InstanceException>(() =>
            readiness.WaitAsync("db-17", "db-1", "10.0.0.7", 3401, Credentials, TimeSpan.FromMinutes(1), _ => throw stopped, CancellationToken.None));

        Assert.That(e, Is.SameAs(stopped));
        Assert.That(attempts, Is.EqualTo(1));
    }

    [Test]
    public void A_failure_that_is_not_a_connection_failure_is_not_retried()
    {
        var attempts = 0;
        var readiness = new MySqlReadiness(answer: (_, _, _, _) => { attempts++; throw new InvalidOperationException("a bug"); });

        Assert.ThrowsAsync<InvalidOperationException>(() =>
            readiness.WaitAsync("db-17", "db-1", "10.0.0.7", 3401, Credentials, TimeSpan.FromMinutes(1), _ => Task.CompletedTask, CancellationToken.None));
        Assert.That(attempts, Is.EqualTo(1));
    }

    [Test]
    public void The_callers_cancellation_ends_the_wait()
    {
        using var cts = new CancellationTokenSource();
        var readiness = new MySqlReadiness(firstPause: TimeSpan.FromMilliseconds(1), answer: (_, _, _, _) => throw new IOException("Connection refused"));

        Assert.That(async () => await readiness.WaitAsync("db-17", "db-1", "10.0.0.7", 3401, Credentials, TimeSpan.FromMinutes(1),
            _ => { cts.Cancel(); return Task.CompletedTask; }, cts.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    /// <summary>The system clock, except that every pause asked of it is written down and ends at once.</summary>
    private sealed class PauseRecordingClock : TimeProvider
    {
        public List<TimeSpan> Pauses { get; } = [];

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (Pauses) Pauses.Add(dueTime);
            return System.CreateTimer(callback, state, TimeSpan.Zero, period);
        }
    }

    /// <summary>A clock whose timestamps move only when told to.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch.AddTicks(GetTimestamp());

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
