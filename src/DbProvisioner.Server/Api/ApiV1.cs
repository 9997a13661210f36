using DbProvisioner.Server.Auth;

namespace DbProvisioner.Server.Api;

/// <summary>
/// The <c>/api/v1</c> group. Every endpoint in it needs a valid key (<see cref="ApiPolicies.Read"/>) and answers
/// errors as problem details. An endpoint group is an extension method on <see cref="RouteGroupBuilder"/>
/// (<c>MapHostsApi</c>, <c>MapInstancesApi</c>, …) added to <see cref="MapApiV1"/> with one line.
/// </summary>
public static class ApiV1
{
    public const string Prefix = "/api/v1";

    /// <summary>Maps the API v1 group and every endpoint group in it.</summary>
    public static RouteGroupBuilder MapApiV1(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapApiV1Group();
        api.MapWhoAmIApi();
        api.MapHostsApi();
        api.MapInstancesApi();
        api.MapClustersApi();
        api.MapScaleDownsApi();
        api.MapEvacuationApi();
        api.MapAuditApi();
        api.MapInspectionApi();
        return api;
    }

    /// <summary>An empty <c>/api/v1</c> group with the conventions every API endpoint shares.</summary>
    public static RouteGroupBuilder MapApiV1Group(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup(Prefix).RequireAuthorization(ApiPolicies.Read);
        api.ProducesProblem(StatusCodes.Status401Unauthorized);
        api.ProducesProblem(StatusCodes.Status403Forbidden);
        return api;
    }
}
