using System.Text.RegularExpressions;

namespace DbProvisioner.Runtime;

/// <summary>Deterministic names: creating the same instance twice finds what the first attempt made.</summary>
public static partial class ResourceNames
{
    public static string Container(string instanceId) => $"dbprov-{instanceId}";
    public static string DataVolume(string instanceId) => $"dbprov-data-{instanceId}";

    public static void ValidateInstanceId(string instanceId)
    {
        if (instanceId is null || !InstanceIdPattern().IsMatch(instanceId))
            throw new ArgumentException($"instance id '{instanceId}' must be 1-60 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", nameof(instanceId));
    }

    public static void ValidateDevice(string device)
    {
        if (device is null || !DevicePattern().IsMatch(device))
            throw new ArgumentException($"device '{device}' must be a path under /dev/", nameof(device));
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]{0,59}$")]
    private static partial Regex InstanceIdPattern();

    [GeneratedRegex("^/dev/[A-Za-z0-9_./-]+$")]
    private static partial Regex DevicePattern();
}
