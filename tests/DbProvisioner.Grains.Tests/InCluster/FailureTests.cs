using DbProvisioner.Grains.Tests.TestData;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>A provisioning that fails gives every reservation back, and its disk is wiped before reuse.</summary>
public sealed class FailureTests : GrainTest
{
    [Test]
    public async Task AFailedContainerStart_FailsTheInstance_AndGivesBackCpusPortAndDisk_WhichIsWipedBeforeItIsReadyAgain()
    {
        var hostId = TestFleet.NewId("host");
        var before = await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        var engine = Runtime.Host(hostId);
        var formatsAtRegistration = engine.FormatCount("/dev/sim-disk-0");
        var instanceId = TestFleet.NewId("i");
        engine.FailStartOf(instanceId);
        engine.FormatHold.Hold();
        try
        {
            var settled = await ProvisionAndSettleAsync(instanceId, TestFleet.Instance(Pool));

            Assert.That(settled.View?.State, Is.EqualTo("Failed"), settled.ToString());
            Assert.That(settled.View!.Reason, Does.Contain("failed to start").Or.Contain("simulated failure"), "the reason carries the engine's words");

            var during = await HostViewAsync(hostId);
            AssertNothingReservedFor(during, instanceId);
            Assert.Multiple(() =>
            {
                Assert.That(during.FreeCores, Is.EqualTo(before.FreeCores), "CPUs given back");
                Assert.That(during.NumaNodes.Sum(n => n.FreeMemoryMiB), Is.EqualTo(before.NumaNodes.Sum(n => n.FreeMemoryMiB)), "memory given back");
                Assert.That(during.Instances, Is.Empty, "port given back");
                // The disk held old data (or a half-made data directory): it is not Ready until wiped.
                Assert.That(during.Disks.Single().State, Is.EqualTo("Releasing").Or.EqualTo("Formatting"), "a released disk is wiped before it is Ready");
            });
        }
        finally
        {
            engine.FormatHold.Release();
        }

        await DiskPoolGrain(hostId).RunUntilIdleAsync();

        var after = await HostViewAsync(hostId);
        Assert.Multiple(() =>
        {
            Assert.That(after.Disks.Single().State, Is.EqualTo("Ready"));
            Assert.That(after.Disks.Single().ClaimedBy, Is.Null);
            Assert.That(engine.FormatCount("/dev/sim-disk-0"), Is.GreaterThan(formatsAtRegistration), "re-formatted after the release");
            Assert.That(engine.Running.Keys, Has.No.Member(instanceId));
        });

        // The host is whole again: the next request gets the same resources.
        var next = await ProvisionReadyAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool));
        Assert.That(next.Device, Is.EqualTo("/dev/sim-disk-0"));
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task AnInstanceThatNeverAnswers_FailsAndItsContainerIsRemoved()
    {
        var hostId = TestFleet.NewId("host");
        var before = await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 2));
        var engine = Runtime.Host(hostId);
        var instanceId = TestFleet.NewId("i");
        engine.FailReadyOf(instanceId);

        var settled = await ProvisionAndSettleAsync(instanceId, TestFleet.Instance(Pool));

        Assert.That(settled.View?.State, Is.EqualTo("Failed"), settled.ToString());
        var host = await HostViewAsync(hostId);
        AssertNothingReservedFor(host, instanceId);
        Assert.Multiple(() =>
        {
            Assert.That(host.FreeCores, Is.EqualTo(before.FreeCores));
            Assert.That(engine.Running.Keys, Has.No.Member(instanceId), "a failed instance's container does not keep running on the CPUs given back");
            Assert.That(engine.Removals, Has.Member(instanceId));
        });
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task AnEngineOutageDuringProvisioning_EndsReadyOrFailed_WithTheHostViewMatchingTheEngine()
    {
        var hostId = TestFleet.NewId("host");
        var before = await RegisterWithReadyDisksAsync(TestFleet.Host(hostId, Pool, disks: 2));
        var engine = Runtime.Host(hostId);
        var instanceId = TestFleet.NewId("i");

        engine.EngineDown = true;
        try
        {
            var outcome = await InstanceGrain(instanceId).ProvisionAsync(TestFleet.Instance(Pool), "tester");
            Assert.That(outcome.Ok, Is.True, $"the request is accepted; the engine is the grain's problem: {outcome.Error}");
            await InstanceGrain(instanceId).WaitSettledAsync(TimeSpan.FromSeconds(3));
        }
        finally
        {
            engine.EngineDown = false;
        }

        await InstanceGrain(instanceId).ResumeAsync();
        var view = await InstanceGrain(instanceId).WaitSettledAsync(SettleTimeout);
        await DiskPoolGrain(hostId).RunUntilIdleAsync();

        Assert.That(view?.State, Is.AnyOf("Ready", "Failed"), view?.Reason);
        var host = await HostViewAsync(hostId);
        AssertHostViewConsistent(host);
        if (view!.State == "Ready")
        {
            Assert.That(engine.Running[instanceId].Cpus.ToString(), Is.EqualTo(view.CpuSet));
            Assert.That(host.Instances.Select(i => i.Id), Is.EqualTo(new[] { instanceId }));
        }
        else
        {
            Assert.That(view.Reason, Does.Contain("engine").IgnoreCase, "the reason names the engine that did not answer");
            AssertNothingReservedFor(host, instanceId);
            Assert.That(host.FreeCores, Is.EqualTo(before.FreeCores));
            Assert.That(engine.Running.Keys, Has.No.Member(instanceId));
            Assert.That(host.Disks.Select(d => d.State), Is.All.EqualTo("Ready"));
        }
        AssertNoDoubleUseOnEngines();
    }
}
