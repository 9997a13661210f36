using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DbProvisioner.Cli.Http;

/// <summary>An RFC 7807 problem as the server sends it, including validation <c>errors</c> keyed by JSON field.</summary>
public sealed record ApiProblem(
    string? Type,
    string? Title,
    int? Status,
    string? Detail,
    string? Instance,
    IReadOnlyDictionary<string, string[]>? Errors)
{
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extensions { get; init; }

    /// <summary>One readable message: title, detail, then each field error on its own line.</summary>
    public string ToMessage()
    {
        var text = new StringBuilder(Title ?? "Request failed");
        if (!string.IsNullOrWhiteSpace(Detail))
        {
            text.Append(": ").Append(Detail);
        }

        foreach (var (field, messages) in Errors ?? new Dictionary<string, string[]>())
        {
            foreach (var message in messages)
            {
                text.AppendLine().Append("  ").Append(field).Append(": ").Append(message);
            }
        }

        return text.ToString();
    }
}

/// <summary>The server answered with an error status; <see cref="Problem"/> says why.</summary>
public sealed class ApiProblemException(int statusCode, ApiProblem problem)
    : Exception(problem.ToMessage())
{
    public int StatusCode { get; } = statusCode;

    public ApiProblem Problem { get; } = problem;
}
