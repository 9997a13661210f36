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

    /// <summary>Fault injection for drills and tests (section <c>GrainStorage:Chaos</c>); off unless a rate is set.</summary>
    public ChaosOptions Chaos { get; set; } = new();
}

/// <summary>
/// Polly chaos strategies in a pipeline: a share of the calls fail (<see cref="FaultRate"/>) or wait
/// (<see cref="LatencyRate"/> × <see cref="Latency"/>). Both rates are 0 by default, and then no strategy is added.
/// </summary>
public sealed class ChaosOptions
{
    /// <summary>Share of calls, 0 to 1, that fail as if the other side were away.</summary>
    public double FaultRate { get; set; }

    /// <summary>Share of calls, 0 to 1, that are delayed by <see cref="Latency"/>.</summary>
    public double LatencyRate { get; set; }

    public TimeSpan Latency { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Seed of the injection's random choices, so that a drill can be replayed; none: a new one each start.</summary>
    public int? Seed { get; set; }

    public bool Enabled => FaultRate > 0 || LatencyRate > 0;

    public void Validate(string section)
    {
        if (FaultRate is < 0 or > 1 || double.IsNaN(FaultRate))
        {
            throw new ArgumentOutOfRangeException(nameof(FaultRate), FaultRate, $"{section}:FaultRate must be between 0 and 1.");
        }

        if (LatencyRate is < 0 or > 1 || double.IsNaN(LatencyRate))
        {
            throw new ArgumentOutOfRangeException(nameof(LatencyRate), LatencyRate, $"{section}:LatencyRate must be between 0 and 1.");
        }

        if (Latency < TimeSpan.Zero || Latency > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentOutOfRangeException(nameof(Latency), Latency, $"{section}:Latency must be between 0 and 5 minutes.");
        }
    }
}
