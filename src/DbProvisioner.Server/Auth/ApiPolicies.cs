using Microsoft.AspNetCore.Authorization;

namespace DbProvisioner.Server.Auth;

/// <summary>
/// Authorization policies for API groups. The whole /api/v1 group requires <see cref="Read"/>;
/// an endpoint that does more adds one of the others with <c>.RequireAuthorization(ApiPolicies.Request)</c>.
/// </summary>
public static class ApiPolicies
{
    /// <summary>Any valid key (viewer and up).</summary>
    public const string Read = "api.read";

    /// <summary>Create instances, clusters, scale-down requests: requester or admin.</summary>
    public const string Request = "api.request";

    /// <summary>Approve or reject scale-down requests: approver or admin.</summary>
    public const string Approve = "api.approve";

    /// <summary>Everything else (hosts, keys): admin only.</summary>
    public const string Admin = "api.admin";

    internal static void AddApiPolicies(this AuthorizationOptions options)
    {
        options.AddPolicy(Read, p => Require(p, ApiRole.Viewer, ApiRole.Requester, ApiRole.Approver, ApiRole.Admin));
        options.AddPolicy(Request, p => Require(p, ApiRole.Requester, ApiRole.Admin));
        options.AddPolicy(Approve, p => Require(p, ApiRole.Approver, ApiRole.Admin));
        options.AddPolicy(Admin, p => Require(p, ApiRole.Admin));
    }

    private static void Require(AuthorizationPolicyBuilder policy, params ApiRole[] roles) =>
        policy.RequireAuthenticatedUser()
            .RequireRole(roles.Select(r => r.ToName()));
}
