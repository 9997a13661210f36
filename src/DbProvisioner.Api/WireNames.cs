using System.Text.Json;
using System.Text.Json.Serialization;

namespace DbProvisioner.Api;

// Every enum of the API names its converter on its type, so any JSON options (the server's, the CLI's, a client's
// web defaults) write the same names and refuse numbers. Options that add a JsonStringEnumConverter of their own
// take precedence over these: the server and the CLI add none.

/// <summary>An enum written as its camelCase names: <c>"required"</c>, <c>"host"</c>.</summary>
public sealed class CamelCaseNames<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.CamelCase, allowIntegerValues: false)
    where TEnum : struct, Enum;

/// <summary>An enum written as its kebab-case names: <c>"last-member"</c>.</summary>
public sealed class KebabCaseNames<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false)
    where TEnum : struct, Enum;

/// <summary>An enum written as its names as declared: <c>"Ready"</c>, <c>"Blocking"</c>.</summary>
public sealed class DeclaredNames<TEnum>() : JsonStringEnumConverter<TEnum>(namingPolicy: null, allowIntegerValues: false)
    where TEnum : struct, Enum;

/// <summary>An enum of the API by its wire name, for clients that take or print the names outside JSON (the CLI's options).</summary>
public static class WireName
{
    /// <summary><c>NumaPolicy.Required</c> → <c>"required"</c>.</summary>
    public static string Of<TEnum>(TEnum value)
        where TEnum : struct, Enum =>
        Names<TEnum>.ByValue.TryGetValue(value, out var name) ? name : JsonSerializer.Serialize(value).Trim('"');

    /// <summary>Every name of <typeparamref name="TEnum"/>, in declaration order.</summary>
    public static IReadOnlyList<string> All<TEnum>()
        where TEnum : struct, Enum => Names<TEnum>.All;

    /// <summary><c>"required"</c> → <c>NumaPolicy.Required</c> (any case, as JSON reads it); false for a name the enum does not have.</summary>
    public static bool TryParse<TEnum>(string name, out TEnum value)
        where TEnum : struct, Enum
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Names<TEnum>.ByName.TryGetValue(name, out value))
        {
            return true;
        }

        try
        {
            value = JsonSerializer.Deserialize<TEnum>(JsonSerializer.Serialize(name));
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>As <see cref="TryParse{TEnum}"/>, for a name already checked against <see cref="All{TEnum}"/>.</summary>
    public static TEnum Parse<TEnum>(string name)
        where TEnum : struct, Enum =>
        TryParse<TEnum>(name, out var value) ? value : throw new ArgumentException($"'{name}' is not one of {string.Join(", ", All<TEnum>())}", nameof(name));

    // The names as the enum's own converter writes them, worked out once per enum (grains convert on every call).
    private static class Names<TEnum>
        where TEnum : struct, Enum
    {
        public static readonly IReadOnlyList<string> All = [.. Enum.GetValues<TEnum>().Select(static v => string.Intern(JsonSerializer.Serialize(v).Trim('"')))];
        public static readonly Dictionary<TEnum, string> ByValue = Enum.GetValues<TEnum>().Zip(All).ToDictionary(static p => p.First, static p => p.Second);
        public static readonly Dictionary<string, TEnum> ByName = ByValue.ToDictionary(static p => p.Value, static p => p.Key, StringComparer.OrdinalIgnoreCase);
    }
}
