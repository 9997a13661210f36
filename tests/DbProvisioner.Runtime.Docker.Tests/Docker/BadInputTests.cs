using System.Net;
using System.Net.Sockets;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;
using DbProvisioner.Testing;

namespace DbProvisioner.Runtime.Docker.Tests.Docker;

/// <summary>Bad input gives a typed error a DBA understands and leaves no container, volume or mount behind.</summary>
[Category("Engine")]
public sealed class BadInputTests
{
    private const string MissingDevice = "/dev/dbprov-no-such-disk";
    private static readonly string FormattedDevice = TestDisks.Resolve("disk-03");
    private DockerHostRuntimeFactory _factory = null!;
    private IHostRuntime _runtime = null!;

    [OneTimeSetUp]
    public async Task FormatAsync()
    {
        _factory = new DockerHostRuntimeFactory();
        _runtime = _factory.For(Engine.Host);
        await _runtime.FormatDiskAsync(FormattedDevice, seed: true, Engine.Timeout());
    }

    [OneTimeTearDown]
    public void Dispose() => _factory.Dispose();

    [Test]
    public async Task A_device_that_does_not_exist()
    {
        var spec = Engine.Spec("rtt-bad-missing", MissingDevice, cpu: 0, port: 3410);

        var start = Assert.ThrowsAsync<DiskException>(() => _runtime.StartInstanceAsync(spec, Engine.Timeout()));
        var format = Assert.ThrowsAsync<DiskException>(() => _runtime.FormatDiskAsync(MissingDevice, seed: false, Engine.Timeout()));

        Assert.That(start!.Message, Is.EqualTo($"{MissingDevice} does not exist on host local"));
        Assert.That(start.Kind, Is.EqualTo(HostRuntimeErrorKind.DeviceNotFound));
        Assert.That(format!.Message, Is.EqualTo($"{MissingDevice} does not exist on host local"));
        await AssertNothingLeftAsync(spec.InstanceId, MissingDevice);
    }

    [Test]
    public async Task A_device_that_is_not_a_block_device()
    {
        var spec = Engine.Spec("rtt-bad-null", "/dev/null", cpu: 0, port: 3411);

        var start = Assert.ThrowsAsync<DiskException>(() => _runtime.StartInstanceAsync(spec, Engine.Timeout()));
        var format = Assert.ThrowsAsync<DiskException>(() => _runtime.FormatDiskAsync("/dev/null", seed: false, Engine.Timeout()));
        var check = Assert.ThrowsAsync<DiskException>(() => _runtime.CheckDiskAsync("/dev/null", Engine.Timeout()));

        Assert.That(start!.Message, Is.EqualTo("/dev/null is not a block device"));
        Assert.That(format!.Message, Is.EqualTo("/dev/null is not a block device"));
        Assert.That(check!.Kind, Is.EqualTo(HostRuntimeErrorKind.NotABlockDevice));
        await AssertNothingLeftAsync(spec.InstanceId, "/dev/null");
    }

    [Test]
    public async Task A_cpu_the_host_lacks()
    {
        var spec = Engine.Spec("rtt-bad-cpu", FormattedDevice, cpu: 5, port: 3412);

        var e = Assert.ThrowsAsync<ResourceNotOnHostException>(() => _runtime.StartInstanceAsync(spec, Engine.Timeout()));

        Assert.That(e!.Message, Is.EqualTo("CPU 5 does not exist on host local"));
        Assert.That(e.Kind, Is.EqualTo(HostRuntimeErrorKind.CpuNotOnHost));
        Assert.That(e.Missing, Is.EqualTo(CpuSet.Of(5)));
        await AssertNothingLeftAsync(spec.InstanceId, FormattedDevice);
    }

    [Test]
    public async Task A_numa_node_the_host_lacks()
    {
        var spec = Engine.Spec("rtt-bad-node", FormattedDevice, cpu: 0, port: 3413) with { MemoryNodes = [3] };

        var e = Assert.ThrowsAsync<ResourceNotOnHostException>(() => _runtime.StartInstanceAsync(spec, Engine.Timeout()));

        Assert.That(e!.Message, Is.EqualTo("NUMA node 3 does not exist on host local"));
        await AssertNothingLeftAsync(spec.InstanceId, FormattedDevice);
    }

    [Test]
    public async Task A_port_someone_else_holds_is_reported_taken_once_mysqld_cannot_bind_it()
    {
        var port = TestPorts.Next();
        using var squatter = new TcpListener(IPAddress.Any, port);
        squatter.Start();
        var spec = Engine.Spec("rtt-bad-port", FormattedDevice, cpu: 0, port: port);

        // No check before start any more: the container starts, and its mysqld cannot bind.
        await _runtime.StartInstanceAsync(spec, Engine.Timeout());
        var e = Assert.ThrowsAsync<PortInUseException>(() => _runtime.WaitUntilReadyAsync(spec.InstanceId, port, spec.Credentials, Engine.ReadyDeadline, Engine.Timeout()));
        await _runtime.RemoveInstanceAsync(spec.InstanceId, Engine.Timeout());

        Assert.That(e!.Message, Is.EqualTo($"port {port} is already in use on host local"));
        Assert.That(e.Kind, Is.EqualTo(HostRuntimeErrorKind.PortInUse));
        await AssertNothingLeftAsync(spec.InstanceId, FormattedDevice);
    }

    [Test]
    public async Task An_image_the_host_does_not_have()
    {
        var host = Engine.Host with { Image = "dbprov/no-such-image:0" };
        var runtime = _factory.For(host);

        var e = Assert.ThrowsAsync<ImageMissingException>(() => runtime.DiscoverTopologyAsync(Engine.Timeout()));

        Assert.That(e!.Message, Is.EqualTo("image dbprov/no-such-image:0 is not on host local"));
        var (_, leftovers, _) = await Engine.DockerAsync("ps", "-aq", "--filter", "ancestor=dbprov/no-such-image:0");
        Assert.That(leftovers.Trim(), Is.Empty);
    }

    private static async Task AssertNothingLeftAsync(string instanceId, string device)
    {
        var (containers, volumes) = await Engine.LeftoversOfAsync(instanceId);
        Assert.That(containers, Is.Empty, "containers");
        Assert.That(volumes, Is.Empty, "volumes");
        Assert.That(await Engine.HelperLeftoversForAsync(device), Is.Empty, "helpers");
        Assert.That(Engine.IsMountedOnHost(device), Is.False, "mounts");
    }
}
