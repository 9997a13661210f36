using System.Reflection;

namespace DbProvisioner.Cli;

internal static class CliVersion
{
    public static string Value { get; } =
        typeof(CliVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "unknown";
}
