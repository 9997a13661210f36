using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Validation;
using Microsoft.AspNetCore.Mvc;

namespace DbProvisioner.Server.Api;

/// <summary>
/// <c>POST /hosts/{id}/evacuate</c> (admin) moves every instance off a host through the scale-down gate;
/// <c>GET /hosts/{id}/evacuation</c> (viewer and up) shows its progress per instance, <c>GET /evacuations</c> every host's.
/// </summary>
public static class EvacuationApi
{
    public static RouteGroupBuilder MapEvacuationApi(this RouteGroupBuilder api)
    {
        var hosts = api.MapGroup("/hosts").WithTags("Hosts");

        hosts.MapPost("/{id}/evacuate", EvacuateAsync)
            .RequireAuthorization(ApiPolicies.Admin)
            .WithName("EvacuateHost")
            .WithSummary("Cordons the host and plans, for each instance on it, a replacement elsewhere in the pool that keeps its shard's spread; "
                + "once a replacement is Ready, the old instance's scale-down request is opened for a second person to approve (202). "
                + "409 with the reason, changing nothing, when an instance has no room elsewhere. Asked again, answers the evacuation under way.")
            .Produces<EvacuationView>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        hosts.MapGet("/{id}/evacuation", GetAsync)
            .WithName("GetHostEvacuation")
            .WithSummary("The host's evacuation: per instance its replacement and its state, the scale-down request and its state, the old instance's state.")
            .Produces<EvacuationView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        // The page lists evacuations in one call instead of asking each cordoned host (a host never evacuated answers 404 above).
        api.MapGet("/evacuations", ListAsync)
            .WithTags("Hosts")
            .WithName("ListEvacuations")
            .WithSummary("Every host's evacuation, under way or ended, by host id; a host that was never evacuated is not listed.")
            .Produces<IReadOnlyList<EvacuationView>>();

        return api;
    }

    internal static async Task<IResult> ListAsync([FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        var hosts = await grains.ListHostsAsync().WaitAsync(cancellationToken);
        var views = await Task.WhenAll(hosts.Select(h => grains.GetGrain<IEvacuationGrain>(h.Id).GetAsync())).WaitAsync(cancellationToken);
        return TypedResults.Ok(views.OfType<EvacuationView>().OrderBy(v => v.HostId, StringComparer.Ordinal).ToList());
    }

    internal static async Task<IResult> EvacuateAsync(string id, HttpContext http, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        var principal = http.User.GetApiPrincipal() ?? throw new InvalidOperationException("No API principal on an authorized request.");
        if (!ApiNames.IsId(id))
        {
            return OutcomeResults.NotFound("Host", id);
        }

        var outcome = await grains.GetGrain<IEvacuationGrain>(id).EvacuateAsync(principal.KeyId).WaitAsync(cancellationToken);
        return OutcomeResults.Match(outcome, view => TypedResults.Accepted(Location(id), view));
    }

    internal static async Task<IResult> GetAsync(string id, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        if (!ApiNames.IsId(id))
        {
            return OutcomeResults.NotFound("Host", id);
        }

        var view = await grains.GetGrain<IEvacuationGrain>(id).GetAsync().WaitAsync(cancellationToken);
        if (view is not null)
        {
            return TypedResults.Ok(view);
        }

        var host = await grains.GetGrain<IHostGrain>(id).GetAsync().WaitAsync(cancellationToken);
        return host is null
            ? OutcomeResults.NotFound("Host", id)
            : TypedResults.Problem(detail: $"Host '{id}' has never been evacuated.", statusCode: StatusCodes.Status404NotFound, title: "Not found");
    }

    private static string Location(string hostId) => $"{ApiV1.Prefix}/hosts/{hostId}/evacuation";
}
