using System.Text.Json;
using DbProvisioner.Runtime;
using DbProvisioner.Testing;

namespace DbProvisioner.Runtime.Docker.Tests.Docker;

/// <summary>
/// One instance provisioned the way the appliance does it — a formatted, seeded disk, CPU 1 on
/// node 0, 1 GiB + 512 MiB swap, swappiness 10, port 3401 — then checked the way a DBA would.
/// </summary>
[Category("Engine")]
public sealed class ProvisionedInstanceTests
{
    private const string Id = "rtt-prov";
    private static readonly string Device = TestDisks.Resolve("disk-01");
    private const int Port = 3401;
    private const string Container = "dbprov-" + Id;

    private DockerHostRuntimeFactory _factory = null!;
    private IHostRuntime _runtime = null!;
    private InstanceContainerSpec _spec = null!;
    private InstanceHandle _handle = null!;

    [OneTimeSetUp]
    public async Task ProvisionAsync()
    {
        _factory = new DockerHostRuntimeFactory();
        _runtime = _factory.For(Engine.Host);
        _spec = Engine.Spec(Id, Device, cpu: 1, Port, memoryMiB: 1024, swapMiB: 512, swappiness: 10,
            credentials: InstanceCredentials.Generate(database: "app", user: "app"));
        await _runtime.FormatDiskAsync(Device, seed: true, Engine.Timeout());
        _handle = await _runtime.StartInstanceAsync(_spec, Engine.Timeout());
        await _runtime.WaitUntilReadyAsync(Id, Port, _spec.Credentials, Engine.ReadyDeadline, Engine.Timeout());
    }

    [OneTimeTearDown]
    public async Task RemoveAsync()
    {
        await _runtime.RemoveInstanceAsync(Id, Engine.Timeout());
        _factory.Dispose();
    }

    [Test]
    public async Task The_disk_is_the_data_directory_inside_the_container()
    {
        var mounts = await Engine.ExecAsync(Container, "cat", "/proc/mounts");

        Assert.That(mounts.Split('\n').Select(l => l.Split(' ')).Any(f => f[0] == Device && f[1] == "/var/lib/mysql" && f[2] == "xfs"), Is.True, mounts);
    }

    [Test]
    public async Task The_cgroup_holds_exactly_the_requested_cpus_memory_nodes_limits_and_swappiness()
    {
        Assert.That(await Engine.ExecAsync(Container, "cat", "/sys/fs/cgroup/cpuset/cpuset.cpus"), Is.EqualTo("1"));
        Assert.That(await Engine.ExecAsync(Container, "cat", "/sys/fs/cgroup/cpuset/cpuset.mems"), Is.EqualTo("0"));
        Assert.That(await Engine.ExecAsync(Container, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"), Is.EqualTo((1024L << 20).ToString()));
        Assert.That(await Engine.ExecAsync(Container, "cat", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"), Is.EqualTo((1536L << 20).ToString()));
        Assert.That(await Engine.ExecAsync(Container, "cat", "/sys/fs/cgroup/memory/memory.swappiness"), Is.EqualTo("10"));
    }

    [Test]
    public async Task MySql_answers_on_the_port_with_the_generated_passwords_and_the_generated_my_cnf()
    {
        await using var root = await Engine.ConnectAsync(Port, _spec.Credentials.RootPassword);
        Assert.That(await Engine.ScalarAsync(root, "SELECT 1"), Is.EqualTo(1));
        Assert.That(await Engine.ScalarAsync(root, "SELECT @@innodb_flush_method"), Is.EqualTo("O_DIRECT"));
        Assert.That(Convert.ToInt64(await Engine.ScalarAsync(root, "SELECT @@innodb_buffer_pool_size")), Is.EqualTo(640L << 20), "70% of 1 GiB in 128 MiB chunks");
        Assert.That(Convert.ToInt64(await Engine.ScalarAsync(root, "SELECT @@server_id")), Is.EqualTo(Port));

        await using var app = await Engine.ConnectAsync(Port, _spec.Credentials.UserPassword!, user: "app");
        Assert.That(await Engine.ScalarAsync(app, "SELECT DATABASE() IS NULL"), Is.EqualTo(1));
        Assert.That(await Engine.ScalarAsync(app, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'app'"), Is.EqualTo(1));
    }

    [Test]
    public async Task The_passwords_are_in_no_environment_variable_and_no_log_line()
    {
        var (_, inspect, _) = await Engine.DockerAsync("inspect", Container);
        var (_, stdout, stderr) = await Engine.DockerAsync("logs", Container);
        var mysqldEnvironment = await Engine.ExecAsync(Container, "cat", "/proc/1/environ");
        var (_, volumeInspect, _) = await Engine.DockerAsync("volume", "inspect", ResourceNames.DataVolume(Id));

        foreach (var secret in new[] { _spec.Credentials.RootPassword, _spec.Credentials.UserPassword! })
        {
            Assert.That(inspect, Does.Not.Contain(secret), "docker inspect");
            Assert.That(volumeInspect, Does.Not.Contain(secret), "docker volume inspect");
            Assert.That(stdout + stderr, Does.Not.Contain(secret), "docker logs");
            Assert.That(mysqldEnvironment, Does.Not.Contain(secret), "mysqld's /proc/1/environ");
        }
        Assert.That(await Engine.ExecAsync(Container, "stat", "-c", "%a %u:%g", "/etc/dbprov/secrets/root-password", "/etc/mysql/conf.d/dbprov.cnf"),
            Is.EqualTo("400 999:999\n400 999:999"), "readable by mysql alone");
    }

    [Test]
    public async Task The_files_arrive_in_one_upload_that_leaves_the_images_directories_as_they_were()
    {
        Assert.That(await Engine.ExecAsync(Container, "stat", "-c", "%a %u:%g %n", "/", "/etc", "/etc/mysql/conf.d", "/etc/dbprov", "/etc/dbprov/secrets"),
            Is.EqualTo("755 0:0 /\n755 0:0 /etc\n755 0:0 /etc/mysql/conf.d\n755 0:0 /etc/dbprov\n750 999:999 /etc/dbprov/secrets"));
        Assert.That(await Engine.ExecAsync(Container, "stat", "-c", "%a %u:%g %n", "/etc/dbprov/secrets/user-password"),
            Is.EqualTo("400 999:999 /etc/dbprov/secrets/user-password"), "the user's password came with the root's");
    }

    [Test]
    public async Task The_container_runs_as_non_root_without_capabilities_and_with_no_new_privileges()
    {
        var status = (await Engine.ExecAsync(Container, "cat", "/proc/1/status")).Split('\n')
            .Select(l => l.Split(':', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1].Trim());
        Assert.That(status["Uid"].Split('\t', StringSplitOptions.RemoveEmptyEntries), Is.All.EqualTo("999"));
        Assert.That(status["NoNewPrivs"], Is.EqualTo("1"));
        Assert.That(status["CapEff"], Is.EqualTo("0000000000000000"));
        Assert.That(status["CapBnd"], Is.EqualTo("0000000000000000"));

        var hostConfig = await InspectAsync("HostConfig");
        Assert.That(hostConfig.GetProperty("CapDrop").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "ALL" }));
        Assert.That(hostConfig.GetProperty("CapAdd").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(hostConfig.GetProperty("SecurityOpt").EnumerateArray().Select(e => e.GetString()), Does.Contain("no-new-privileges"));
        Assert.That(hostConfig.GetProperty("Privileged").GetBoolean(), Is.False);
        Assert.That(hostConfig.GetProperty("NetworkMode").GetString(), Is.EqualTo("host"));
    }

    [Test]
    public async Task A_container_restart_brings_back_the_same_container_with_the_same_data()
    {
        await using (var before = await Engine.ConnectAsync(Port, _spec.Credentials.RootPassword))
        {
            await Engine.ScalarAsync(before, "CREATE TABLE IF NOT EXISTS app.survivors (id INT PRIMARY KEY, note VARCHAR(40))");
            await Engine.ScalarAsync(before, "REPLACE INTO app.survivors VALUES (1, 'written before the restart')");
        }
        Assert.That((await InspectAsync("HostConfig")).GetProperty("RestartPolicy").GetProperty("Name").GetString(), Is.EqualTo("unless-stopped"),
            "so that an engine or host restart starts this same container again");

        var (exit, _, stderr) = await Engine.DockerAsync("restart", Container);
        Assert.That(exit, Is.Zero, stderr);
        await _runtime.WaitUntilReadyAsync(Id, Port, _spec.Credentials, Engine.ReadyDeadline, Engine.Timeout());

        var status = await _runtime.InspectInstanceAsync(Id, Engine.Timeout());
        Assert.That(status?.ContainerId, Is.EqualTo(_handle.ContainerId));
        Assert.That(status?.Running, Is.True);
        await using var after = await Engine.ConnectAsync(Port, _spec.Credentials.RootPassword);
        Assert.That(await Engine.ScalarAsync(after, "SELECT note FROM app.survivors WHERE id = 1"), Is.EqualTo("written before the restart"));
    }

    [Test]
    public async Task Starting_the_same_instance_again_returns_the_running_container()
    {
        var again = await _runtime.StartInstanceAsync(_spec, Engine.Timeout());

        Assert.That(again.ContainerId, Is.EqualTo(_handle.ContainerId));
    }

    [Test]
    public async Task The_instance_is_listed_as_owned_with_its_labels()
    {
        var owned = await _runtime.ListOwnedAsync(Engine.Timeout());

        var container = owned.Containers.Single(c => c.InstanceId == Id);
        Assert.That(container.Name, Is.EqualTo(Container));
        Assert.That(container.Labels[OwnershipLabels.Port], Is.EqualTo("3401"));
        Assert.That(container.Labels[OwnershipLabels.Disk], Is.EqualTo(Device));
        Assert.That(container.Labels[OwnershipLabels.Host], Is.EqualTo(Engine.HostId));
        Assert.That(owned.Volumes.Select(v => v.Name), Does.Contain(ResourceNames.DataVolume(Id)));
    }

    [Test]
    public async Task The_disk_of_a_running_instance_cannot_be_formatted()
    {
        var e = Assert.ThrowsAsync<InstanceException>(() => _runtime.FormatDiskAsync(Device, seed: false, Engine.Timeout()));

        Assert.That(e!.Kind, Is.EqualTo(HostRuntimeErrorKind.InstanceConflict));
        await using var connection = await Engine.ConnectAsync(Port, _spec.Credentials.RootPassword);
        Assert.That(await Engine.ScalarAsync(connection, "SELECT 1"), Is.EqualTo(1));
    }

    private static async Task<JsonElement> InspectAsync(string section)
    {
        var (_, json, _) = await Engine.DockerAsync("inspect", Container);
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement[0].GetProperty(section).Clone();
    }
}
