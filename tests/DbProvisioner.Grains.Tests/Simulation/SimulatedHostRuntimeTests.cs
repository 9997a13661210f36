using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;
using DbProvisioner.Testing.Simulation;

namespace DbProvisioner.Grains.Tests.Simulation;

/// <summary>The fake must catch what it is there to catch, or the grain tests prove nothing.</summary>
public sealed class SimulatedHostRuntimeTests
{
    private SimulatedHostRuntimeFactory _factory = null!;
    private SimulatedHostRuntime _host = null!;

    [SetUp]
    public async Task CreateHostAsync()
    {
        _factory = new SimulatedHostRuntimeFactory();
        _factory.SetTopology("sim", TopologyBuilder.Uniform(2, 4, 2, 16384));
        _host = (SimulatedHostRuntime)_factory.For(new HostConnection("sim", new Uri("tcp://sim:2375"), "127.0.0.1", HostConnection.DefaultImage));
        await _host.FormatDiskAsync("/dev/sim-disk-0", seed: true, CancellationToken.None);
        await _host.FormatDiskAsync("/dev/sim-disk-1", seed: false, CancellationToken.None);
    }

    private static InstanceContainerSpec Spec(string id, string device, CpuSet cpus, int port) =>
        new(id, device, cpus, [0], 1024, 256, 1, port, "[mysqld]\nport = 1\n", InstanceCredentials.Generate());

    [Test]
    public async Task TheSameHostId_GetsTheSameRuntime_AndStartsAreRecorded()
    {
        var again = _factory.For(new HostConnection("sim", new Uri("tcp://sim:2375"), "127.0.0.1", HostConnection.DefaultImage));
        await _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306), CancellationToken.None);

        Assert.That(again, Is.SameAs(_host));
        Assert.That(_factory.Host("sim").Running.Keys, Is.EqualTo(new[] { "a" }));
        Assert.That(_host.Violations, Is.Empty);
    }

    [Test]
    public async Task TwoContainersOnOneDevice_IsAViolation()
    {
        await _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306), CancellationToken.None);
        await _host.StartInstanceAsync(Spec("b", "/dev/sim-disk-0", CpuSet.Of(2, 10), 3307), CancellationToken.None);

        Assert.That(_host.Violations, Has.Exactly(1).Contains("device /dev/sim-disk-0"));
    }

    [Test]
    public async Task OverlappingCpuSets_AreAViolation()
    {
        await _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306), CancellationToken.None);
        await _host.StartInstanceAsync(Spec("b", "/dev/sim-disk-1", CpuSet.Of(9, 2), 3307), CancellationToken.None);

        Assert.That(_host.Violations, Has.Exactly(1).Contains("CPUs 9"));
    }

    [Test]
    public async Task ThePortOfAnotherContainer_FailsTheStart_AndIsAViolation()
    {
        await _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306), CancellationToken.None);

        Assert.ThrowsAsync<PortInUseException>(() => _host.StartInstanceAsync(Spec("b", "/dev/sim-disk-1", CpuSet.Of(2, 10), 3306), CancellationToken.None));
        Assert.That(_host.Violations, Has.Exactly(1).Contains("port 3306"));
        Assert.That(_host.Running.Keys, Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public async Task FormattingADiskInUse_IsRefused_AndAViolation()
    {
        await _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306), CancellationToken.None);

        Assert.ThrowsAsync<InstanceException>(() => _host.FormatDiskAsync("/dev/sim-disk-0", false, CancellationToken.None));
        Assert.That(_host.Violations, Has.Exactly(1).Contains("format of /dev/sim-disk-0"));
    }

    [Test]
    public void StartingOnAnUnformattedDevice_IsRefused_AndAViolation()
    {
        Assert.ThrowsAsync<DiskException>(() => _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-7", CpuSet.Of(1, 9), 3306), CancellationToken.None));
        Assert.That(_host.Violations, Has.Exactly(1).Contains("never formatted"));
    }

    [Test]
    public void CpusTheHostDoesNotHave_AreRefused_AndAViolation()
    {
        Assert.ThrowsAsync<ResourceNotOnHostException>(() => _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 40), 3306), CancellationToken.None));
        Assert.That(_host.Violations, Has.Exactly(1).Contains("40"));
    }

    [Test]
    public async Task StartingTheSameInstanceAgain_IsIdempotent_AndNoViolation()
    {
        var spec = Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306);
        var first = await _host.StartInstanceAsync(spec, CancellationToken.None);
        var second = await _host.StartInstanceAsync(spec, CancellationToken.None);

        Assert.That(second.ContainerId, Is.EqualTo(first.ContainerId));
        Assert.That(_host.Violations, Is.Empty);
        Assert.That(_host.Starts, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task AnInjectedStartFailure_HappensOnce_AndLeavesNoContainer()
    {
        _host.FailStartOf("a");
        var spec = Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306);

        Assert.ThrowsAsync<InstanceException>(() => _host.StartInstanceAsync(spec, CancellationToken.None));
        Assert.That(_host.Running, Is.Empty);
        await _host.StartInstanceAsync(spec, CancellationToken.None);
        Assert.That(_host.Running.Keys, Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public void ADownEngine_ThrowsEngineUnavailable_ForEveryCall()
    {
        _host.EngineDown = true;

        Assert.ThrowsAsync<EngineUnavailableException>(() => _host.FormatDiskAsync("/dev/sim-disk-1", false, CancellationToken.None));
        Assert.ThrowsAsync<EngineUnavailableException>(() => _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306), CancellationToken.None));
        Assert.ThrowsAsync<EngineUnavailableException>(() => _host.ListOwnedAsync(CancellationToken.None));
    }

    [Test]
    public async Task WaitUntilReady_WithOtherCredentials_FailsAndIsAViolation()
    {
        await _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306), CancellationToken.None);

        Assert.ThrowsAsync<InstanceException>(() => _host.WaitUntilReadyAsync("a", 3306, InstanceCredentials.Generate(), TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.That(_host.Violations, Has.Exactly(1).Contains("other credentials"));
    }

    [Test]
    public async Task ListOwned_ReflectsStartsAndRemovals_WithOwnershipLabels()
    {
        await _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306), CancellationToken.None);
        await _host.StartInstanceAsync(Spec("b", "/dev/sim-disk-1", CpuSet.Of(2, 10), 3307), CancellationToken.None);
        await _host.RemoveInstanceAsync("a", CancellationToken.None);

        var owned = await _host.ListOwnedAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(owned.Containers.Select(c => c.InstanceId), Is.EqualTo(new[] { "b" }));
            Assert.That(owned.Volumes.Select(v => v.InstanceId), Is.EqualTo(new[] { "b" }));
            Assert.That(owned.Containers[0].Labels[OwnershipLabels.Disk], Is.EqualTo("/dev/sim-disk-1"));
            Assert.That(owned.Containers[0].Labels[OwnershipLabels.Host], Is.EqualTo("sim"));
            Assert.That(_host.Violations, Is.Empty);
        });
    }

    [Test]
    public async Task HeldFormats_WaitUntilReleased()
    {
        // Without a delay an unheld format ends within the call: only the hold can keep it open.
        _host.FormatDelay = TimeSpan.Zero;
        _host.FormatHold.Hold();
        var format = _host.FormatDiskAsync("/dev/sim-disk-2", false, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(format.IsCompleted, Is.False);
            Assert.That(_host.FormatHold.Waiting, Is.EqualTo(1));
            Assert.That(_host.Disk("/dev/sim-disk-2").IsXfs, Is.False, "nothing formatted while held");
        });

        _host.FormatHold.Release();
        await format.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(_host.Disk("/dev/sim-disk-2").IsXfs, Is.True);
    }

    [Test]
    public async Task UnheldFormats_WithoutADelay_EndWithinTheCall()
    {
        _host.FormatDelay = TimeSpan.Zero;

        var format = _host.FormatDiskAsync("/dev/sim-disk-2", false, CancellationToken.None);

        Assert.That(format.IsCompletedSuccessfully, Is.True, "the premise of HeldFormats_WaitUntilReleased");
        await format;
    }

    [Test]
    public async Task HeldStarts_AreRecorded_ButStartNothingUntilReleased()
    {
        _host.StartDelay = TimeSpan.Zero;
        _host.StartHold.Hold();
        var start = _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306), CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(start.IsCompleted, Is.False);
            Assert.That(_host.Starts.Select(s => s.InstanceId), Is.EqualTo(new[] { "a" }), "the call is seen as soon as it is made");
            Assert.That(_host.Running, Is.Empty, "no container while held");
        });

        _host.StartHold.Release();
        await start.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(_host.Running.Keys, Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public async Task HeldReadiness_DoesNotAnswerUntilReleased()
    {
        var credentials = InstanceCredentials.Generate();
        await _host.StartInstanceAsync(Spec("a", "/dev/sim-disk-0", CpuSet.Of(1, 9), 3306) with { Credentials = credentials }, CancellationToken.None);
        _host.ReadyDelay = TimeSpan.Zero;
        _host.ReadyHold.Hold();

        var ready = _host.WaitUntilReadyAsync("a", 3306, credentials, TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.That(ready.IsCompleted, Is.False);

        _host.ReadyHold.Release();
        await ready.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(_host.Violations, Is.Empty);
    }
}
