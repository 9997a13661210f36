using System.Text.Json;
using System.Text.Json.Serialization;
using DbProvisioner.Domain.Topology;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace DbProvisioner.Contracts;

/// <summary>
/// Domain records stay free of Orleans: grains carry them in their state and calls as JSON, with
/// CpuSet in its Linux list syntax.
/// </summary>
public static class DomainSerialization
{
    public static JsonSerializerOptions JsonOptions { get; } = CreateOptions();

    public static bool IsDomainType(Type type) =>
        type.Namespace?.StartsWith("DbProvisioner.Domain", StringComparison.Ordinal) == true;

    public static IServiceCollection AddDomainSerialization(this IServiceCollection services) =>
        services.AddSerializer(builder => builder.AddJsonSerializer(IsDomainType, JsonOptions));

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            IgnoreReadOnlyProperties = true,
        };
        options.Converters.Add(new CpuSetJsonConverter());
        options.Converters.Add(new JsonStringEnumConverter());
        return options;
    }
}

public sealed class CpuSetJsonConverter : JsonConverter<CpuSet>
{
    public override CpuSet Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        CpuSet.Parse(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, CpuSet value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
