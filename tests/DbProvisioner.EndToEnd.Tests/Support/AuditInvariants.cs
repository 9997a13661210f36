using DbProvisioner.Api;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// Each state change has exactly one audit row (DESIGN.md, faults): the trail served by <c>GET /audit</c> against
/// the steps an instance or a scale-down request shows. Retries and reconciliation findings are not state changes.
/// </summary>
public static class AuditInvariants
{
    private static readonly HashSet<string> RemovalSteps = new(StringComparer.Ordinal) { "Draining", "Drained", "ContainerRemoved", "ResourcesFreed", "Removed" };
    private static readonly HashSet<string> ProvisioningSteps = new(StringComparer.Ordinal) { "Requested", "Placed", "DiskAttached", "ContainerStarted", "Ready", "Failed" };

    /// <summary>A state change that is not a step: a Failed instance gave back its reservations (once).</summary>
    private const string Released = "Released";

    /// <summary>One audit row per step in the instance's step list (provisioning.* or removal.*), and none for a step it does not show.</summary>
    public static async Task<IReadOnlyList<string>> InstanceAsync(E2eDeployment e2e, InstanceView view)
    {
        var rows = await RowsAsync(e2e, "instance", view.Id);
        // Findings (ContainerMissing/Returned) and retries of a removal step are not state changes.
        var changes = rows
            .Where(r => r.Action.StartsWith("provisioning.", StringComparison.Ordinal) || r.Action.StartsWith("removal.", StringComparison.Ordinal))
            .Where(r => r.Outcome != "retrying" && (ProvisioningSteps.Contains(StepOf(r.Action)) || RemovalSteps.Contains(StepOf(r.Action))))
            .ToList();
        var problems = new List<string>();
        foreach (var step in view.Steps.Select(s => s.Step).Distinct(StringComparer.Ordinal))
        {
            var action = ActionOf(step);
            var count = changes.Count(r => r.Action == action);
            if (count != 1)
            {
                problems.Add($"{view.Id}: {count} audit rows for {action} (its steps: {Steps(view)}; audited: {Audited(changes)})");
            }
        }

        var shown = view.Steps.Select(s => ActionOf(s.Step)).ToHashSet(StringComparer.Ordinal);
        foreach (var unknown in changes.Where(r => !shown.Contains(r.Action)).GroupBy(r => r.Action))
        {
            problems.Add($"{view.Id}: audit has {unknown.Key} ({unknown.First().Outcome}), a state the instance does not show (its steps: {Steps(view)})");
        }

        var released = rows.Where(r => StepOf(r.Action) == Released).ToList();
        if (released.Count > 1 || (released.Count == 1 && view.State != "Failed" && !view.Steps.Any(s => s.Step == "Failed")))
        {
            problems.Add($"{view.Id} ({view.State}): {released.Count} audit rows for giving back its reservations (audited: {Audited(released)})");
        }

        return problems;
    }

    /// <summary>
    /// A scale-down request agrees with its instance (Removed together), its list entry matches its detail, and its
    /// request, approval and end are each audited once.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ScaleDownAsync(E2eDeployment e2e, string requestId, InstanceView? instance)
    {
        var problems = new List<string>();
        var view = await e2e.Viewer.GetOrThrowAsync<ScaleDownView>($"scale-downs/{requestId}");
        var listed = (await e2e.Viewer.GetOrThrowAsync<IReadOnlyList<ScaleDownView>>("scale-downs")).FirstOrDefault(s => s.Id == requestId);
        if (listed?.State != view.State)
        {
            problems.Add($"scale-down {requestId}: GET /scale-downs says {listed?.State ?? "nothing"}, its detail says {view.State}");
        }

        if (view.State is not ("Removed" or "Failed" or "Rejected" or "Expired" or "Superseded" or "Pending"))
        {
            problems.Add($"scale-down {requestId}: did not settle, still {view.State}");
        }

        if (instance is not null && (instance.State == "Removed") != (view.State == "Removed"))
        {
            problems.Add($"scale-down {requestId} is {view.State} while its instance {instance.Id} is {instance.State}");
        }

        var rows = await RowsAsync(e2e, "scale-down", requestId);
        var approved = view.Decision?.Decision == "approved";
        var expected = new List<(string What, Func<AuditRow, bool> Row)> { ("the request", r => r.Action == "scale-down.request" && r.Outcome == "ok") };
        if (approved)
        {
            expected.Add(("the approval", r => r.Action == "scale-down.approve" && r.Outcome == "ok"));
        }

        if (approved && view.State is "Removed" or "Failed")
        {
            // The end: removed (ok or failed), or the instance refused the removal.
            expected.Add(("the end", r => r.Action is "scale-down.removed" or "scale-down.removal"));
        }

        foreach (var (what, matches) in expected)
        {
            var count = rows.Count(matches);
            if (count != 1)
            {
                problems.Add($"scale-down {requestId} ({view.State}): {count} audit rows for {what} (audited: {Audited(rows)})");
            }
        }

        return problems;
    }

    /// <summary>The cluster's member view agrees with its instances: each member exists and shows the same state.</summary>
    public static async Task<IReadOnlyList<string>> ClusterAsync(E2eDeployment e2e, string name, FleetSnapshot fleet)
    {
        var problems = new List<string>();
        var cluster = await e2e.Viewer.GetOrThrowAsync<ClusterView>($"clusters/{name}");
        foreach (var member in cluster.Members)
        {
            if (!fleet.Details.TryGetValue(member.InstanceId, out var view))
            {
                problems.Add($"cluster {name}: member {member.InstanceId} ({member.State}) is unknown to GET /instances/{member.InstanceId}");
            }
            else if (view.State != member.State)
            {
                problems.Add($"cluster {name}: member {member.InstanceId} shows {member.State}, the instance {view.State}");
            }
        }

        return problems;
    }

    private static async Task<IReadOnlyList<AuditRow>> RowsAsync(E2eDeployment e2e, string subjectType, string subjectId) =>
        await e2e.Viewer.GetOrThrowAsync<IReadOnlyList<AuditRow>>($"audit?subjectType={subjectType}&subjectId={Uri.EscapeDataString(subjectId)}&limit=1000");

    private static string ActionOf(string step) => (RemovalSteps.Contains(step) ? "removal." : "provisioning.") + step;

    private static string StepOf(string action) => action[(action.IndexOf('.', StringComparison.Ordinal) + 1)..];

    private static string Steps(InstanceView view) => string.Join(" → ", view.Steps.Select(s => s.Step));

    private static string Audited(IEnumerable<AuditRow> rows) => string.Join(", ", rows.Select(r => $"{r.Action}:{r.Outcome}@v{r.StateVersion}"));

    /// <summary>The fields of an audit row (AuditRecord on the wire) that the rules read.</summary>
    private sealed record AuditRow(long Id, string Action, string Outcome, long? StateVersion);
}
