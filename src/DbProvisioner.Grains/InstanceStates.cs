namespace DbProvisioner.Grains;

/// <summary>The provisioning state machine's states (DESIGN.md "Provisioning, step by step").</summary>
public static class InstanceStates
{
    public const string Requested = "Requested";
    public const string Placed = "Placed";
    public const string DiskAttached = "DiskAttached";
    public const string ContainerStarted = "ContainerStarted";
    public const string Ready = "Ready";
    public const string Failed = "Failed";

    public static bool IsTerminal(string state) => state is Ready or Failed or RemovalStates.Removed;
}

/// <summary>The removal's states, after an approved scale-down request (DESIGN.md "Scale-down, step by step").</summary>
public static class RemovalStates
{
    public const string Draining = "Draining";
    public const string Drained = "Drained";
    public const string ContainerRemoved = "ContainerRemoved";
    public const string ResourcesFreed = "ResourcesFreed";
    public const string Removed = "Removed";

    public static bool IsRemoving(string state) => state is Draining or Drained or ContainerRemoved or ResourcesFreed;
}
