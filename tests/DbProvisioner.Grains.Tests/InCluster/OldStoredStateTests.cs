using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Instances;
using DbProvisioner.Grains.Tests.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>
/// Instance states stored by the code before the lifecycle enum (its state was a string constant): they still load,
/// read as the same lifecycle state, are served and resumed, and are written back byte for byte as before.
/// </summary>
public sealed class OldStoredStateTests : GrainTest
{
    // Written by the grain state storage's serializer at commit 54fcd85 (before the enum): instance i-oldstate01 at
    // ContainerStarted with an audit row in its outbox, and the same instance at Ready.
    private const string StoredContainerStarted =
        "ICDoQBVzdGFuZGFsb25lQRlpLW9sZHN0YXRlMDFBD3JlcGxpY2EBBQECIAECCAEFASlBEXN0YW5kYXJkQRNwcmVmZXJyZWRBD2dlbmVyYWwh6E"
        + "AJaG9zdAEFQQloYXJk4OBBIUNvbnRhaW5lclN0YXJ0ZWTBATEBwa88hAlqc29uQH9EYlByb3Zpc2lvbmVyLkRvbWFpbi5Ib3N0cy5Ib3N0UmVz"
        + "ZXJ2YXRpb24sRGJQcm92aXNpb25lci5Eb21haW5B0gV7Ikluc3RhbmNlSWQiOiJpLW9sZHN0YXRlMDEiLCJIb3N0SWQiOiJoLW9sZCIsIkNwdS"
        + "I6eyJJbnN0YW5jZUlkIjoiaS1vbGRzdGF0ZTAxIiwiUmVxdWVzdGVkQ3B1cyI6MSwiTnVtYSI6IlByZWZlcnJlZCIsIkNwdXMiOiIwIiwiQ3B1"
        + "Tm9kZXMiOlswXSwiTWVtb3J5IjpbeyJOb2RlSWQiOjAsIk1lbW9yeU1pQiI6MTAyNH1dfSwiRGlzayI6eyJJZCI6Imxvb3A3IiwiRGV2aWNlUG"
        + "F0aCI6Ii9kZXYvbG9vcDciLCJTaXplR2lCIjoxMCwiRGlza0NsYXNzIjoic3RhbmRhcmQiLCJTdGF0ZSI6IkNsYWltZWQiLCJTZWVkZWQiOnRy"
        + "dWUsIkNsYWltZWRCeSI6Imktb2xkc3RhdGUwMSIsIk9uRGVtYW5kIjpmYWxzZX0sIlBvcnQiOjMzMDYsIlN3YXBNaUIiOjI1Nn3gIehAC2gtb2"
        + "xkQTd1bml4Oi8vL3Zhci9ydW4vZG9ja2VyLnNvY2tBEzEyNy4wLjAuMUEFejFBBXIxwRvgQTF2MS5ub3QtYS1yZWFsLWNpcGhlcnRleHQhAAkh"
        + "6EATUmVxdWVzdGVkIYCAQPAd2irdCIEAAAAAAAAAAOCBAAAAAAAAAABBBW9r4CDoQA1QbGFjZWQhgADXiB7aKt0IgQAAAAAAAAAA4IEAAAAAAA"
        + "AoQEFTaG9zdCBoLW9sZCwgQ1BVcyAwLCBkaXNrIGxvb3A3LCBwb3J0IDMzMDbgIOhAGURpc2tBdHRhY2hlZCGAgG0hH9oq3QiBAAAAAAAAAADg"
        + "gQAAAAAAAPA/QUMvZGV2L2xvb3A3OiBwcmUtZm9ybWF0dGVkLCBzZWVkZWTgIOjAJSGAAAS6H9oq3QiBAAAAAAAAAADggQAAAAAAAIlAQTtjb2"
        + "50YWluZXIgZGJwcm92LWktb2xkc3RhdGUwMeDgARFBC2tleS0xIYCAQPAd2irdCIEAAAAAAAAAAOABAcEBwQEBASEAAyHoQGtpbnN0YW5jZS9p"
        + "LW9sZHN0YXRlMDEvNC9wcm92aXNpb25pbmcuQ29udGFpbmVyU3RhcnRlZMF9QTtwcm92aXNpb25pbmcuQ29udGFpbmVyU3RhcnRlZEERaW5zdG"
        + "FuY2XBCcFPwQEBESEwATEs1C4dU3RyaW5nQ29tcGFyZXIAAwEB4AEDwR/AMeDBeeDg4A==";

    private const string StoredReady =
        "ICDoQBVzdGFuZGFsb25lQRlpLW9sZHN0YXRlMDFBD3JlcGxpY2EBBQECIAECCAEFASlBEXN0YW5kYXJkQRNwcmVmZXJyZWRBD2dlbmVyYWwh6E"
        + "AJaG9zdAEFQQloYXJk4OBBC1JlYWR5wQExAcGvPIQJanNvbkB/RGJQcm92aXNpb25lci5Eb21haW4uSG9zdHMuSG9zdFJlc2VydmF0aW9uLERi"
        + "UHJvdmlzaW9uZXIuRG9tYWluQdIFeyJJbnN0YW5jZUlkIjoiaS1vbGRzdGF0ZTAxIiwiSG9zdElkIjoiaC1vbGQiLCJDcHUiOnsiSW5zdGFuY2"
        + "VJZCI6Imktb2xkc3RhdGUwMSIsIlJlcXVlc3RlZENwdXMiOjEsIk51bWEiOiJQcmVmZXJyZWQiLCJDcHVzIjoiMCIsIkNwdU5vZGVzIjpbMF0s"
        + "Ik1lbW9yeSI6W3siTm9kZUlkIjowLCJNZW1vcnlNaUIiOjEwMjR9XX0sIkRpc2siOnsiSWQiOiJsb29wNyIsIkRldmljZVBhdGgiOiIvZGV2L2"
        + "xvb3A3IiwiU2l6ZUdpQiI6MTAsIkRpc2tDbGFzcyI6InN0YW5kYXJkIiwiU3RhdGUiOiJDbGFpbWVkIiwiU2VlZGVkIjp0cnVlLCJDbGFpbWVk"
        + "QnkiOiJpLW9sZHN0YXRlMDEiLCJPbkRlbWFuZCI6ZmFsc2V9LCJQb3J0IjozMzA2LCJTd2FwTWlCIjoyNTZ94CHoQAtoLW9sZEE3dW5peDovLy"
        + "92YXIvcnVuL2RvY2tlci5zb2NrQRMxMjcuMC4wLjFBBXoxQQVyMcEb4EExdjEubm90LWEtcmVhbC1jaXBoZXJ0ZXh0IQALIehAE1JlcXVlc3Rl"
        + "ZCGAgEDwHdoq3QiBAAAAAAAAAADggQAAAAAAAAAAQQVva+Ag6EANUGxhY2VkIYAA14ge2irdCIEAAAAAAAAAAOCBAAAAAAAAKEBBU2hvc3QgaC"
        + "1vbGQsIENQVXMgMCwgZGlzayBsb29wNywgcG9ydCAzMzA24CDoQBlEaXNrQXR0YWNoZWQhgIBtIR/aKt0IgQAAAAAAAAAA4IEAAAAAAADwP0FD"
        + "L2Rldi9sb29wNzogcHJlLWZvcm1hdHRlZCwgc2VlZGVk4CDoQCFDb250YWluZXJTdGFydGVkIYAABLof2irdCIEAAAAAAAAAAOCBAAAAAAAAiU"
        + "BBO2NvbnRhaW5lciBkYnByb3YtaS1vbGRzdGF0ZTAx4CDowCUhgACLTSPaKt0IgQAAAAAAAAAA4IEAAAAAAHC3QEE/TXlTUUwgYW5zd2VycyBv"
        + "biAxMjcuMC4wLjE6MzMwNuDgARVBC2tleS0xIYCAQPAd2irdCIEAAAAAAAAAAOABAcEBwQEBASHg4A==";

    private static OrleansGrainStorageSerializer StorageSerializer()
    {
        var services = new ServiceCollection().AddSerializer().AddDomainSerialization().BuildServiceProvider();
        return new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>());
    }

    private static InstanceGrainState Load(string stored) =>
        StorageSerializer().Deserialize<InstanceGrainState>(new BinaryData(Convert.FromBase64String(stored)))
        ?? throw new AssertionException("the stored state read as nothing");

    [Test]
    public void A_state_stored_before_the_enum_loads_as_the_same_lifecycle_state_and_is_written_back_unchanged()
    {
        var midway = Load(StoredContainerStarted);
        var ready = Load(StoredReady);
        Assert.Multiple(() =>
        {
            Assert.That(midway.State, Is.EqualTo(InstanceState.ContainerStarted));
            Assert.That(InstanceLifecycle.StepAt(midway.State, midway.Released), Is.EqualTo(InstanceStep.WaitReady), "a resume waits for MySQL");
            Assert.That(midway.Reservation?.Port, Is.EqualTo(3306));
            Assert.That(midway.Reservation?.Disk.Id, Is.EqualTo("loop7"));
            Assert.That(midway.Host?.HostId, Is.EqualTo("h-old"));
            Assert.That(midway.Steps.Select(s => s.Step), Is.EqualTo(new[] { "Requested", "Placed", "DiskAttached", "ContainerStarted" }));
            Assert.That(midway.Outbox.Select(r => r.Action), Is.EqualTo(new[] { "provisioning.ContainerStarted" }));
            Assert.That(midway.Version, Is.EqualTo(4));

            Assert.That(ready.State, Is.EqualTo(InstanceState.Ready));
            Assert.That(InstanceLifecycle.IsUnfinished(ready.State, ready.Released), Is.False);
        });

        var serializer = StorageSerializer();
        var rewritten = Convert.ToBase64String(serializer.Serialize(midway).ToArray());
        var reread = Load(rewritten);
        Assert.Multiple(() =>
        {
            // As the old code wrote it, plus the two fields added since (ObservedCpus, CpusetNote: a null marker each) before the end of the object.
            byte[] old = Convert.FromBase64String(StoredReady);
            Assert.That(serializer.Serialize(ready).ToArray(), Is.EqualTo((byte[])[.. old[..^1], 0xC1, 0x01, 0xC1, 0x01, .. old[^1..]]), "written back as the old code wrote it");
            // The spec's names are the API's enums now (read from "preferred", "host", written back as those strings), no
            // longer the very string instance an audit row repeats: that repeat is written in full, not as a back-reference.
            Assert.That((midway.Spec?.Numa, midway.Spec?.Spread), Is.EqualTo(((NumaPolicy?)NumaPolicy.Preferred, SpreadSpec.HostHard)));
            Assert.That(Convert.ToBase64String(serializer.Serialize(reread).ToArray()), Is.EqualTo(rewritten), "written back the same way again");
            Assert.That(reread.Spec, Is.EqualTo(midway.Spec));
            Assert.That(reread.Steps, Is.EqualTo(midway.Steps));
            Assert.That(reread.Outbox.Select(r => r.Action), Is.EqualTo(midway.Outbox.Select(r => r.Action)));
        });
    }

    [Test]
    public async Task An_instance_stored_Ready_before_the_enum_is_served_Ready_and_keeps_its_state_name_when_written()
    {
        const string id = "i-oldstate01";
        var grainId = GrainId.Create("instance", id);
        await GrainTestCluster.Storage.WriteStateAsync("instance", grainId, new GrainState<InstanceGrainState>(Load(StoredReady)));

        var view = await InstanceGrain(id).GetAsync();
        Assert.That(view, Is.Not.Null, "the stored instance is not served");
        Assert.Multiple(() =>
        {
            Assert.That(view!.State, Is.EqualTo("Ready"));
            Assert.That(view.Version, Is.EqualTo(5));
            Assert.That(view.Host, Is.EqualTo("h-old"));
            Assert.That(view.Endpoint, Is.EqualTo(new EndpointView("127.0.0.1", 3306)));
            Assert.That(view.Steps.Select(s => s.Step), Is.EqualTo(new[] { "Requested", "Placed", "DiskAttached", "ContainerStarted", "Ready" }));
        });

        // A write by the new code stores the state under the same name.
        await InstanceGrain(id).MarkContainerAsync(true);
        var stored = new GrainState<InstanceGrainState>();
        await GrainTestCluster.Storage.ReadStateAsync("instance", grainId, stored);
        Assert.Multiple(() =>
        {
            Assert.That(stored.State?.StateName, Is.EqualTo("Ready"));
            Assert.That(stored.State?.ContainerMissing, Is.True, "the write went through");
        });
    }
}
