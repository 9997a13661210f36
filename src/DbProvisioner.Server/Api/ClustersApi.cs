using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Validation;
using Microsoft.AspNetCore.Mvc;

namespace DbProvisioner.Server.Api;

/// <summary><c>/api/v1/clusters</c>: one click for a whole cluster (requester, admin), placed all together or not at all.</summary>
public static class ClustersApi
{
    public const int MaxShards = 64;
    public const int MaxReplicas = 9;

    public static RouteGroupBuilder MapClustersApi(this RouteGroupBuilder api)
    {
        var clusters = api.MapGroup("/clusters").WithTags("Clusters");

        clusters.MapPost("/", CreateAsync)
            .RequireAuthorization(ApiPolicies.Request)
            .WithName("CreateCluster")
            .WithSummary("Create a cluster: shards × replicas from one instance template under a spread rule; every member is placed or none is.")
            .Produces<ClusterView>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        clusters.MapGet("/{name}", GetAsync)
            .WithName("GetCluster")
            .WithSummary("One cluster: its state, spread rule and every member with its host and state.")
            .Produces<ClusterView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        return api;
    }

    internal static async Task<IResult> CreateAsync(CreateClusterRequest request, HttpContext http, [FromServices] IGrainFactory grains, [FromServices] KnownPools pools)
    {
        var principal = http.User.GetApiPrincipal() ?? throw new InvalidOperationException("No API principal on an authorized request.");
        var validator = new RequestValidator();
        var normalized = Validate(request, validator, out var template);
        if (ApiNames.IsName(request.Pool) && !await pools.ExistsAsync(request.Pool!))
        {
            validator.AddError("pool", $"no host is registered in pool '{request.Pool}'");
        }

        if (normalized is null || template is null || !validator.IsValid)
        {
            return validator.ToProblem();
        }

        var outcome = await grains.GetGrain<IClusterGrain>(normalized.Name!).CreateAsync(normalized, template, principal.KeyId);
        return OutcomeResults.Match(outcome, cluster => TypedResults.Accepted($"{ApiV1.Prefix}/clusters/{cluster.Name}", cluster));
    }

    internal static async Task<IResult> GetAsync(string name, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        if (!ApiNames.IsClusterName(name))
        {
            return OutcomeResults.NotFound("Cluster", name);
        }

        var cluster = await grains.GetGrain<IClusterGrain>(name).GetAsync().WaitAsync(cancellationToken);
        return cluster is null ? OutcomeResults.NotFound("Cluster", name) : TypedResults.Ok(cluster);
    }

    /// <summary>
    /// The request with defaults filled in (spread host/1/hard; template defaults as for one instance) and the member
    /// template as an <see cref="InstanceSpec"/> (cluster = name; the cluster grain sets each member's shard and role).
    /// Null when a field is invalid.
    /// </summary>
    public static CreateClusterRequest? Validate(CreateClusterRequest request, RequestValidator validator, out InstanceSpec? template)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(validator);
        template = null;
        var before = validator.Errors.Count;

        if (string.IsNullOrEmpty(request.Name))
        {
            validator.AddError("name", "is required");
        }
        else if (!ApiNames.IsClusterName(request.Name))
        {
            validator.AddError("name", ApiNames.ClusterNameRule);
        }

        if (string.IsNullOrWhiteSpace(request.Pool))
        {
            validator.AddError("pool", "is required");
        }
        else if (!ApiNames.IsName(request.Pool))
        {
            validator.AddError("pool", ApiNames.NameRule);
        }

        if (request.Shards is not { } shards)
        {
            validator.AddError("shards", "is required");
        }
        else if (shards is < 1 or > MaxShards)
        {
            validator.AddError("shards", $"must be between 1 and {MaxShards}");
        }

        if (request.Replicas is not { } replicas)
        {
            validator.AddError("replicas", "is required");
        }
        else if (replicas is < 1 or > MaxReplicas)
        {
            validator.AddError("replicas", $"must be between 1 and {MaxReplicas} (members per shard)");
        }

        // Its domain and mode were read as enums: a name outside them is a 400 before this runs.
        var spread = request.Spread ?? SpreadSpec.HostHard;
        if (spread.MaxPerDomain is < 1 or > MaxReplicas)
        {
            validator.AddError("spread.maxPerDomain", $"must be between 1 and {MaxReplicas} (members of one shard)");
        }

        InstanceShape? shape = null;
        if (request.Template is not { } t)
        {
            validator.AddError("template", "is required: {\"cpus\": 1, \"memoryMiB\": 1024, \"diskGiB\": 1}");
        }
        else
        {
            shape = InstanceShapeValidation.Validate(validator, "template.", t.Cpus, t.MemoryMiB, t.SwapMiB, t.Swappiness, t.DiskGiB, t.DiskClass, t.Numa);
        }

        if (shape is null || validator.Errors.Count > before)
        {
            return null;
        }

        template = new InstanceSpec(
            request.Name!,
            string.Empty,
            InstancesApi.DefaultRole,
            shape.Cpus,
            shape.MemoryMiB,
            shape.SwapMiB,
            shape.Swappiness,
            shape.DiskGiB,
            shape.DiskClass,
            shape.Numa,
            request.Pool!,
            spread);
        return request with
        {
            Spread = spread,
            Template = new InstanceTemplateSpec(shape.Cpus, shape.MemoryMiB, shape.SwapMiB, shape.DiskGiB, shape.DiskClass, shape.Numa, shape.Swappiness),
        };
    }
}
