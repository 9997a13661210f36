using System.Text.RegularExpressions;

namespace DbProvisioner.Persistence;

/// <summary>Database names go into DDL text (they cannot be parameters), so only a safe alphabet is allowed.</summary>
internal static partial class MetaDbIdentifier
{
    public static void EnsureValid(string? name, string parameterName)
    {
        if (name is null || !SafeName().IsMatch(name))
        {
            throw new ArgumentException(
                $"'{name}' is not a valid database name: use 1-64 characters of A-Z, a-z, 0-9 and _.",
                parameterName);
        }
    }

    public static string Quote(string name)
    {
        EnsureValid(name, nameof(name));
        return $"`{name}`";
    }

    [GeneratedRegex("^[A-Za-z0-9_]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeName();
}
