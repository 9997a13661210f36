using System.Text.Json;
using System.Text.RegularExpressions;
using DbProvisioner.Contracts;
using MySqlConnector;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace DbProvisioner.Server.Errors;

/// <summary>
/// Turns every exception into RFC 7807 problem details. Bad request bodies (malformed JSON, a wrong type,
/// an unknown or missing field) become 400 naming the field and position; a meta database that is away (down,
/// restarting, out of connections) is a 503 with a Retry-After, the request having stored nothing; anything else is
/// a 500 without internals.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problemDetails)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            BadHttpRequestException { InnerException: JsonException json } => FromJson(json, JsonFieldChoices.At(httpContext, json.Path)),
            JsonException json => FromJson(json, JsonFieldChoices.At(httpContext, json.Path)),
            BadHttpRequestException bad => new ProblemDetails { Status = bad.StatusCode, Title = "Bad request", Detail = bad.Message },
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested =>
                new ProblemDetails { Status = 499, Title = "Client closed request" },
            _ when IsMetaDbUnavailable(exception) => MetaDbUnavailable(httpContext),
            _ when IsSiloUnavailable(httpContext, exception) => SiloUnavailable(httpContext),
            _ => null,
        };

        if (problem is null)
        {
            // ExceptionHandlerMiddleware has already logged it with the request and the stack trace.
            problem = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "Internal server error",
                Detail = "The server failed to process the request; the server log has the details (search for the traceId).",
            };
        }

        problem.Instance ??= httpContext.Request.Path;
        httpContext.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    /// <summary>The meta database did not answer (or refused a session): nothing was stored, and the call may be retried.</summary>
    internal static bool IsMetaDbUnavailable(Exception? exception)
    {
        if (StorageFaults.IsStorageFault(exception)) return true;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is MySqlException) return true;
        }
        return false;
    }

    private static ProblemDetails MetaDbUnavailable(HttpContext httpContext)
    {
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = "The meta database is unavailable",
            Detail = "The appliance's meta database did not answer, so nothing was stored by this request. Retry in a few seconds; /healthz says when it is back.",
        };
    }

    private const int RetryAfterSeconds = 5;

    /// <summary>
    /// A grain call met a silo that is shutting down or dead (or this one is stopping): the call was refused, not run,
    /// so it is a 503 the client (or HAProxy, for an idempotent request) retries on another silo; not a fault of ours.
    /// </summary>
    internal static bool IsSiloUnavailable(HttpContext httpContext, Exception? exception)
    {
        if (exception is OperationCanceledException
            && httpContext.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping.IsCancellationRequested == true)
        {
            return true;
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SiloUnavailableException or OrleansMessageRejectionException) return true;
        }

        return false;
    }

    private static ProblemDetails SiloUnavailable(HttpContext httpContext)
    {
        httpContext.Response.Headers.RetryAfter = "1";
        return new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = "A silo is unavailable",
            Detail = "The request met a silo that is stopping or was declared dead, and was not carried out there. Retry; another silo takes over within seconds.",
        };
    }

    /// <summary>
    /// Names the JSON field (as a path like <c>cpus</c> or <c>shards[0].role</c>) and the 1-based line and byte position. A value
    /// that does not fit its field is also under <c>errors</c>, keyed by the field, as the validation problems are; a name an
    /// enum field does not take is answered with the <paramref name="choices"/> it does.
    /// </summary>
    internal static ProblemDetails FromJson(JsonException json, IReadOnlyList<string>? choices = null)
    {
        var field = JsonPathToField(json.Path);
        var message = ValueMessage(json, choices);
        var line = json.LineNumber is { } l ? l + 1 : (long?)null;
        var position = json.BytePositionInLine is { } p ? p + 1 : (long?)null;
        var where = (field, line, position) switch
        {
            ({ Length: > 0 }, { }, { }) => $"at field '{field}' (line {line}, position {position})",
            ({ Length: > 0 }, _, _) => $"at field '{field}'",
            (_, { }, { }) => $"at line {line}, position {position}",
            _ => "in the request body",
        };

        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request body is not valid JSON for this request",
            Detail = $"Invalid JSON {where}: {message}",
        };
        if (field.Length > 0)
        {
            problem.Extensions["field"] = field;
            problem.Extensions["errors"] = new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [message] };
        }

        if (line is not null)
        {
            problem.Extensions["line"] = line;
        }

        if (position is not null)
        {
            problem.Extensions["position"] = position;
        }

        return problem;
    }

    internal static string JsonPathToField(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return string.Empty;
        }

        var field = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        return field.Replace("['", ".", StringComparison.Ordinal).Replace("']", string.Empty, StringComparison.Ordinal).TrimStart('.');
    }

    /// <summary>
    /// "The JSON value could not be converted to CreateInstanceRequest." in the API's words: what the field takes, from the
    /// reader's own complaint. Numbers are strict (<c>"1"</c> is not a number); a number too large for its field lands here too.
    /// </summary>
    internal static string ValueMessage(JsonException json, IReadOnlyList<string>? choices = null)
    {
        var message = StripLocation(json.Message);
        if (!message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return message; // malformed JSON, an unknown or missing field: the message already says what is wrong
        }

        if (choices is { Count: > 0 } && json.InnerException is null)
        {
            return $"must be one of {string.Join(", ", choices)}";
        }

        return json.InnerException switch
        {
            InvalidOperationException e when WrongToken().Match(e.Message) is { Success: true } m => m.Groups["want"].Value switch
            {
                "number" => $"must be a JSON number, not {TokenName(m.Groups["token"].Value)}",
                "string" => $"must be a JSON string, not {TokenName(m.Groups["token"].Value)}",
                "boolean" => $"must be true or false, not {TokenName(m.Groups["token"].Value)}",
                _ => "has a value of the wrong type",
            },
            FormatException e when e.Message.EndsWith("Int32.", StringComparison.Ordinal) =>
                $"must be a whole number from {int.MinValue} to {int.MaxValue}",
            FormatException e when e.Message.EndsWith("Int64.", StringComparison.Ordinal) =>
                $"must be a whole number from {long.MinValue} to {long.MaxValue}",
            FormatException => "must be a number this field can hold",
            _ => "has a value this field does not take",
        };
    }

    private static string TokenName(string token) => token switch
    {
        "String" => "a string",
        "True" or "False" => "true or false",
        "Number" => "a number",
        "StartObject" => "an object",
        "StartArray" => "an array",
        _ => token,
    };

    // System.Text.Json's reader: "Cannot get the value of a token type 'String' as a number."
    [GeneratedRegex(@"token type '(?<token>\w+)' as an? (?<want>\w+)", RegexOptions.CultureInvariant)]
    private static partial Regex WrongToken();

    // System.Text.Json appends " Path: $.x | LineNumber: 0 | BytePositionInLine: 3." which the fields above already say, 1-based.
    private static string StripLocation(string message)
    {
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        }

        return (cut >= 0 ? message[..cut] : message).Trim();
    }
}
