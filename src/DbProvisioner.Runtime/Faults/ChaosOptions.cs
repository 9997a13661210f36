using Polly;
using Polly.Simmy;

namespace DbProvisioner.Runtime.Faults;

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

/// <summary>Adds the chaos strategies that <see cref="ChaosOptions"/> asks for (none when it is off) to a pipeline.</summary>
public static class ChaosPipeline
{
    /// <param name="fault">The exception an injected fault throws: what the real failure of that dependency looks like.</param>
    public static ResiliencePipelineBuilder AddChaos(this ResiliencePipelineBuilder builder, ChaosOptions chaos, string section, Func<Exception> fault)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(chaos);
        ArgumentNullException.ThrowIfNull(fault);
        chaos.Validate(section);
        if (!chaos.Enabled) return builder;
        var random = chaos.Seed is { } seed ? new Random(seed) : new Random();
        var gate = new object();
        double Next()
        {
            lock (gate) return random.NextDouble();
        }

        if (chaos.LatencyRate > 0)
        {
            builder.AddChaosLatency(new Polly.Simmy.Latency.ChaosLatencyStrategyOptions { InjectionRate = chaos.LatencyRate, Latency = chaos.Latency, Randomizer = Next });
        }

        if (chaos.FaultRate > 0)
        {
            builder.AddChaosFault(new Polly.Simmy.Fault.ChaosFaultStrategyOptions
            {
                InjectionRate = chaos.FaultRate,
                FaultGenerator = _ => ValueTask.FromResult<Exception?>(fault()),
                Randomizer = Next,
            });
        }

        return builder;
    }
}
