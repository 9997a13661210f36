using DbProvisioner.Api;
using DbProvisioner.Server.Auth;

namespace DbProvisioner.Server.Api;

public static class WhoAmIApi
{
    public static RouteGroupBuilder MapWhoAmIApi(this RouteGroupBuilder api)
    {
        api.MapGet("/whoami", GetWhoAmI)
            .WithName("WhoAmI")
            .WithTags("Identity")
            .WithSummary("The calling API key's id and role.");
        return api;
    }

    internal static WhoAmIResponse GetWhoAmI(HttpContext context)
    {
        // The group's policy guarantees an authenticated API principal here.
        var principal = context.User.GetApiPrincipal() ?? throw new InvalidOperationException("No API principal on an authorized request.");
        return new WhoAmIResponse(principal.KeyId, principal.Role.ToName());
    }
}
