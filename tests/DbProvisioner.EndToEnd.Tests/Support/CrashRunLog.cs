using System.Globalization;
using System.Text;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>Every run's outcome, one line each, and the totals the suite ends with (runs, faults by kind, violations, medians).</summary>
public sealed class CrashRunLog
{
    private readonly List<CrashOutcome> _outcomes = [];

    public int Count => _outcomes.Count;

    public void Add(CrashOutcome outcome) => _outcomes.Add(outcome);

    public static string Line(CrashOutcome o) =>
        string.Create(CultureInfo.InvariantCulture,
            $"[crash] seed {o.Plan.Seed} | {o.Plan.Describe()} | hit at {o.FaultAt.TotalSeconds:F2} s while {o.StateAtFault} | {Recovery(o)} | settled {Seconds(o.Settled)} | run {o.Total.TotalSeconds:F1} s | {(o.Violations.Count == 0 ? "no violations" : $"{o.Violations.Count} VIOLATIONS")}{(o.Note.Length > 0 ? $" | {o.Note}" : "")}");

    public string Summary()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"[crash] ==== {_outcomes.Count} runs");
        foreach (var outcome in _outcomes)
        {
            text.AppendLine(Line(outcome));
            foreach (var violation in outcome.Violations)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"[crash]     DBPROV_CRASH_SEED={outcome.Plan.Seed}: {violation}");
            }
        }

        var faults = _outcomes.GroupBy(o => $"{o.Plan.Fault} {o.Plan.Trigger}").OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}: {g.Count()}");
        var scenarios = _outcomes.GroupBy(o => o.Plan.Scenario).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}");
        var failing = _outcomes.Where(o => o.Violations.Count > 0).ToList();
        text.AppendLine(CultureInfo.InvariantCulture, $"[crash] faults injected: {string.Join(", ", faults)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"[crash] scenarios: {string.Join(", ", scenarios)}");
        var seeds = failing.Count > 0 ? $" (seeds {string.Join(", ", failing.Select(o => o.Plan.Seed))})" : "";
        text.AppendLine(CultureInfo.InvariantCulture, $"[crash] violations: {failing.Sum(o => o.Violations.Count)} in {failing.Count} of {_outcomes.Count} runs{seeds}");
        var killSettled = Median(_outcomes.Where(o => o.Plan.Fault == CrashFault.ServerKill).Select(o => o.Settled));
        var metaSettled = Median(_outcomes.Where(o => o.Plan.Fault == CrashFault.MetaDbRestart).Select(o => o.Settled));
        text.AppendLine(CultureInfo.InvariantCulture,
            $"[crash] median time to settle after the fault: {Median(_outcomes.Select(o => o.Settled))} (server kill: {killSettled}, meta DB restart: {metaSettled}); not settled: {_outcomes.Count(o => o.Settled is null)}");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"[crash] median server back after a kill: {Median(_outcomes.Select(o => o.ServerBack))}; after a meta DB restart, median MySQL answering: {Median(_outcomes.Select(o => o.MetaBack))}, API answering: {Median(_outcomes.Select(o => o.ApiBack))}");
        text.Append(CultureInfo.InvariantCulture, $"[crash] median run: {Median(_outcomes.Select(o => (TimeSpan?)o.Total))}, all runs {_outcomes.Sum(o => o.Total.TotalSeconds):F0} s");
        return text.ToString();
    }

    private static string Recovery(CrashOutcome o) => o.Plan.Fault == CrashFault.ServerKill
        ? $"server back in {Seconds(o.ServerBack)}"
        : $"MySQL back in {Seconds(o.MetaBack)}, API in {Seconds(o.ApiBack)}";

    private static string Seconds(TimeSpan? time) => time is { } t ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:F1} s") : "never";

    private static string Median(IEnumerable<TimeSpan?> times)
    {
        var sorted = times.Where(t => t is not null).Select(t => t!.Value).Order().ToList();
        if (sorted.Count == 0)
        {
            return "-";
        }

        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        return Seconds(median);
    }
}
