using System.Text.RegularExpressions;

namespace DbProvisioner.Server.Validation;

/// <summary>The shapes of ids and names the API accepts; they end up in grain keys, container names and labels.</summary>
public static partial class ApiNames
{
    public const string IdRule = "must be 1–63 lowercase letters, digits or '-', starting with a letter or digit";
    public const string ClusterNameRule = "must be 1–40 lowercase letters, digits or '-', starting with a letter or digit";
    public const string NameRule = "must be 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit";

    /// <summary>Host ids, shard names: <c>^[a-z0-9][a-z0-9-]{0,62}$</c>.</summary>
    public static bool IsId(string? value) => value is not null && Id().IsMatch(value);

    /// <summary>Cluster names: like an id, at most 40 characters.</summary>
    public static bool IsClusterName(string? value) => value is not null && ClusterName().IsMatch(value);

    /// <summary>Zones, racks, pools, disk classes: <c>^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$</c>.</summary>
    public static bool IsName(string? value) => value is not null && Name().IsMatch(value);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Id();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,39}$", RegexOptions.CultureInvariant)]
    private static partial Regex ClusterName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Name();
}
