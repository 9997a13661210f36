using DbProvisioner.Runtime.Faults;
using Orleans;
using Orleans.Storage;

namespace DbProvisioner.Persistence.Storage;

/// <summary>Options of one named meta-database grain storage provider.</summary>
public sealed class MetaDbGrainStorageOptions : IStorageProviderSerializerOptions
{
    /// <summary>
    /// How state is turned into bytes. Left unset, it is Orleans' binary serializer
    /// (<see cref="OrleansGrainStorageSerializer"/>), which honours <c>[GenerateSerializer]</c>/<c>[Id]</c> versioning.
    /// </summary>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = null!;

    /// <summary>Apply pending schema migrations when the silo starts (before grains run).</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>The silo lifecycle stage at which migrations run.</summary>
    public int InitStage { get; set; } = ServiceLifecycleStage.ApplicationServices;

    /// <summary>At most this many rows go into one group commit (what queues meanwhile waits for the next one).</summary>
    public int MaxRowsPerCommit { get; set; } = 256;

    /// <summary>Fault injection for drills and tests (section <c>GrainStorage:Chaos</c>); off unless a rate is set.</summary>
    public ChaosOptions Chaos { get; set; } = new();
}
