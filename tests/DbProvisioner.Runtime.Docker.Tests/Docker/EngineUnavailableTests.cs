using DbProvisioner.Runtime;
using Polly.CircuitBreaker;

namespace DbProvisioner.Runtime.Docker.Tests.Docker;

/// <summary>An engine that does not answer: retried, then a typed error, then the host's circuit opens.</summary>
public sealed class EngineUnavailableTests
{
    [Test]
    public void A_host_whose_engine_does_not_answer_gives_a_typed_error_and_then_fails_fast()
    {
        var options = new DockerRuntimeOptions
        {
            MaxRetryAttempts = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            CircuitMinimumThroughput = 3,
            CircuitBreakDuration = TimeSpan.FromMinutes(1),
        };
        using var factory = new DockerHostRuntimeFactory(options);
        var ghost = new HostConnection("ghost", new Uri("unix:///tmp/dbprov-no-engine.sock"), "127.0.0.1", HostConnection.DefaultImage);
        var runtime = factory.For(ghost);
        var closedBefore = runtime.CircuitOpen;

        var first = Assert.ThrowsAsync<EngineUnavailableException>(() => runtime.ListOwnedAsync(CancellationToken.None));
        var second = Assert.ThrowsAsync<EngineUnavailableException>(() => runtime.InspectInstanceAsync("db-1", CancellationToken.None));

        Assert.That(first!.Message, Is.EqualTo("the container engine of host ghost does not answer"));
        Assert.That(first.Kind, Is.EqualTo(HostRuntimeErrorKind.EngineUnavailable));
        Assert.That(second!.InnerException, Is.InstanceOf<BrokenCircuitException>(), "three failed attempts opened the circuit of host ghost");
        Assert.That(factory.For(ghost), Is.SameAs(runtime), "one runtime, one circuit per host");
        Assert.That((closedBefore, runtime.CircuitOpen), Is.EqualTo((false, true)), "the heartbeat sees the circuit open (and reports the host unhealthy)");
        Assert.ThrowsAsync<EngineUnavailableException>(() => runtime.PingAsync(CancellationToken.None), "the ping fails as every call does");
    }
}
