using DbProvisioner.Runtime;
using DbProvisioner.Testing;
using MySqlConnector;
using Engine = DbProvisioner.Runtime.Docker.Tests.Docker.Engine;

namespace DbProvisioner.Runtime.Docker.Tests.Fleet;

/// <summary>
/// `fleet.sh stop node-1` then `start node-1`, as a machine's engine goes down and comes back: the instance's container
/// comes back by its restart policy, the same container on the same disk, with a row written before.
/// </summary>
[Category("Fleet")]
public sealed class FleetEngineRestartTests
{
    private const int Node = 1;
    private const int Port = 3402;
    private static readonly string Id = FleetRuntime.InstancePrefix + "restart";
    private InstanceContainerSpec _spec = null!;

    [OneTimeSetUp]
    public async Task ProvisionAsync()
    {
        await FleetNodes.RequireUpAsync();
        using var factory = FleetRuntime.NewFactory();
        await FleetRuntime.RemoveLeftoversAsync(factory, Node);
        var runtime = factory.For(FleetRuntime.Host(Node));
        var device = FleetNodes.Disk(Node, "disk-02");
        _spec = Engine.Spec(Id, device, cpu: 1, Port);
        await runtime.FormatDiskAsync(device, seed: true, Engine.Timeout());
        await runtime.StartInstanceAsync(_spec, Engine.Timeout());
        await runtime.WaitUntilReadyAsync(Id, Port, _spec.Credentials, Engine.ReadyDeadline, Engine.Timeout());
    }

    [OneTimeTearDown]
    public async Task RemoveAsync()
    {
        // Whatever the test did, node-1 ends up running for the suites after this one.
        var (exit, _, stderr) = await FleetNodes.ScriptAsync("start", FleetNodes.Name(Node));
        using var factory = FleetRuntime.NewFactory();
        await factory.For(FleetRuntime.Host(Node)).RemoveInstanceAsync(Id, Engine.Timeout());
        Assert.That(exit, Is.Zero, stderr);
    }

    [Test]
    public async Task The_container_comes_back_by_restart_policy_with_a_row_written_before()
    {
        string containerId;
        using (var before = FleetRuntime.NewFactory())
        {
            containerId = (await before.For(FleetRuntime.Host(Node)).InspectInstanceAsync(Id, Engine.Timeout()))!.ContainerId;
            await using var connection = await ConnectAsync();
            await Engine.ScalarAsync(connection, "CREATE DATABASE IF NOT EXISTS app");
            await Engine.ScalarAsync(connection, "CREATE TABLE app.survivors (id INT PRIMARY KEY, note VARCHAR(40))");
            await Engine.ScalarAsync(connection, "INSERT INTO app.survivors VALUES (1, 'written before the engine stopped')");
        }

        var stop = await FleetNodes.ScriptAsync("stop", FleetNodes.Name(Node));
        Assert.That(stop.Exit, Is.Zero, stop.Error);
        Assert.ThrowsAsync<MySqlException>(async () => await ConnectAsync(), "mysqld stopped with its engine");
        using (var whileDown = FleetRuntime.NewFactory())
        {
            Assert.ThrowsAsync<EngineUnavailableException>(() => whileDown.For(FleetRuntime.Host(Node)).InspectInstanceAsync(Id, Engine.Timeout()));
        }

        var start = await FleetNodes.ScriptAsync("start", FleetNodes.Name(Node));
        Assert.That(start.Exit, Is.Zero, start.Error);

        // A fresh factory: the one that saw the engine down may hold an open circuit.
        using var after = FleetRuntime.NewFactory();
        var runtime = after.For(FleetRuntime.Host(Node));
        await runtime.WaitUntilReadyAsync(Id, Port, _spec.Credentials, Engine.ReadyDeadline, Engine.Timeout());
        var status = await runtime.InspectInstanceAsync(Id, Engine.Timeout());
        Assert.That(status?.ContainerId, Is.EqualTo(containerId), "the same container, started again by its restart policy");
        Assert.That(status?.Running, Is.True);
        await using var reconnected = await ConnectAsync();
        Assert.That(await Engine.ScalarAsync(reconnected, "SELECT note FROM app.survivors WHERE id = 1"), Is.EqualTo("written before the engine stopped"));
    }

    private Task<MySqlConnection> ConnectAsync() => FleetNodes.ConnectMySqlAsync(FleetNodes.Address(Node), Port, _spec.Credentials.RootPassword);
}
