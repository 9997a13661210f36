using System.Security.Cryptography;
using System.Text;
using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Grains;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Validation;
using Microsoft.AspNetCore.Mvc;

namespace DbProvisioner.Server.Api;

/// <summary>
/// The confirmation gate: <c>DELETE /instances/{id}</c> and <c>PATCH /clusters/{name}</c> (requester, admin) only create
/// scale-down requests with their risk report; <c>/scale-downs</c> lists them (viewer and up) and approves or rejects them
/// (approver, admin; never the requester of the request).
/// </summary>
public static class ScaleDownsApi
{
    public const int MaxAcknowledged = 32;
    public const int MaxReasonLength = 500;

    /// <summary>Every state a scale-down request can be in (DESIGN.md).</summary>
    public static readonly IReadOnlyList<string> States =
    [
        ScaleDownStates.Pending, ScaleDownStates.Approved, ScaleDownStates.Draining, ScaleDownStates.Removed,
        ScaleDownStates.Rejected, ScaleDownStates.Expired, ScaleDownStates.Failed, ScaleDownStates.Superseded,
    ];

    public static RouteGroupBuilder MapScaleDownsApi(this RouteGroupBuilder api)
    {
        api.MapDelete("/instances/{id}", RequestRemovalAsync)
            .RequireAuthorization(ApiPolicies.Request)
            .WithTags("Scale-downs")
            .WithName("DeleteInstance")
            .WithSummary("Removes nothing: creates a scale-down request with the removal's risk report (202) for an approver to decide. "
                + "An Idempotency-Key header makes a retry answer the same request.")
            .Produces<ScaleDownView>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPatch("/clusters/{name}", ShrinkClusterAsync)
            .RequireAuthorization(ApiPolicies.Request)
            .WithTags("Scale-downs")
            .WithName("ShrinkCluster")
            .WithSummary("Plans fewer replicas per shard: one scale-down request per member to remove, chosen so spread stays best (202).")
            .Produces<IReadOnlyList<ScaleDownView>>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        var requests = api.MapGroup("/scale-downs").WithTags("Scale-downs");

        requests.MapGet("/", ListAsync)
            .WithName("ListScaleDowns")
            .WithSummary("Scale-down requests, optionally in one state (?state=pending, any case), oldest first.")
            .Produces<IReadOnlyList<ScaleDownView>>()
            .ProducesValidationProblem();

        requests.MapGet("/{id}", GetAsync)
            .WithName("GetScaleDown")
            .WithSummary("One scale-down request: instance, role, risks, who asked, the decision and the removal's steps.")
            .Produces<ScaleDownView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        requests.MapPost("/{id}/approve", ApproveAsync)
            .RequireAuthorization(ApiPolicies.Approve)
            .WithName("ApproveScaleDown")
            .WithSummary("Approves the removal (not by its requester). Every blocking risk must be named in 'acknowledge'. "
                + "Refused (409) when the request expired or is superseded (its instance was removed or changed since the request); "
                + "approving again changes nothing.")
            .Produces<ScaleDownView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        requests.MapPost("/{id}/reject", RejectAsync)
            .RequireAuthorization(ApiPolicies.Approve)
            .WithName("RejectScaleDown")
            .WithSummary("Rejects the request with a reason; nothing is removed.")
            .Produces<ScaleDownView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return api;
    }

    internal static async Task<IResult> RequestRemovalAsync(string id, HttpContext http, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        var principal = Principal(http);
        if (!ApiNames.IsId(id))
        {
            return OutcomeResults.NotFound("Instance", id);
        }

        var idempotencyKey = http.Request.Headers[InstancesApi.IdempotencyKeyHeader].ToString();
        if (idempotencyKey.Length > 200 || idempotencyKey.Any(char.IsControl))
        {
            return new RequestValidator().AddError(InstancesApi.IdempotencyKeyHeader, "must be at most 200 printable characters").ToProblem();
        }

        var requestId = idempotencyKey.Length > 0 ? IdempotentRequestId(principal.KeyId, id, idempotencyKey) : NewRequestId();
        var outcome = await grains.GetGrain<IScaleDownGrain>(requestId).CreateAsync(id, principal.KeyId).WaitAsync(cancellationToken);
        return OutcomeResults.Match(outcome, view => TypedResults.Accepted(Location(view.Id), view));
    }

    internal static async Task<IResult> ShrinkClusterAsync(
        string name, ShrinkClusterRequest request, HttpContext http, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        var principal = Principal(http);
        if (!ApiNames.IsClusterName(name))
        {
            return OutcomeResults.NotFound("Cluster", name);
        }

        var validator = new RequestValidator();
        if (request.Replicas is not { } replicas)
        {
            validator.AddError("replicas", "is required: the number of members each shard keeps");
        }
        else if (replicas is < 1 or > ClustersApi.MaxReplicas)
        {
            validator.AddError("replicas", $"must be between 1 and {ClustersApi.MaxReplicas} (members per shard)");
        }

        if (!validator.IsValid)
        {
            return validator.ToProblem();
        }

        var outcome = await grains.GetGrain<IClusterGrain>(name).ShrinkAsync(request.Replicas!.Value, principal.KeyId).WaitAsync(cancellationToken);
        return OutcomeResults.Match(outcome, views => TypedResults.Accepted($"{ApiV1.Prefix}/scale-downs?state=pending", views));
    }

    internal static async Task<IResult> ListAsync([FromServices] IGrainFactory grains, CancellationToken cancellationToken, string? state = null)
    {
        string? wanted = null;
        if (!string.IsNullOrEmpty(state))
        {
            wanted = States.FirstOrDefault(s => string.Equals(s, state.Trim(), StringComparison.OrdinalIgnoreCase));
            if (wanted is null)
            {
                return new RequestValidator().AddError("state", $"must be one of {string.Join(", ", States.Select(s => s.ToLowerInvariant()))}").ToProblem();
            }
        }

        var summaries = await grains.ListScaleDownsAsync().WaitAsync(cancellationToken);
        // A Pending entry may be due to expire or superseded: its grain decides when read, so Pending entries are read for those states too.
        var candidates = summaries.Where(s => wanted is null
            || s.State == wanted
            || (s.State == ScaleDownStates.Pending && wanted is (ScaleDownStates.Expired or ScaleDownStates.Superseded)));
        var views = await Task.WhenAll(candidates.Select(s => grains.GetGrain<IScaleDownGrain>(s.Id).GetAsync()));
        var selected = views
            .OfType<ScaleDownView>()
            .Where(v => wanted is null || v.State == wanted)
            .OrderBy(v => v.CreatedAt)
            .ThenBy(v => v.Id, StringComparer.Ordinal)
            .ToList();
        return TypedResults.Ok(selected);
    }

    internal static async Task<IResult> GetAsync(string id, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        if (!ApiNames.IsId(id))
        {
            return OutcomeResults.NotFound("Scale-down request", id);
        }

        var view = await grains.GetGrain<IScaleDownGrain>(id).GetAsync().WaitAsync(cancellationToken);
        return view is null ? OutcomeResults.NotFound("Scale-down request", id) : TypedResults.Ok(view);
    }

    internal static async Task<IResult> ApproveAsync(
        string id, ApproveScaleDownRequest? request, HttpContext http, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        var principal = Principal(http);
        if (!ApiNames.IsId(id))
        {
            return OutcomeResults.NotFound("Scale-down request", id);
        }

        // Each code was read as a RiskCode: a code that names no risk is a 400 (acknowledge[i]) before this runs.
        var acknowledged = request?.Acknowledge ?? [];
        if (acknowledged.Count > MaxAcknowledged)
        {
            return new RequestValidator().AddError("acknowledge", $"must name at most {MaxAcknowledged} risk codes").ToProblem();
        }

        var grain = grains.GetGrain<IScaleDownGrain>(id);
        var outcome = await grain.ApproveAsync(principal.KeyId, acknowledged).WaitAsync(cancellationToken);
        if (outcome.Ok || outcome.Kind != OutcomeKind.Invalid)
        {
            return OutcomeResults.Match(outcome, view => TypedResults.Ok(view));
        }

        // Unacknowledged blocking risks: name each one, so the approver sees exactly what to acknowledge.
        var current = await grain.GetAsync().WaitAsync(cancellationToken);
        var blocking = current?.Risks.Where(r => r.Severity == RiskSeverity.Blocking).ToList() ?? [];
        var missing = blocking.Where(r => !acknowledged.Contains(r.Code)).ToList();
        var detail = missing.Count == 0
            ? outcome.Error
            : "The approval must acknowledge every blocking risk by its code; nothing was changed. Not acknowledged: "
                + string.Join("; ", missing.Select(r => $"{WireName.Of(r.Code)} ({r.Message})"));
        return TypedResults.ValidationProblem(
            new Dictionary<string, string[]>
            {
                ["acknowledge"] = missing.Count == 0
                    ? [outcome.Error ?? "acknowledge every blocking risk"]
                    : [.. missing.Select(r => $"{WireName.Of(r.Code)}: {r.Message}")],
            },
            detail: detail,
            title: "Blocking risks not acknowledged",
            extensions: new Dictionary<string, object?> { ["risks"] = current?.Risks ?? [] });
    }

    internal static async Task<IResult> RejectAsync(
        string id, RejectScaleDownRequest request, HttpContext http, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        var principal = Principal(http);
        if (!ApiNames.IsId(id))
        {
            return OutcomeResults.NotFound("Scale-down request", id);
        }

        var reason = request.Reason?.Trim();
        var validator = new RequestValidator();
        if (string.IsNullOrEmpty(reason))
        {
            validator.AddError("reason", "is required: say why the removal is rejected");
        }
        else if (reason.Length > MaxReasonLength || reason.Any(char.IsControl))
        {
            validator.AddError("reason", $"must be at most {MaxReasonLength} printable characters");
        }

        if (!validator.IsValid)
        {
            return validator.ToProblem();
        }

        var outcome = await grains.GetGrain<IScaleDownGrain>(id).RejectAsync(principal.KeyId, reason!).WaitAsync(cancellationToken);
        return OutcomeResults.Match(outcome, view => TypedResults.Ok(view));
    }

    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary><c>sd-</c> and 12 random lowercase base32 characters (60 bits).</summary>
    public static string NewRequestId() => "sd-" + ToBase32(RandomNumberGenerator.GetBytes(8), 12);

    /// <summary>The same key, instance and Idempotency-Key always name the same request, so a retried DELETE finds it.</summary>
    public static string IdempotentRequestId(string keyId, string instanceId, string idempotencyKey) =>
        "sd-" + ToBase32(SHA256.HashData(Encoding.UTF8.GetBytes($"{keyId}\n{instanceId}\n{idempotencyKey}")), 12);

    private static string Location(string requestId) => $"{ApiV1.Prefix}/scale-downs/{requestId}";

    private static ApiPrincipal Principal(HttpContext http) =>
        http.User.GetApiPrincipal() ?? throw new InvalidOperationException("No API principal on an authorized request.");

    private static string ToBase32(ReadOnlySpan<byte> bytes, int length)
    {
        var text = new StringBuilder(length);
        var buffer = 0;
        var bits = 0;
        foreach (var b in bytes)
        {
            buffer = ((buffer << 8) | b) & 0xFFFF;
            bits += 8;
            while (bits >= 5 && text.Length < length)
            {
                text.Append(Base32[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        return text.ToString();
    }
}
