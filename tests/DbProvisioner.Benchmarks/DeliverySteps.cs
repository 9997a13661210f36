using System.Globalization;
using System.Text.RegularExpressions;
using DbProvisioner.Api;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// Request → Ready split into its steps, from what the client saw and the instance's step views: each step's own
/// duration (the server's), the store after each step (the gap until the next step began), the parts of the
/// container start (the ContainerStarted outcome lists them, e.g. "(port probe 240 ms, create 60 ms, start 150 ms)")
/// and the client's two ends (POST answered; Ready stored and seen by the long poll).
/// </summary>
internal static partial class DeliverySteps
{
    /// <summary>Every step name in request order; a run lacking one (a part not done any more) has none recorded.</summary>
    public static readonly string[] Order =
    [
        "accepted", "requested_stored", "reservation", "placed_stored", "disk_claim", "disk_stored",
        "container_inspect", "container_port_probe", "container_volume", "container_create", "container_files", "container_start",
        "container_other", "container_stored", "mysql_answering", "ready_stored_seen",
    ];

    public static IReadOnlyDictionary<string, double> Of(InstanceView view, double acceptedMs, DateTimeOffset seenReadyAt)
    {
        var steps = new Dictionary<string, double>(StringComparer.Ordinal) { ["accepted"] = acceptedMs };
        StepView? Last(string name) => view.Steps.LastOrDefault(s => s.Step == name);
        var requested = Last("Requested");
        var placed = Last("Placed");
        var disk = Last("DiskAttached");
        var container = Last("ContainerStarted");
        var ready = Last("Ready");
        if (requested is null || placed is null || disk is null || container is null || ready is null)
            throw new InvalidOperationException($"instance {view.Id} lacks a step: {string.Join(", ", view.Steps.Select(static s => s.Step))}");

        // A step's At is taken when its work ended, before its store; the next step began once that store was done.
        static double Gap(StepView before, StepView next) => (next.At - before.At).TotalMilliseconds - next.DurationMs;
        steps["requested_stored"] = Gap(requested, placed);
        steps["reservation"] = placed.DurationMs;
        steps["placed_stored"] = Gap(placed, disk);
        steps["disk_claim"] = disk.DurationMs;
        steps["disk_stored"] = Gap(disk, container);
        var parts = 0.0;
        foreach (Match m in PhasePattern().Matches(container.Outcome))
        {
            var ms = double.Parse(m.Groups["ms"].Value, CultureInfo.InvariantCulture);
            steps["container_" + m.Groups["name"].Value.Replace(' ', '_')] = ms;
            parts += ms;
        }
        steps["container_other"] = container.DurationMs - parts;
        steps["container_stored"] = Gap(container, ready);
        steps["mysql_answering"] = ready.DurationMs;
        steps["ready_stored_seen"] = (seenReadyAt - ready.At).TotalMilliseconds;
        return steps;
    }

    [GeneratedRegex(@"(?<name>[a-z][a-z ]*?) (?<ms>\d+) ms")]
    private static partial Regex PhasePattern();
}
