using System.Text.Json.Serialization;
using Orleans;

namespace DbProvisioner.Api;

/// <summary>The failure domain a spread rule counts members in.</summary>
[GenerateSerializer, JsonConverter(typeof(CamelCaseNames<SpreadDomain>))]
public enum SpreadDomain
{
    Host,
    Rack,
    Zone,
}

/// <summary>Hard: never violated (the placement fails instead). Soft: preferred by the score.</summary>
[GenerateSerializer, JsonConverter(typeof(CamelCaseNames<SpreadMode>))]
public enum SpreadMode
{
    Hard,
    Soft,
}
