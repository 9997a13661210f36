using DbProvisioner.Runtime;
using DbProvisioner.Testing;

namespace DbProvisioner.Runtime.Docker.Tests.Docker;

[Category("Engine")]
public sealed class DiskTests
{
    private static readonly string Device = TestDisks.Resolve("disk-02");
    private const int Port = 3402;
    private DockerHostRuntimeFactory _factory = null!;
    private IHostRuntime _runtime = null!;

    [SetUp]
    public void CreateRuntime()
    {
        _factory = new DockerHostRuntimeFactory();
        _runtime = _factory.For(Engine.Host);
    }

    [TearDown]
    public async Task CleanUpAsync()
    {
        foreach (var id in new[] { "rtt-wipe-a", "rtt-wipe-b" }) await _runtime.RemoveInstanceAsync(id, Engine.Timeout());
        _factory.Dispose();
    }

    [Test]
    public async Task A_formatted_disk_is_xfs_and_seeded_only_when_asked()
    {
        await _runtime.FormatDiskAsync(Device, seed: false, Engine.Timeout());
        var plain = await _runtime.CheckDiskAsync(Device, Engine.Timeout());
        await _runtime.FormatDiskAsync(Device, seed: true, Engine.Timeout());
        var seeded = await _runtime.CheckDiskAsync(Device, Engine.Timeout());

        Assert.That(plain, Is.EqualTo(new DiskCheck(Device, "xfs", IsSeeded: false)));
        Assert.That(seeded, Is.EqualTo(new DiskCheck(Device, "xfs", IsSeeded: true)));
        Assert.That(await Engine.HelperLeftoversForAsync(Device), Is.Empty, "helpers and their volumes remove themselves");
        Assert.That(Engine.IsMountedOnHost(Device), Is.False);
    }

    [Test]
    public async Task After_remove_and_reformat_a_new_instance_on_the_same_disk_does_not_see_the_old_data()
    {
        var first = Engine.Spec("rtt-wipe-a", Device, cpu: 0, Port);
        await _runtime.FormatDiskAsync(Device, seed: true, Engine.Timeout());
        await _runtime.StartInstanceAsync(first, Engine.Timeout());
        await _runtime.WaitUntilReadyAsync(first.InstanceId, Port, first.Credentials, Engine.ReadyDeadline, Engine.Timeout());
        await using (var connection = await Engine.ConnectAsync(Port, first.Credentials.RootPassword))
        {
            await Engine.ScalarAsync(connection, "CREATE DATABASE secrets_of_a");
            await Engine.ScalarAsync(connection, "CREATE TABLE secrets_of_a.t (v VARCHAR(20))");
            await Engine.ScalarAsync(connection, "INSERT INTO secrets_of_a.t VALUES ('old data')");
        }

        await _runtime.RemoveInstanceAsync(first.InstanceId, Engine.Timeout());
        Assert.That(Engine.IsMountedOnHost(Device), Is.False, "removal unmounts the disk");
        Assert.That(await _runtime.CheckDiskAsync(Device, Engine.Timeout()), Has.Property(nameof(DiskCheck.IsSeeded)).True, "the data stays until the wipe");
        await _runtime.FormatDiskAsync(Device, seed: true, Engine.Timeout());

        var second = Engine.Spec("rtt-wipe-b", Device, cpu: 0, Port);
        await _runtime.StartInstanceAsync(second, Engine.Timeout());
        await _runtime.WaitUntilReadyAsync(second.InstanceId, Port, second.Credentials, Engine.ReadyDeadline, Engine.Timeout());

        await using var fresh = await Engine.ConnectAsync(Port, second.Credentials.RootPassword);
        Assert.That(await Engine.ScalarAsync(fresh, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'secrets_of_a'"), Is.EqualTo(0));
        Assert.ThrowsAsync<MySqlConnector.MySqlException>(async () => await Engine.ConnectAsync(Port, first.Credentials.RootPassword),
            "the old root password is gone with the old data");
    }
}
