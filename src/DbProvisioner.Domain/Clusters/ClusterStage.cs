using DbProvisioner.Api;

namespace DbProvisioner.Domain.Clusters;

/// <summary>
/// Where a cluster's creation stands in its grain: not requested, members being reserved, handed over to its members
/// (each then runs its own lifecycle), or failed with every reservation given back. Stored by name.
/// </summary>
public enum ClusterStage
{
    None,
    Reserving,
    Provisioning,
    Failed,
}

/// <summary>What a cluster shows: its stage, then its members' states.</summary>
public enum ClusterStatus
{
    Provisioning,
    Ready,
    Degraded,
    Failed,
}

public static class ClusterStages
{
    /// <summary>A stored name back to its stage ("" is <see cref="ClusterStage.None"/>); a number or an unknown name is refused.</summary>
    public static bool TryParse(string name, out ClusterStage stage)
    {
        ArgumentNullException.ThrowIfNull(name);
        stage = ClusterStage.None;
        if (name.Length == 0) return true;
        return Enum.TryParse(name, ignoreCase: false, out stage) && !char.IsAsciiDigit(name[0]) && Enum.IsDefined(stage);
    }

    public static string NameOf(ClusterStage stage) => stage == ClusterStage.None ? "" : stage.ToString();

    /// <summary>The cluster exists for its readers once handed over, or when it failed (to say why).</summary>
    public static bool IsVisible(ClusterStage stage) => stage is ClusterStage.Provisioning or ClusterStage.Failed;

    /// <summary>
    /// Failed when its creation failed; Ready when every member is; Degraded when a member failed; else Provisioning.
    /// A member still being reserved (no state yet) is null.
    /// </summary>
    public static ClusterStatus Status(ClusterStage stage, IEnumerable<InstanceState?> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (stage == ClusterStage.Failed) return ClusterStatus.Failed;
        var states = members.ToList();
        if (states.All(static s => s == InstanceState.Ready)) return ClusterStatus.Ready;
        if (states.Any(static s => s == InstanceState.Failed)) return ClusterStatus.Degraded;
        return ClusterStatus.Provisioning;
    }
}
