using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace DbProvisioner.Server.Metrics;

/// <summary>
/// A point-in-time view of the fleet for the gauges. Sources keep it cached: it is read on every scrape
/// on the scrape thread, so producing it must not do I/O or call grains.
/// </summary>
public sealed record FleetMetricsSnapshot(
    IReadOnlyDictionary<string, long> InstancesByState,
    IReadOnlyDictionary<string, long> FreeCoresByPool,
    IReadOnlyDictionary<string, long> ReadyDisksByPool)
{
    public static FleetMetricsSnapshot Empty { get; } = new(
        new Dictionary<string, long>(), new Dictionary<string, long>(), new Dictionary<string, long>());
}

/// <summary>
/// The appliance's own instruments (meter <see cref="MeterName"/>), exported at <c>/metrics</c>.
/// Prometheus names: <c>dbprov_provisioning_step_duration_seconds</c> (histogram, tags <c>step</c>, <c>outcome</c>),
/// <c>dbprov_instances</c> (tag <c>state</c>), <c>dbprov_pool_free_cores</c> and <c>dbprov_pool_ready_disks</c> (tag <c>pool</c>), <c>dbprov_host_heartbeats_total</c> (tag <c>host</c>).
/// </summary>
public sealed class DbProvisionerMetrics : IDisposable
{
    public const string MeterName = "DbProvisioner";
    public const string StepDurationName = "dbprov.provisioning.step.duration";
    public const string InstancesName = "dbprov.instances";
    public const string FreeCoresName = "dbprov.pool.free_cores";
    public const string ReadyDisksName = "dbprov.pool.ready_disks";
    public const string HeartbeatsName = "dbprov.host.heartbeats";

    private static readonly double[] StepBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];

    private readonly Meter meter;
    private readonly Histogram<double> stepDuration;
    private readonly Counter<long> heartbeats;
    private readonly ConcurrentDictionary<long, Func<FleetMetricsSnapshot>> sources = new();
    private long nextSourceId;

    private readonly KeyValuePair<string, object?> silo;

    /// <param name="siloOptions">Gives every measurement a <c>silo</c> tag: several silos behind one URL are told apart.</param>
    public DbProvisionerMetrics(IMeterFactory meterFactory, Microsoft.Extensions.Options.IOptions<Hosting.SiloOptions>? siloOptions = null)
    {
        silo = new KeyValuePair<string, object?>("silo", siloOptions?.Value.DisplayName ?? "silo");
        meter = meterFactory.Create(MeterName);
        stepDuration = meter.CreateHistogram(
            StepDurationName,
            unit: "s",
            description: "Duration of each provisioning and scale-down step.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        heartbeats = meter.CreateCounter<long>(
            HeartbeatsName, unit: "{heartbeat}", description: "Heartbeats this silo sent, per host (each host is beaten by one silo of the cluster).");
        meter.CreateObservableGauge(
            InstancesName, () => Observe(s => s.InstancesByState, "state"), unit: "{instance}", description: "Instances by state.");
        meter.CreateObservableGauge(
            FreeCoresName, () => Observe(s => s.FreeCoresByPool, "pool"), unit: "{core}", description: "Free physical cores per pool.");
        meter.CreateObservableGauge(
            ReadyDisksName, () => Observe(s => s.ReadyDisksByPool, "pool"), unit: "{disk}", description: "Ready (formatted) disks per pool.");
    }

    /// <summary>Records how long one step took, e.g. <c>RecordStepDuration("Placed", elapsed)</c>.</summary>
    public void RecordStepDuration(string step, TimeSpan duration, bool succeeded = true) =>
        stepDuration.Record(
            duration.TotalSeconds,
            new KeyValuePair<string, object?>("step", step),
            new KeyValuePair<string, object?>("outcome", succeeded ? "ok" : "failed"),
            silo);

    /// <summary>Counts one heartbeat of <paramref name="hostId"/> sent by this silo.</summary>
    public void RecordHeartbeat(string hostId) => heartbeats.Add(1, new KeyValuePair<string, object?>("host", hostId), silo);

    /// <summary>
    /// Registers a fleet view for the gauges; values of several sources are added up per tag, so each source
    /// should report its own part (e.g. its pools). Dispose the result to unregister.
    /// </summary>
    public IDisposable RegisterFleetSource(Func<FleetMetricsSnapshot> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var id = Interlocked.Increment(ref nextSourceId);
        sources[id] = source;
        return new Registration(() => sources.TryRemove(id, out _));
    }

    public void Dispose() => meter.Dispose();

    private IEnumerable<Measurement<long>> Observe(Func<FleetMetricsSnapshot, IReadOnlyDictionary<string, long>> select, string tag)
    {
        var totals = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var source in sources.Values)
        {
            foreach (var (name, value) in select(source()))
            {
                totals[name] = totals.GetValueOrDefault(name) + value;
            }
        }

        return totals.Select(t => new Measurement<long>(t.Value, new KeyValuePair<string, object?>(tag, t.Key), silo));
    }

    private sealed class Registration(Action dispose) : IDisposable
    {
        private Action? onDispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref onDispose, null)?.Invoke();
    }
}
