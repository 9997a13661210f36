using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.TestData;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>
/// Hosts that share one engine (logical slices of one machine): a second host asking for a device or a port the first
/// holds is refused with a Conflict naming the first and the field, and nothing of it is registered.
/// </summary>
public sealed class EngineClaimsTests : GrainTest
{
    private static RegisterHostRequest OnEngine(string id, string engine, string device, int firstPort, string address = "127.0.0.1") =>
        TestFleet.Host(id, "claims", disks: 1, firstPort: firstPort, ports: 4) with
        {
            EngineEndpoint = engine,
            MySqlAddress = address,
            Disks = [new DiskSpec(device, 100, TestFleet.DiskClass)],
        };

    private static string NewEngine() => $"tcp://{TestFleet.NewId("engine")}.sim:2375";

    [Test]
    public async Task A_device_of_another_host_on_the_same_engine_is_refused_and_nothing_is_registered()
    {
        var engine = NewEngine();
        var first = TestFleet.NewId("host");
        var second = TestFleet.NewId("host");
        await RegisterAsync(OnEngine(first, engine, "/dev/claim-a", 4100));

        var outcome = await HostGrain(second).RegisterAsync(OnEngine(second, engine, "/dev/claim-a", 4200));

        Assert.Multiple(async () =>
        {
            Assert.That(outcome.Kind, Is.EqualTo(OutcomeKind.Conflict));
            Assert.That(outcome.Field, Is.EqualTo("disks"));
            Assert.That(outcome.Error, Does.Contain($"host {first}").And.Contain("/dev/claim-a"));
            Assert.That(await HostGrain(second).GetAsync(), Is.Null, "nothing of the refused host is registered");
            Assert.That((await Client.GetGrain<IEngineClaimsGrain>(engine).ListAsync()).Keys, Is.EqualTo(new[] { first }));
        });
    }

    [Test]
    public async Task Overlapping_ports_on_one_address_are_refused_on_another_address_allowed()
    {
        var engine = NewEngine();
        var first = TestFleet.NewId("host");
        await RegisterAsync(OnEngine(first, engine, "/dev/claim-a", 4100));

        var overlapping = TestFleet.NewId("host");
        var refused = await HostGrain(overlapping).RegisterAsync(OnEngine(overlapping, engine, "/dev/claim-b", 4103));
        var elsewhere = TestFleet.NewId("host");
        var allowed = await HostGrain(elsewhere).RegisterAsync(OnEngine(elsewhere, engine, "/dev/claim-c", 4100, address: "10.0.0.9"));

        Assert.Multiple(() =>
        {
            Assert.That(refused.Kind, Is.EqualTo(OutcomeKind.Conflict), refused.Error);
            Assert.That(refused.Field, Is.EqualTo("ports"));
            Assert.That(refused.Error, Does.Contain($"host {first}").And.Contain("4100-4103"));
            Assert.That(allowed.Ok, Is.True, allowed.Error);
        });
    }

    [Test]
    public async Task The_same_devices_and_ports_on_another_engine_are_another_machine()
    {
        var first = TestFleet.NewId("host");
        var second = TestFleet.NewId("host");
        await RegisterAsync(OnEngine(first, NewEngine(), "/dev/claim-a", 4100));

        var outcome = await HostGrain(second).RegisterAsync(OnEngine(second, NewEngine(), "/dev/claim-a", 4100));

        Assert.That(outcome.Ok, Is.True, outcome.Error);
    }

    [Test]
    public async Task Registering_the_same_host_again_keeps_its_claim_and_answers_the_host()
    {
        var engine = NewEngine();
        var id = TestFleet.NewId("host");
        var request = OnEngine(id, engine, "/dev/claim-a", 4100);
        await RegisterAsync(request);

        var again = await HostGrain(id).RegisterAsync(request);

        Assert.That(again.Ok, Is.True, again.Error);
        Assert.That((await Client.GetGrain<IEngineClaimsGrain>(engine).ListAsync())[id], Does.Contain("/dev/claim-a"));
    }
}
