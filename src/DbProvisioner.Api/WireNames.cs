using System.Text.Json;
using System.Text.Json.Serialization;

namespace DbProvisioner.Api;

// Every enum of the API names its converter on its type, so any JSON options (the server's, the CLI's, a client's
// web defaults) write the same names and refuse numbers. Options that add a JsonStringEnumConverter of their own
// take precedence over these: the server and the CLI add none.

/// <summary>An enum written as its camelCase names: <c>"required"</c>, <c>"host"</c>.</summary>
public sealed class CamelCaseNames<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.CamelCase, allowIntegerValues: false)
    where TEnum : struct, Enum;

/// <summary>An enum written as its names as declared: <c>"Ready"</c>, <c>"Blocking"</c>.</summary>
public sealed class DeclaredNames<TEnum>() : JsonStringEnumConverter<TEnum>(namingPolicy: null, allowIntegerValues: false)
    where TEnum : struct, Enum;
