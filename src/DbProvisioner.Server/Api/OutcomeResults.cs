using DbProvisioner.Contracts;

namespace DbProvisioner.Server.Api;

/// <summary>Every <see cref="OutcomeKind"/> as an HTTP answer: the value, or RFC 7807 problem details with the grain's reason.</summary>
public static class OutcomeResults
{
    /// <summary>The status each refusal answers with.</summary>
    public static int StatusOf(OutcomeKind kind) => kind switch
    {
        OutcomeKind.NotFound => StatusCodes.Status404NotFound,
        OutcomeKind.Conflict => StatusCodes.Status409Conflict,
        OutcomeKind.Invalid => StatusCodes.Status400BadRequest,
        OutcomeKind.Unplaceable => StatusCodes.Status422UnprocessableEntity,
        OutcomeKind.Forbidden => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>
    /// A refused outcome as problem details. An <see cref="OutcomeKind.Invalid"/> refusal of one <paramref name="field"/>
    /// (e.g. <c>reservedCpus</c>: CPU 9 does not exist) is a validation problem keyed by that field, as the API's own checks are.
    /// </summary>
    public static IResult ToProblem(OutcomeKind kind, string? reason, string? field = null)
    {
        var detail = string.IsNullOrWhiteSpace(reason) ? null : reason;
        if (kind == OutcomeKind.Invalid && !string.IsNullOrEmpty(field))
        {
            var message = detail ?? "is invalid";
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [field] = [message] },
                detail: $"{field}: {message}",
                title: "Invalid request");
        }

        var (title, fallback) = kind switch
        {
            OutcomeKind.NotFound => ("Not found", "The resource does not exist."),
            OutcomeKind.Conflict => ("Conflict", "The request conflicts with the current state; nothing was changed."),
            OutcomeKind.Invalid => ("Invalid request", "The request is invalid; nothing was changed."),
            OutcomeKind.Unplaceable => ("Cannot be placed", "No host can take the request; nothing was reserved."),
            OutcomeKind.Forbidden => ("Forbidden", "The API key may not do this."),
            _ => ("Internal server error", "The server answered an unexpected outcome."),
        };
        // A conflict over one field (e.g. disks another host holds) names it, as a validation problem does.
        var named = detail is not null && !string.IsNullOrEmpty(field) ? $"{field}: {detail}" : detail;
        return TypedResults.Problem(detail: named ?? fallback, statusCode: StatusOf(kind), title: title);
    }

    /// <summary>The value with <paramref name="onSuccess"/>, or the refusal as problem details.</summary>
    public static IResult Match<T>(Outcome<T> outcome, Func<T, IResult> onSuccess)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(onSuccess);
        if (outcome.Ok)
        {
            return outcome.Value is { } value
                ? onSuccess(value)
                : throw new InvalidOperationException("A grain answered success without a value.");
        }

        return ToProblem(outcome.Kind, outcome.Error, outcome.Field);
    }

    public static IResult NotFound(string what, string id) =>
        TypedResults.Problem(detail: $"{what} '{id}' does not exist.", statusCode: StatusCodes.Status404NotFound, title: "Not found");
}
