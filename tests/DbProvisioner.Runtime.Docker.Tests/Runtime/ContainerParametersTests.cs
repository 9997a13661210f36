using System.Text.Json;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;
using Docker.DotNet.Models;

namespace DbProvisioner.Runtime.Docker.Tests.Runtime;

/// <summary>What the Docker driver asks the engine to create, checked without an engine (DESIGN.md, "The container").</summary>
public sealed class ContainerParametersTests
{
    private const long MiB = 1L << 20;
    private static readonly HostConnection Host = new("db-17", new Uri("tcp://10.0.0.7:2376"), "10.0.0.7", "dbprov/mysql:10.11");
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private static InstanceContainerSpec Spec(long memoryMiB = 1024, long swapMiB = 512, int swappiness = 10, int[]? memoryNodes = null, InstanceCredentials? credentials = null) =>
        new("db-1", "/dev/xvdq", CpuSet.Of(2, 3, 4, 6), memoryNodes ?? [0], memoryMiB, swapMiB, swappiness, 3401, "[mysqld]\n",
            credentials ?? InstanceCredentials.Generate(database: "app", user: "app"),
            new Dictionary<string, string> { ["dbprov.cluster"] = "orders", ["dbprov.role"] = "primary" });

    private static CreateContainerParameters Build(InstanceContainerSpec spec) => ContainerParameters.ForInstance(Host, spec, StopTimeout);

    private static IEnumerable<TestCaseData> MemoryAndSwap()
    {
        yield return new TestCaseData(1024L, 0L, 0, 1024 * MiB, 1024 * MiB).SetName("swap 0: memory+swap = memory (no swap at all)");
        yield return new TestCaseData(1024L, 512L, 10, 1024 * MiB, 1536 * MiB).SetName("1 GiB + 512 MiB swap, swappiness 10");
        yield return new TestCaseData(4096L, 4096L, 60, 4096 * MiB, 8192 * MiB).SetName("swap as large as memory, swappiness 60");
    }

    [TestCaseSource(nameof(MemoryAndSwap))]
    public void Memory_swap_and_swappiness_are_the_engine_limits(long memoryMiB, long swapMiB, int swappiness, long memory, long memorySwap)
    {
        var hostConfig = Build(Spec(memoryMiB, swapMiB, swappiness)).HostConfig!;

        Assert.That(hostConfig.Memory, Is.EqualTo(memory));
        Assert.That(hostConfig.MemorySwap, Is.EqualTo(memorySwap));
        Assert.That(hostConfig.MemorySwappiness, Is.EqualTo(swappiness));
    }

    [TestCase(new int[0], "", TestName = "interleave or none: no memory binding, memory interleaved across nodes")]
    [TestCase(new[] { 0 }, "0", TestName = "required or preferred on node 0")]
    [TestCase(new[] { 1 }, "1", TestName = "required on node 1")]
    [TestCase(new[] { 0, 1 }, "0,1", TestName = "preferred on the fewest nodes, 0 and 1")]
    [TestCase(new[] { 3, 1 }, "1,3", TestName = "nodes 1 and 3, in order")]
    public void The_memory_nodes_are_the_cpuset_mems(int[] memoryNodes, string cpusetMems) =>
        Assert.That(Build(Spec(memoryNodes: memoryNodes)).HostConfig!.CpusetMems, Is.EqualTo(cpusetMems));

    [Test]
    public void The_cpu_set_is_exactly_the_assigned_cpus() =>
        Assert.That(Build(Spec()).HostConfig!.CpusetCpus, Is.EqualTo("2-4,6"));

    [Test]
    public void The_container_carries_the_ownership_labels_and_the_callers_labels()
    {
        var labels = Build(Spec()).Labels;

        Assert.That(labels, Is.EquivalentTo(new Dictionary<string, string>
        {
            [OwnershipLabels.ManagedBy] = "dbprovisioner",
            [OwnershipLabels.Host] = "db-17",
            [OwnershipLabels.Instance] = "db-1",
            [OwnershipLabels.Port] = "3401",
            [OwnershipLabels.Disk] = "/dev/xvdq",
            ["dbprov.cluster"] = "orders",
            ["dbprov.role"] = "primary",
        }));
    }

    [Test]
    public void Mysqld_runs_as_mysql_on_the_host_network_on_its_port_and_comes_back_after_a_reboot()
    {
        var parameters = Build(Spec());

        Assert.That(parameters.Name, Is.EqualTo("dbprov-db-1"));
        Assert.That(parameters.Image, Is.EqualTo("dbprov/mysql:10.11"));
        Assert.That(parameters.User, Is.EqualTo("mysql"));
        Assert.That(parameters.Cmd, Is.EqualTo(new[] { "mysqld", "--port=3401" }));
        Assert.That(parameters.StopTimeout, Is.EqualTo(StopTimeout));
        Assert.That(parameters.HostConfig!.NetworkMode, Is.EqualTo("host"));
        Assert.That(parameters.HostConfig!.RestartPolicy.Name, Is.EqualTo(RestartPolicyKind.UnlessStopped));
    }

    [Test]
    public void The_container_has_no_capability_no_new_privileges_and_no_device()
    {
        var hostConfig = Build(Spec()).HostConfig!;

        Assert.That(hostConfig.CapDrop, Is.EqualTo(new[] { "ALL" }));
        Assert.That(hostConfig.CapAdd, Is.Null.Or.Empty);
        Assert.That(hostConfig.SecurityOpt, Is.EqualTo(new[] { "no-new-privileges" }));
        Assert.That(hostConfig.Privileged, Is.False);
        Assert.That(hostConfig.Devices, Is.Null.Or.Empty, "the disk reaches the container as its data volume, never as a device");
    }

    [Test]
    public void The_data_volume_on_the_claimed_disk_is_the_data_directory()
    {
        var spec = Spec();
        var mount = Build(spec).HostConfig!.Mounts!.Single();
        var volume = ContainerParameters.ForDataVolume(Host, spec);

        Assert.That((mount.Type, mount.Source, mount.Target), Is.EqualTo(("volume", "dbprov-data-db-1", "/var/lib/mysql")));
        Assert.That(mount.ReadOnly, Is.Not.True);
        Assert.That(volume.Name, Is.EqualTo(mount.Source));
        Assert.That(volume.Driver, Is.EqualTo("local"));
        Assert.That(volume.DriverOpts, Is.EquivalentTo(new Dictionary<string, string> { ["type"] = "xfs", ["device"] = "/dev/xvdq" }));
        Assert.That(volume.Labels, Is.EquivalentTo(Build(spec).Labels), "the volume is found and reconciled like its container");
    }

    [TestCase("app", "app", new[] { "MYSQL_ROOT_PASSWORD_FILE=/etc/dbprov/secrets/root-password", "MYSQL_DATABASE=app", "MYSQL_USER=app", "MYSQL_PASSWORD_FILE=/etc/dbprov/secrets/user-password" },
        TestName = "a database and a user: their names, and the files of the passwords")]
    [TestCase(null, null, new[] { "MYSQL_ROOT_PASSWORD_FILE=/etc/dbprov/secrets/root-password" }, TestName = "root alone: the file of its password")]
    public void The_environment_names_the_password_files(string? database, string? user, string[] env) =>
        Assert.That(Build(Spec(credentials: InstanceCredentials.Generate(database, user))).Env, Is.EqualTo(env));

    [Test]
    public void No_password_is_in_what_the_engine_is_sent()
    {
        var spec = Spec();

        var sent = JsonSerializer.Serialize(Build(spec)) + JsonSerializer.Serialize(ContainerParameters.ForDataVolume(Host, spec));

        Assert.That(sent, Does.Not.Contain(spec.Credentials.RootPassword));
        Assert.That(sent, Does.Not.Contain(spec.Credentials.UserPassword!));
        Assert.That(sent, Does.Contain("MYSQL_PASSWORD_FILE"), "the serialised parameters are the ones under test");
    }

    [Test]
    public void A_port_below_1024_is_refused_because_mysqld_is_not_root()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Build(Spec() with { Port = 1023 }));

        Assert.That(e!.Message, Does.StartWith("a non-root mysqld needs a port from 1024 up"));
    }

    [Test]
    public void A_spec_that_cannot_describe_a_container_is_refused_before_anything_is_built()
    {
        Assert.Throws<ArgumentException>(() => Build(Spec() with { InstanceId = "UPPER" }));
        Assert.Throws(Is.InstanceOf<ArgumentOutOfRangeException>(), () => Build(Spec(memoryMiB: 1024, swapMiB: 1L << 62)), "memory+swap would wrap");
    }

    private static readonly Dictionary<string, HelperSpec> HelperSpecs = new()
    {
        ["topology"] = new HelperSpec("topology", ["sh"]) { User = "mysql" },
        ["port"] = new HelperSpec("port", ["perl"]) { User = "mysql", HostNetwork = true },
        ["format"] = new HelperSpec("format", ["sh"]) { Device = "/dev/xvdq", CapAdd = ["SYS_ADMIN"] },
        ["check"] = new HelperSpec("check", ["sh"]) { Volume = "dbprov-check-loop3", VolumeReadOnly = true },
    };

    [TestCase("topology", "none", null, null, TestName = "a sysfs reader: no network, no device, no volume")]
    [TestCase("port", "host", null, null, TestName = "a port probe: the host's network")]
    [TestCase("format", "none", "/dev/xvdq", null, TestName = "mkfs: the disk and CAP_SYS_ADMIN")]
    [TestCase("check", "none", null, "dbprov-check-loop3", TestName = "a check of a disk's contents: its volume, read-only")]
    public void A_helper_gets_nothing_but_what_it_needs(string purpose, string network, string? device, string? volume)
    {
        var helper = HelperSpecs[purpose];
        var parameters = ContainerParameters.ForHelper(Host, helper, "dbprov-helper-x");
        var hostConfig = parameters.HostConfig!;

        Assert.That(parameters.User, Is.EqualTo(helper.User));
        Assert.That(hostConfig.NetworkMode, Is.EqualTo(network));
        Assert.That(hostConfig.CapDrop, Is.EqualTo(new[] { "ALL" }));
        Assert.That(hostConfig.CapAdd, Is.EqualTo(helper.CapAdd));
        Assert.That(hostConfig.SecurityOpt, Is.EqualTo(new[] { "no-new-privileges" }));
        Assert.That(hostConfig.ReadonlyRootfs, Is.True);
        Assert.That(hostConfig.Devices!.Select(d => (d.PathOnHost, d.PathInContainer)),
            Is.EqualTo(device is null ? [] : new[] { (device, "/dev/dbprov-disk") }));
        Assert.That(hostConfig.Mounts!.Select(m => (m.Source, m.Target, m.ReadOnly)),
            Is.EqualTo(volume is null ? [] : new[] { (volume, "/var/lib/mysql", helper.VolumeReadOnly) }));
        Assert.That(parameters.Labels[OwnershipLabels.Helper], Is.EqualTo(helper.Purpose));
        Assert.That(parameters.Labels.TryGetValue(OwnershipLabels.Disk, out var disk) ? disk : null, Is.EqualTo(device));
        Assert.That(parameters.Labels[OwnershipLabels.Host], Is.EqualTo("db-17"));
    }
}
