using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Server.Validation;
using Microsoft.AspNetCore.Mvc;

namespace DbProvisioner.Server.Api;

/// <summary><c>/api/v1/hosts/{id}/inspection</c>: the host's engine against the appliance's books, read now.</summary>
public static class InspectionApi
{
    public static RouteGroupBuilder MapInspectionApi(this RouteGroupBuilder api)
    {
        api.MapGroup("/hosts").WithTags("Hosts").MapGet("/{id}/inspection", InspectAsync)
            .WithName("GetHostInspection")
            .WithSummary("Inspect a host now: its containers (cpusets, memory and swap limits, restart policy), data volumes and disks against what the appliance holds; every drift with a suggested fix.")
            .Produces<HostInspectionView>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    internal static async Task<IResult> InspectAsync(string id, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        if (!ApiNames.IsId(id)) return OutcomeResults.NotFound("Host", id);
        var report = await grains.GetGrain<IHostInspectorGrain>(id).InspectAsync().WaitAsync(cancellationToken);
        return report is null ? OutcomeResults.NotFound("Host", id) : TypedResults.Ok(report);
    }
}
