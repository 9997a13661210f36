using DbProvisioner.Runtime;
using DbProvisioner.Testing;

namespace DbProvisioner.Runtime.Docker.Tests.Docker;

/// <summary>The heartbeat's questions to a real engine: the ping with the engine's CPU count, and which pool disks are gone.</summary>
[Category("Engine")]
public sealed class HostProbeTests
{
    [Test]
    public async Task The_ping_reports_the_machines_cpus_and_memory()
    {
        using var factory = new DockerHostRuntimeFactory();
        var facts = await factory.For(Engine.Host).PingAsync(Engine.Timeout());
        var topology = await factory.For(Engine.Host).DiscoverTopologyAsync(Engine.Timeout());

        Assert.That(facts, Is.Not.Null);
        Assert.That(facts!.LogicalCpus, Is.EqualTo(topology.LogicalCpuCount), "what the heartbeat compares with the registered topology");
        Assert.That(facts.MemoryMiB, Is.GreaterThan(0));
    }

    [Test]
    public async Task Only_the_devices_that_are_gone_are_reported_missing()
    {
        using var factory = new DockerHostRuntimeFactory();
        var present = TestDisks.Resolve("disk-03");
        const string gone = "/dev/dbprov-no-such-disk";

        var missing = await factory.For(Engine.Host).FindMissingDevicesAsync([present, gone], Engine.Timeout());

        Assert.That(missing, Is.EqualTo(new[] { gone }));
        var (_, helpers, _) = await Engine.DockerAsync("ps", "-aq", "--filter", "label=dbprov.helper=disk-presence");
        Assert.That(helpers.Trim(), Is.Empty, "the helper removes itself");
    }
}
