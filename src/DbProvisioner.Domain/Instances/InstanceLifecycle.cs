using System.Collections.Frozen;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Instances;

/// <summary>The work an instance does at a state to leave it.</summary>
public enum InstanceStep
{
    /// <summary>Nothing: the state is where the instance rests.</summary>
    None,
    Place,
    AttachDisk,
    StartContainer,
    WaitReady,
    /// <summary>A Failed instance gives every reservation back (host, shard); it stays Failed.</summary>
    GiveBack,
    Drain,
    RemoveContainer,
    FreeResources,
    RecycleDisk,
}

/// <summary>What a step whose own work failed (not the meta database: that step is simply tried again) leads to.</summary>
public enum StepFailure
{
    /// <summary>No step runs at this state.</summary>
    None,
    /// <summary>The instance becomes Failed with the reason, and gives back what it holds.</summary>
    Fail,
    /// <summary>A removal is never abandoned half-way: the same step again after a pause, until it succeeds.</summary>
    Retry,
    /// <summary>Tried a few times, then left for the next resume (the engine may be away for long).</summary>
    RetryLater,
}

/// <summary>What an activation after a crash (or a resume) does at a state. Every step is idempotent, so running it again is safe.</summary>
public enum ResumeAction
{
    Nothing,
    RunStepAgain,
    /// <summary>Gives back whatever a Failed instance still holds; nothing once it has.</summary>
    GiveBackIfHeld,
}

/// <summary>Whether the host's engine should hold the instance's container at a state, for reconciliation.</summary>
public enum ContainerExpectation
{
    /// <summary>No container: one found is an orphan.</summary>
    Absent,
    /// <summary>A running container: one missing has vanished.</summary>
    Expected,
    /// <summary>Being made or removed: neither orphan nor vanished.</summary>
    InFlight,
}

/// <summary>One state of the lifecycle: the step run there, where it leads, and what a failure or a resume does.</summary>
public sealed record LifecycleRow(
    InstanceState State,
    InstanceStep Step,
    InstanceState? Next,
    StepFailure OnFailure,
    ResumeAction OnResume,
    ContainerExpectation Container);

/// <summary>
/// An instance's lifecycle (DESIGN.md "Provisioning, step by step" and "Scale-down, step by step"): Requested → Placed →
/// DiskAttached → ContainerStarted → Ready, or Failed from any provisioning step; after an approved scale-down request,
/// Draining → Drained → ContainerRemoved → ResourcesFreed → Removed. Invariants: each state has one row; a step leads
/// to exactly its row's next state; only provisioning steps fail an instance; only Ready, or Failed with everything
/// given back, starts a removal; Ready, Failed and Removed are terminal.
/// </summary>
public static class InstanceLifecycle
{
    private static readonly LifecycleRow[] Rows =
    [
        new(InstanceState.Requested, InstanceStep.Place, InstanceState.Placed, StepFailure.Fail, ResumeAction.RunStepAgain, ContainerExpectation.InFlight),
        new(InstanceState.Placed, InstanceStep.AttachDisk, InstanceState.DiskAttached, StepFailure.Fail, ResumeAction.RunStepAgain, ContainerExpectation.InFlight),
        new(InstanceState.DiskAttached, InstanceStep.StartContainer, InstanceState.ContainerStarted, StepFailure.Fail, ResumeAction.RunStepAgain, ContainerExpectation.InFlight),
        new(InstanceState.ContainerStarted, InstanceStep.WaitReady, InstanceState.Ready, StepFailure.Fail, ResumeAction.RunStepAgain, ContainerExpectation.InFlight),
        new(InstanceState.Ready, InstanceStep.None, null, StepFailure.None, ResumeAction.Nothing, ContainerExpectation.Expected),
        new(InstanceState.Failed, InstanceStep.GiveBack, null, StepFailure.RetryLater, ResumeAction.GiveBackIfHeld, ContainerExpectation.Absent),
        new(InstanceState.Draining, InstanceStep.Drain, InstanceState.Drained, StepFailure.Retry, ResumeAction.RunStepAgain, ContainerExpectation.Expected),
        new(InstanceState.Drained, InstanceStep.RemoveContainer, InstanceState.ContainerRemoved, StepFailure.Retry, ResumeAction.RunStepAgain, ContainerExpectation.Expected),
        new(InstanceState.ContainerRemoved, InstanceStep.FreeResources, InstanceState.ResourcesFreed, StepFailure.Retry, ResumeAction.RunStepAgain, ContainerExpectation.InFlight),
        new(InstanceState.ResourcesFreed, InstanceStep.RecycleDisk, InstanceState.Removed, StepFailure.Retry, ResumeAction.RunStepAgain, ContainerExpectation.Absent),
        new(InstanceState.Removed, InstanceStep.None, null, StepFailure.None, ResumeAction.Nothing, ContainerExpectation.Absent),
    ];

    private static readonly FrozenDictionary<InstanceState, LifecycleRow> ByState = Rows.ToFrozenDictionary(static r => r.State);

    private static readonly FrozenDictionary<string, InstanceState> ByName =
        Enum.GetValues<InstanceState>().ToFrozenDictionary(static s => s.ToString(), StringComparer.Ordinal);

    /// <summary>The transition table, one row per state, in lifecycle order.</summary>
    public static IReadOnlyList<LifecycleRow> Table => Rows;

    public static LifecycleRow Of(InstanceState state) =>
        ByState.TryGetValue(state, out var row) ? row : throw new ArgumentOutOfRangeException(nameof(state), state, "not an instance state");

    /// <summary>A state no step leads on from (Ready, Failed, Removed): the instance rests there until a request moves it.</summary>
    public static bool IsTerminal(InstanceState state) => Of(state).Next is null;

    /// <summary>A removal under way (after an approval, before Removed).</summary>
    public static bool IsRemoving(InstanceState state) => Of(state).OnFailure == StepFailure.Retry;

    /// <summary>The step to run now, after a transition or on a resume; <see cref="InstanceStep.None"/> when the instance rests.</summary>
    /// <param name="released">For a Failed instance: every reservation has been given back.</param>
    public static InstanceStep StepAt(InstanceState? state, bool released)
    {
        if (state is not { } s) return InstanceStep.None;
        var row = Of(s);
        return row.OnResume switch
        {
            ResumeAction.RunStepAgain => row.Step,
            ResumeAction.GiveBackIfHeld when !released => row.Step,
            _ => InstanceStep.None,
        };
    }

    /// <summary>The instance still has work to do (a step, or giving back what a failure left held).</summary>
    public static bool IsUnfinished(InstanceState? state, bool released) => StepAt(state, released) != InstanceStep.None;

    /// <summary>The state the step run at <paramref name="state"/> leads to, or null when it leads nowhere.</summary>
    public static InstanceState? Next(InstanceState state) => Of(state).Next;

    /// <summary>The step as a failure reason names it: the state it was heading for.</summary>
    public static InstanceState Heading(InstanceState state) => Next(state) ?? state;

    /// <summary>Whether the lifecycle allows going from one state to another.</summary>
    public static bool Allows(InstanceState from, InstanceState to)
    {
        var row = Of(from);
        if (row.Next == to) return true;
        if (to == InstanceState.Failed) return row.OnFailure == StepFailure.Fail;
        return to == InstanceState.Draining && from is InstanceState.Ready or InstanceState.Failed;
    }

    /// <summary>An approved scale-down request may start removing the instance: Ready, or Failed with nothing held.</summary>
    public static bool CanStartRemoval(InstanceState state, bool released) =>
        state == InstanceState.Ready || (state == InstanceState.Failed && released);

    /// <summary>A scale-down request may be planned for the instance: it rests Ready or Failed.</summary>
    public static bool CanPlanRemoval(InstanceState state) => state is InstanceState.Ready or InstanceState.Failed;

    /// <summary>
    /// The state a stored name names ("" for an instance never requested, which is null). States are stored by name,
    /// so a name written by any earlier version reads back; a number or an unknown name is refused.
    /// </summary>
    public static bool TryParse(string name, out InstanceState? state)
    {
        ArgumentNullException.ThrowIfNull(name);
        state = null;
        if (name.Length == 0) return true;
        if (!ByName.TryGetValue(name, out var known)) return false;
        state = known;
        return true;
    }
}
