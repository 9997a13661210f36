using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Validation;
using Microsoft.AspNetCore.Mvc;

namespace DbProvisioner.Server.Api;

/// <summary><c>/api/v1/instances</c>: request one instance (requester, admin), list, show, credentials.</summary>
public static class InstancesApi
{
    public const string StandaloneCluster = "standalone";
    private const string OwnShardPrefix = "i-";
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string DefaultRole = "replica";
    public static readonly IReadOnlyList<string> Roles = ["primary", "replica"];
    public const int MaxWaitSeconds = 60;

    // Orleans times a grain call out after 30 s: a longer wait is asked of the grain in slices.
    private static readonly TimeSpan WaitSlice = TimeSpan.FromSeconds(20);

    public static RouteGroupBuilder MapInstancesApi(this RouteGroupBuilder api)
    {
        var instances = api.MapGroup("/instances").WithTags("Instances");

        instances.MapPost("/", CreateAsync)
            .RequireAuthorization(ApiPolicies.Request)
            .WithName("CreateInstance")
            .WithSummary("Request one MySQL instance; answers 202 with its id and provisions in the background. "
                + "An Idempotency-Key header makes a retry with the same body answer the same instance.")
            .Produces<InstanceAccepted>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        instances.MapGet("/", ListAsync)
            .WithName("ListInstances")
            .WithSummary("Every instance, optionally only those in one state (?state=Ready) or cluster (?cluster=orders).")
            .Produces<IReadOnlyList<InstanceSummary>>();

        instances.MapGet("/{id}", GetAsync)
            .WithName("GetInstance")
            .WithSummary("One instance: state, host, cpu set, NUMA node, disk, endpoint and how long each step took. "
                + $"With ?waitSeconds=N (0–{MaxWaitSeconds}) a long poll: answers once provisioning (or removal) is over, "
                + "else the current state when the N seconds are up.")
            .Produces<InstanceView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        instances.MapGet("/{id}/credentials", GetCredentialsAsync)
            .WithName("GetInstanceCredentials")
            .WithSummary("The generated credentials; only for the key that requested the instance, or admin. 409 until Ready.")
            .Produces<CredentialsView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return api;
    }

    internal static async Task<IResult> CreateAsync(
        CreateInstanceRequest request,
        HttpContext http,
        [FromServices] IGrainFactory grains,
        [FromServices] KnownPools pools)
    {
        var principal = http.User.GetApiPrincipal() ?? throw new InvalidOperationException("No API principal on an authorized request.");
        var validator = new RequestValidator();
        var idempotencyKey = http.Request.Headers[IdempotencyKeyHeader].ToString();
        if (idempotencyKey.Length > 200 || idempotencyKey.Any(char.IsControl))
        {
            validator.AddError(IdempotencyKeyHeader, "must be at most 200 printable characters");
        }

        var id = idempotencyKey.Length > 0 ? IdempotentInstanceId(principal.KeyId, idempotencyKey) : NewInstanceId();
        var spec = Validate(request, validator, id);
        // Checked even when other fields are wrong, so that one answer names every bad field.
        if (ApiNames.IsName(request.Pool) && !await pools.ExistsAsync(request.Pool!))
        {
            validator.AddError("pool", $"no host is registered in pool '{request.Pool}'");
        }

        if (spec is null || !validator.IsValid)
        {
            return validator.ToProblem();
        }

        var outcome = await grains.GetGrain<IInstanceGrain>(id).ProvisionAsync(spec, principal.KeyId);
        return OutcomeResults.Match(outcome, instance =>
        {
            var location = $"{ApiV1.Prefix}/instances/{instance.Id}";
            return TypedResults.Accepted(location, new InstanceAccepted(instance.Id, instance.State, location));
        });
    }

    internal static async Task<IResult> ListAsync(
        [FromServices] IGrainFactory grains,
        CancellationToken cancellationToken,
        string? state = null,
        string? cluster = null)
    {
        var instances = await grains.ListInstancesAsync().WaitAsync(cancellationToken);
        var selected = instances
            .Where(i => string.IsNullOrEmpty(state) || string.Equals(i.State, state, StringComparison.OrdinalIgnoreCase))
            .Where(i => string.IsNullOrEmpty(cluster) || string.Equals(i.Cluster, cluster, StringComparison.Ordinal))
            .OrderBy(i => i.Id, StringComparer.Ordinal)
            .ToList();
        return TypedResults.Ok(selected);
    }

    internal static async Task<IResult> GetAsync(
        string id,
        [FromServices] IGrainFactory grains,
        [FromServices] TimeProvider clock,
        CancellationToken cancellationToken,
        string? waitSeconds = null)
    {
        var wait = TimeSpan.Zero;
        if (waitSeconds is not null)
        {
            if (!int.TryParse(waitSeconds, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > MaxWaitSeconds)
            {
                return new RequestValidator().AddError("waitSeconds", $"must be a whole number of seconds from 0 to {MaxWaitSeconds}").ToProblem();
            }

            wait = TimeSpan.FromSeconds(seconds);
        }

        if (!ApiNames.IsId(id))
        {
            return OutcomeResults.NotFound("Instance", id);
        }

        var grain = grains.GetGrain<IInstanceGrain>(id);
        var instance = wait > TimeSpan.Zero
            ? await WaitSettledAsync(grain, wait, clock, cancellationToken)
            : await grain.GetAsync().WaitAsync(cancellationToken);
        return instance is null ? OutcomeResults.NotFound("Instance", id) : TypedResults.Ok(instance);
    }

    /// <summary>The instance once it settles (the grain's own wait), or as it is when <paramref name="wait"/> is up.</summary>
    private static async Task<InstanceView?> WaitSettledAsync(IInstanceGrain grain, TimeSpan wait, TimeProvider clock, CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + wait;
        while (true)
        {
            var started = clock.GetUtcNow();
            var slice = deadline - started < WaitSlice ? deadline - started : WaitSlice;
            var instance = await grain.WaitSettledAsync(slice).WaitAsync(cancellationToken);
            var now = clock.GetUtcNow();
            // An answer before the slice was up means settled (or gone); one asked again after it settles answers at once.
            if (instance is null || now - started < slice || now >= deadline)
            {
                return instance;
            }
        }
    }

    internal static async Task<IResult> GetCredentialsAsync(
        string id,
        HttpContext http,
        [FromServices] IGrainFactory grains,
        CancellationToken cancellationToken)
    {
        var principal = http.User.GetApiPrincipal() ?? throw new InvalidOperationException("No API principal on an authorized request.");
        if (!ApiNames.IsId(id))
        {
            return OutcomeResults.NotFound("Instance", id);
        }

        var grain = grains.GetGrain<IInstanceGrain>(id);
        var instance = await grain.GetAsync().WaitAsync(cancellationToken);
        if (instance is null)
        {
            return OutcomeResults.NotFound("Instance", id);
        }

        if (principal.Role != ApiRole.Admin && !string.Equals(instance.RequestedBy, principal.KeyId, StringComparison.Ordinal))
        {
            return OutcomeResults.ToProblem(
                OutcomeKind.Forbidden, $"Only the key that requested instance '{id}' or an admin key may read its credentials.");
        }

        var credentials = instance.State == "Ready" ? await grain.GetCredentialsAsync().WaitAsync(cancellationToken) : null;
        if (credentials is null)
        {
            return OutcomeResults.ToProblem(
                OutcomeKind.Conflict, $"Instance '{id}' is {instance.State}; its credentials are available once it is Ready.");
        }

        // The password must not sit in a proxy's or a browser's cache.
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(credentials);
    }

    /// <summary>The request with the API's defaults as the instance grain keeps it, or null when a field is invalid.</summary>
    public static InstanceSpec? Validate(CreateInstanceRequest request, RequestValidator validator, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(validator);
        var before = validator.Errors.Count;
        var shape = InstanceShapeValidation.Validate(
            validator, string.Empty, request.Cpus, request.MemoryMiB, request.SwapMiB, request.Swappiness, request.DiskGiB, request.DiskClass, request.Numa);

        if (string.IsNullOrWhiteSpace(request.Pool))
        {
            validator.AddError("pool", "is required");
        }
        else if (!ApiNames.IsName(request.Pool))
        {
            validator.AddError("pool", ApiNames.NameRule);
        }

        var role = request.Role?.Trim().ToLowerInvariant() ?? DefaultRole;
        if (!Roles.Contains(role))
        {
            validator.AddError("role", $"must be one of {string.Join(", ", Roles)}");
        }

        if (request.Cluster is not null && !ApiNames.IsClusterName(request.Cluster))
        {
            validator.AddError("cluster", ApiNames.ClusterNameRule);
        }

        if (request.Shard is not null && !ApiNames.IsId(request.Shard))
        {
            validator.AddError("shard", ApiNames.IdRule);
        }
        else if (request.Shard is not null && request.Shard.StartsWith(OwnShardPrefix, StringComparison.Ordinal))
        {
            // An instance given no shard is its own shard, named after its id ("i-…"), and places itself without a shard
            // grain: a member naming such a shard would not see it.
            validator.AddError("shard", $"names starting with '{OwnShardPrefix}' are kept for instances given no shard");
        }

        if (shape is null || validator.Errors.Count > before)
        {
            return null;
        }

        return new InstanceSpec(
            request.Cluster ?? StandaloneCluster,
            request.Shard ?? instanceId,
            role,
            shape.Cpus,
            shape.MemoryMiB,
            shape.SwapMiB,
            shape.Swappiness,
            shape.DiskGiB,
            shape.DiskClass,
            shape.Numa,
            request.Pool!,
            SpreadSpec.HostHard);
    }

    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary><c>i-</c> and 10 random lowercase base32 characters (50 bits).</summary>
    public static string NewInstanceId() => "i-" + ToBase32(RandomNumberGenerator.GetBytes(7), 10);

    /// <summary>The same key id and Idempotency-Key always name the same instance, so a retried request finds it.</summary>
    public static string IdempotentInstanceId(string keyId, string idempotencyKey) =>
        "i-" + ToBase32(SHA256.HashData(Encoding.UTF8.GetBytes($"{keyId}\n{idempotencyKey}")), 10);

    private static string ToBase32(ReadOnlySpan<byte> bytes, int length)
    {
        var text = new StringBuilder(length);
        var buffer = 0;
        var bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
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
