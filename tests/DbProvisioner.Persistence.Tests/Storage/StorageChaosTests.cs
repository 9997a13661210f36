using DbProvisioner.Contracts;
using DbProvisioner.Persistence.Storage;
using DbProvisioner.Runtime.Faults;
using Orleans.Serialization;

namespace DbProvisioner.Persistence.Tests.Storage;

/// <summary>The drill switch of the grain-storage pipeline (issue 9): an injected fault is a storage fault, and writes nothing.</summary>
[Category("MetaDb")]
public sealed class StorageChaosTests
{
    [Test]
    public async Task WithEveryCallFaulted_AWriteIsAStorageFault_AndNothingIsStored()
    {
        var chaotic = StorageHarness.Create(MetaDbTestDatabase.Connections, chaos: new ChaosOptions { FaultRate = 1, Seed = 3 });
        var grainId = StorageHarness.NewGrainId();
        var state = new GrainState<CounterState>(new CounterState(1, "alice", []));

        var refused = Assert.ThrowsAsync<StorageUnavailableException>(() => chaotic.WriteStateAsync("counter", grainId, state, CancellationToken.None));
        Assert.That(refused!.Message, Does.Contain("fault injected by the chaos drill"));

        var read = new GrainState<CounterState>(new CounterState(0, "", []));
        await StorageHarness.Create(MetaDbTestDatabase.Connections).ReadStateAsync("counter", grainId, read, CancellationToken.None);
        Assert.That(read.RecordExists, Is.False);
    }
}
