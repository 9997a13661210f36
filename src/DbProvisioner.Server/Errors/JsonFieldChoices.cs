using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Server.Errors;

/// <summary>
/// The names an enum field of a request body takes (<c>numa</c>: required, preferred, interleave, none), found from the
/// endpoint's body type and the JSON path the reader stopped at, so that a bad name is answered with the good ones.
/// </summary>
internal static class JsonFieldChoices
{
    public static IReadOnlyList<string>? At(HttpContext http, string? path)
    {
        // The exception handler clears the endpoint before it runs; its feature keeps the one that failed.
        var endpoint = http.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? http.GetEndpoint();
        var bodyType = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
        if (bodyType is null || string.IsNullOrEmpty(path))
        {
            return null;
        }

        var options = http.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var type = TypeAt(bodyType, path, options);
        type = type is null ? null : Nullable.GetUnderlyingType(type) ?? type;
        return type is { IsEnum: true }
            ? [.. Enum.GetValues(type).Cast<object>().Select(v => JsonSerializer.Serialize(v, type, options).Trim('"'))]
            : null;
    }

    /// <summary>The type at <c>$.template.numa</c> or <c>$.acknowledge[0]</c> below <paramref name="root"/>; null when a step is unknown.</summary>
    internal static Type? TypeAt(Type root, string path, JsonSerializerOptions options)
    {
        var type = root;
        foreach (var step in path.TrimStart('$').Replace("[", ".[", StringComparison.Ordinal).Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (step.StartsWith('['))
            {
                type = type.IsArray
                    ? type.GetElementType()
                    : type.GetInterfaces().Append(type)
                        .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
            }
            else
            {
                type = options.GetTypeInfo(type).Properties.FirstOrDefault(p => p.Name == step)?.PropertyType;
            }

            if (type is null)
            {
                return null;
            }
        }

        return type;
    }
}
