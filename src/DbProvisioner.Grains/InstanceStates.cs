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

    public static bool IsTerminal(string state) => state is Ready or Failed;
}
