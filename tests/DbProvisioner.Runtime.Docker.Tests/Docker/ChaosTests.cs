using DbProvisioner.Runtime.Faults;

namespace DbProvisioner.Runtime.Docker.Tests.Docker;

/// <summary>
/// The drill switch of the driver's pipeline (issue 9): off, calls reach the engine; with every call faulted, the
/// retries and then the caller see what an engine that does not answer looks like, and the engine is never called.
/// </summary>
[Category("Engine")]
public sealed class ChaosTests
{
    private static DockerRuntimeOptions Options(double faultRate) => new()
    {
        MaxRetryAttempts = 1,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        Chaos = new ChaosOptions { FaultRate = faultRate, Seed = 7 },
    };

    [Test]
    public async Task WithChaosOff_TheEngineAnswers()
    {
        using var factory = new DockerHostRuntimeFactory(Options(0));
        var topology = await factory.For(Engine.Host).DiscoverTopologyAsync(Engine.Timeout());
        Assert.That(topology.LogicalCpuCount, Is.GreaterThan(0));
    }

    [Test]
    public void WithEveryCallFaulted_TheCallerSeesAnUnavailableEngine()
    {
        using var factory = new DockerHostRuntimeFactory(Options(1));
        var refused = Assert.ThrowsAsync<EngineUnavailableException>(() => factory.For(Engine.Host).DiscoverTopologyAsync(Engine.Timeout()));
        Assert.That(refused!.InnerException?.Message, Does.Contain("fault injected by the chaos drill"));
    }

    [Test]
    public void ARateOutOfRange_IsRefusedNamingTheSetting()
    {
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => new DockerHostRuntimeFactory(Options(1.5)).For(Engine.Host));
        Assert.That(bad!.Message, Does.Contain("Docker:Chaos:FaultRate"));
    }
}
