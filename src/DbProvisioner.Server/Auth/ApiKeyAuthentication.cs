using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Server.Auth;

public static class ApiKeyAuthentication
{
    public const string Scheme = "ApiKey";
    public const string KeyIdClaim = "dbprov:key_id";

    /// <summary>The caller as the API sees it, or null for an anonymous request.</summary>
    public static ApiPrincipal? GetApiPrincipal(this ClaimsPrincipal user)
    {
        var keyId = user.FindFirstValue(KeyIdClaim);
        var role = user.FindFirstValue(ClaimTypes.Role);
        return keyId is not null && ApiRoles.TryParse(role, out var parsed) ? new ApiPrincipal(keyId, parsed) : null;
    }

    internal static ClaimsPrincipal ToClaimsPrincipal(ApiPrincipal principal)
    {
        Claim[] claims =
        [
            new(KeyIdClaim, principal.KeyId),
            new(ClaimTypes.NameIdentifier, principal.KeyId),
            new(ClaimTypes.Name, principal.KeyId),
            new(ClaimTypes.Role, principal.Role.ToName()),
        ];
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme, ClaimTypes.Name, ClaimTypes.Role));
    }
}

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c> → <see cref="IApiKeyVerifier"/> → claims. 401 and 403 answer with problem details.
/// The key is never logged, not even in part.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IApiKeyVerifier verifier,
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string BearerPrefix = "Bearer ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return DashboardTicket();
        }

        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("The Authorization header must use the Bearer scheme: 'Authorization: Bearer <key>'.");
        }

        var key = header[BearerPrefix.Length..].Trim();
        if (key.Length == 0)
        {
            return AuthenticateResult.Fail("The Bearer API key is empty.");
        }

        var principal = await verifier.VerifyAsync(key, Context.RequestAborted);
        if (principal is null)
        {
            return AuthenticateResult.Fail("The API key is not valid.");
        }

        var ticket = new AuthenticationTicket(ApiKeyAuthentication.ToClaimsPrincipal(principal), Scheme.Name);
        return AuthenticateResult.Success(ticket);
    }

    /// <summary>Only under the dashboard's path does the session cookie stand in for the header; the API never reads it.</summary>
    private AuthenticateResult DashboardTicket()
    {
        if (!Request.Path.StartsWithSegments(Hosting.ServerComposition.DashboardPath, StringComparison.Ordinal)
            || Request.Cookies[DashboardSession.CookieName] is not { Length: > 0 } ticket)
        {
            return AuthenticateResult.NoResult();
        }
        return Context.RequestServices.GetRequiredService<DashboardSession>().Read(ticket) is { } principal
            ? AuthenticateResult.Success(new AuthenticationTicket(ApiKeyAuthentication.ToClaimsPrincipal(principal), Scheme.Name))
            : AuthenticateResult.Fail($"The dashboard session is not valid or has expired: open the dashboard again from the web page (POST {DashboardSession.IssuePath} with an admin key).");
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var detail = result.Failure?.Message ?? "An API key is required: 'Authorization: Bearer <key>'.";
        Response.Headers.WWWAuthenticate = "Bearer";
        await WriteProblemAsync(StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var role = Context.User.GetApiPrincipal()?.Role.ToName() ?? "unknown";
        await WriteProblemAsync(
            StatusCodes.Status403Forbidden,
            "Forbidden",
            $"The API key's role '{role}' is not allowed to {Request.Method} {Request.Path}.");
    }

    private async Task WriteProblemAsync(int status, string title, string detail)
    {
        Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail, Instance = Request.Path };
        if (!await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = Context, ProblemDetails = problem }))
        {
            // The client's Accept excluded JSON; still answer in the one error format the API has.
            await Results.Problem(problem).ExecuteAsync(Context);
        }
    }
}
