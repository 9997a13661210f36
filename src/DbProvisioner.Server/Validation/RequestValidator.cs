using System.Runtime.CompilerServices;
using System.Text.Json;

namespace DbProvisioner.Server.Validation;

/// <summary>
/// A request record that checks itself. The endpoint opts in with one line:
/// <c>.WithRequestValidation&lt;CreateInstanceRequest&gt;()</c>, or calls <see cref="RequestValidation.Validate{T}"/>.
/// </summary>
public interface IValidatableRequest
{
    void Validate(RequestValidator validator);
}

/// <summary>
/// Collects field errors keyed by the JSON field name (<c>cpus</c>, <c>memoryMiB</c>, <c>template.cpus</c>).
/// The name comes from the C# expression passed in: <c>v.Check(Cpus &gt; 0, Cpus, "must be at least 1")</c> → <c>cpus</c>.
/// </summary>
public sealed class RequestValidator
{
    private readonly Dictionary<string, List<string>> errors = new(StringComparer.Ordinal);

    public bool IsValid => errors.Count == 0;

    public IReadOnlyDictionary<string, string[]> Errors =>
        errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);

    /// <summary>Adds <paramref name="message"/> for the field unless <paramref name="condition"/> holds.</summary>
    public RequestValidator Check<T>(
        bool condition,
        T field,
        string message,
        [CallerArgumentExpression(nameof(field))] string fieldExpression = "")
    {
        _ = field;
        if (!condition)
        {
            AddError(ToJsonFieldName(fieldExpression), message);
        }

        return this;
    }

    /// <summary>Fails the field when it is null, empty or white space.</summary>
    public RequestValidator Required(string? field, [CallerArgumentExpression(nameof(field))] string fieldExpression = "") =>
        Check(!string.IsNullOrWhiteSpace(field), field, "is required", fieldExpression);

    /// <summary>Fails the field when it is outside [min, max].</summary>
    public RequestValidator InRange<T>(T field, T min, T max, [CallerArgumentExpression(nameof(field))] string fieldExpression = "")
        where T : IComparable<T> =>
        Check(field.CompareTo(min) >= 0 && field.CompareTo(max) <= 0, field, $"must be between {min} and {max}", fieldExpression);

    /// <summary>Adds an error under an explicit JSON field name (for computed names such as <c>shards[2].role</c>).</summary>
    public RequestValidator AddError(string jsonField, string message)
    {
        if (!errors.TryGetValue(jsonField, out var list))
        {
            errors[jsonField] = list = [];
        }

        list.Add(message);
        return this;
    }

    /// <summary>400 problem details with <c>errors</c> keyed by JSON field name.</summary>
    public IResult ToProblem() =>
        TypedResults.ValidationProblem(Errors, detail: "The request has invalid fields; nothing was changed.", title: "Invalid request");

    /// <summary><c>request.Template.Cpus</c> → <c>template.cpus</c>; <c>Shards[i]</c> keeps its index expression.</summary>
    internal static string ToJsonFieldName(string expression)
    {
        var parts = expression.Replace("this.", string.Empty, StringComparison.Ordinal).Split('.', StringSplitOptions.RemoveEmptyEntries);
        // A leading lower-case identifier is the request variable (request.Cpus); a property of the record itself starts upper-case.
        var start = parts.Length > 1 && parts[0].Length > 0 && char.IsLower(parts[0][0]) ? 1 : 0;
        return string.Join('.', parts[start..].Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Trim())));
    }
}

public static class RequestValidation
{
    /// <summary>Runs the request's own checks; returns a 400 problem, or null when the request is valid.</summary>
    public static IResult? Validate<T>(T? request)
        where T : IValidatableRequest
    {
        if (request is null)
        {
            return TypedResults.Problem(
                title: "Invalid request",
                detail: "A JSON request body is required.",
                statusCode: StatusCodes.Status400BadRequest);
        }

        var validator = new RequestValidator();
        request.Validate(validator);
        return validator.IsValid ? null : validator.ToProblem();
    }

    /// <summary>Validates the endpoint's <typeparamref name="T"/> argument before the handler runs.</summary>
    public static TBuilder WithRequestValidation<TBuilder, T>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
        where T : IValidatableRequest
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var request = context.Arguments.OfType<T>().FirstOrDefault();
            return Validate(request) ?? await next(context);
        });
        builder.WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status400BadRequest, typeof(HttpValidationProblemDetails), ["application/problem+json"]));
        return builder;
    }

    /// <summary>Shorthand for route handlers: <c>.WithRequestValidation&lt;CreateInstanceRequest&gt;()</c>.</summary>
    public static RouteHandlerBuilder WithRequestValidation<T>(this RouteHandlerBuilder builder)
        where T : IValidatableRequest =>
        builder.WithRequestValidation<RouteHandlerBuilder, T>();
}
