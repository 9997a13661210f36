namespace DbProvisioner.Domain.Hosts;

/// <summary>Where one instance of an evacuation stands (its replacement, then its scale-down request through the gate).</summary>
public enum EvacueePhase
{
    /// <summary>The replacement is being provisioned.</summary>
    Replacing,
    /// <summary>The replacement is Ready: the old instance's scale-down request is to be opened now.</summary>
    OpenScaleDown,
    /// <summary>The scale-down request waits for a second person's approval.</summary>
    AwaitingApproval,
    /// <summary>Approved: the old instance is being drained and removed.</summary>
    Removing,
    /// <summary>The old instance is removed; its replacement serves.</summary>
    Done,
    /// <summary>The replacement failed: the old instance stays.</summary>
    ReplacementFailed,
    /// <summary>The scale-down request was rejected, expired, superseded or failed, or could not be opened: the old instance stays.</summary>
    Stopped,
}

/// <summary>The gate's states and an evacuation's as words; the decisions are pure over the states the grains report.</summary>
public static class EvacuationProgress
{
    public const string Evacuating = "Evacuating";
    public const string Evacuated = "Evacuated";
    /// <summary>Every instance settled, some of them still on the host (a replacement failed or a removal was not approved).</summary>
    public const string Incomplete = "Incomplete";

    /// <summary>
    /// The phase of one instance. The old instance is removed only through an approved scale-down request, and that
    /// request is opened only once the replacement is Ready (so its risk report counts the replacement).
    /// </summary>
    public static EvacueePhase PhaseOf(string? replacementState, string? scaleDownState, bool replacementRefused = false, bool scaleDownRefused = false)
    {
        if (replacementRefused || replacementState == "Failed") return EvacueePhase.ReplacementFailed;
        if (scaleDownRefused) return EvacueePhase.Stopped;
        if (scaleDownState is null) return replacementState == "Ready" ? EvacueePhase.OpenScaleDown : EvacueePhase.Replacing;
        return scaleDownState switch
        {
            "Pending" => EvacueePhase.AwaitingApproval,
            "Approved" or "Draining" => EvacueePhase.Removing,
            "Removed" => EvacueePhase.Done,
            _ => EvacueePhase.Stopped,
        };
    }

    /// <summary>The evacuation as a whole: Evacuated when every old instance is removed, Incomplete when all settled otherwise.</summary>
    public static string Overall(IReadOnlyCollection<EvacueePhase> phases)
    {
        ArgumentNullException.ThrowIfNull(phases);
        if (phases.All(static p => p == EvacueePhase.Done)) return Evacuated;
        return phases.Any(static p => p is EvacueePhase.Replacing or EvacueePhase.OpenScaleDown or EvacueePhase.AwaitingApproval or EvacueePhase.Removing)
            ? Evacuating
            : Incomplete;
    }
}
