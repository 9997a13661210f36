using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Validation;
using Microsoft.AspNetCore.Mvc;

namespace DbProvisioner.Server.Api;

/// <summary><c>/api/v1/hosts</c>: register (admin), list, show, cordon (admin).</summary>
public static class HostsApi
{
    public const int MinPort = 1024;
    public const int MaxPort = 65535;
    public const int MaxDisksPerHost = 1024;
    public const int MaxNumaNodes = 64;
    public const int MaxCoresPerNode = 1024;
    public const int MaxThreadsPerCore = 8;

    public static RouteGroupBuilder MapHostsApi(this RouteGroupBuilder api)
    {
        var hosts = api.MapGroup("/hosts").WithTags("Hosts");

        hosts.MapPost("/", RegisterAsync)
            .RequireAuthorization(ApiPolicies.Admin)
            .WithName("RegisterHost")
            .WithSummary("Register a host: engine endpoint, zone, rack, pool, disks, reserved CPUs, port range, swap for instances (topology and swap discovered unless the topology is given).")
            .Produces<HostView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);

        hosts.MapGet("/", ListAsync)
            .WithName("ListHosts")
            .WithSummary("Every registered host with its pool, labels and free capacity.")
            .Produces<IReadOnlyList<HostSummary>>();

        hosts.MapGet("/{id}", GetAsync)
            .WithName("GetHost")
            .WithSummary("One host: CPU map per NUMA node, swap (total, for instances, used), disks and their states, instances.")
            .Produces<HostView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        hosts.MapGet("/{id}/reconciliation", ReconciliationAsync)
            .WithName("GetHostReconciliation")
            .WithSummary("The last reconciliation of a host: orphan containers, instances whose container vanished, stale helpers removed.")
            .Produces<ReconciliationView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        hosts.MapPost("/{id}/cordon", CordonAsync)
            .RequireAuthorization(ApiPolicies.Admin)
            .WithName("CordonHost")
            .WithSummary("Cordon (no new placements) or uncordon a host; body {\"cordoned\": true} (the default) or false.")
            .Produces<HostView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        return api;
    }

    internal static async Task<IResult> RegisterAsync(RegisterHostRequest request, [FromServices] IGrainFactory grains, [FromServices] IHostRuntimeFactory? runtimes)
    {
        if (Validate(request, runtimes is null ? null : runtimes.EndpointRefusal) is { IsValid: false } validator)
        {
            return validator.ToProblem();
        }

        var outcome = await grains.GetGrain<IHostGrain>(request.Id!).RegisterAsync(request);
        return OutcomeResults.Match(outcome, host => TypedResults.Created($"{ApiV1.Prefix}/hosts/{host.Id}", host));
    }

    internal static async Task<IResult> ListAsync([FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        var hosts = await grains.ListHostsAsync().WaitAsync(cancellationToken);
        return TypedResults.Ok(hosts.OrderBy(h => h.Id, StringComparer.Ordinal).ToList());
    }

    internal static async Task<IResult> ReconciliationAsync(string id, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        if (!ApiNames.IsId(id) || await grains.GetGrain<IHostGrain>(id).GetLocationAsync().WaitAsync(cancellationToken) is null)
        {
            return OutcomeResults.NotFound("Host", id);
        }

        var last = await grains.GetGrain<IReconcilerGrain>(id).GetLastAsync().WaitAsync(cancellationToken);
        return last is null ? OutcomeResults.NotFound("Reconciliation of host", id) : TypedResults.Ok(last);
    }

    internal static async Task<IResult> GetAsync(string id, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        if (!ApiNames.IsId(id))
        {
            return OutcomeResults.NotFound("Host", id);
        }

        var host = await grains.GetGrain<IHostGrain>(id).GetAsync().WaitAsync(cancellationToken);
        return host is null ? OutcomeResults.NotFound("Host", id) : TypedResults.Ok(host);
    }

    internal static async Task<IResult> CordonAsync(
        string id,
        [FromBody(EmptyBodyBehavior = Microsoft.AspNetCore.Mvc.ModelBinding.EmptyBodyBehavior.Allow)] CordonRequest? request,
        [FromServices] IGrainFactory grains)
    {
        if (!ApiNames.IsId(id))
        {
            return OutcomeResults.NotFound("Host", id);
        }

        var outcome = await grains.GetGrain<IHostGrain>(id).CordonAsync(request?.Cordoned ?? true);
        return OutcomeResults.Match(outcome, host => TypedResults.Ok(host));
    }

    /// <summary>
    /// Every field of a registration; the host grain checks what needs the host (reserved CPUs exist, disks unique by id).
    /// <paramref name="endpointRefusal"/> is the driver's word on the engine endpoint (e.g. no plain text to another machine).
    /// </summary>
    public static RequestValidator Validate(RegisterHostRequest request, Func<Uri, string?>? endpointRefusal = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var v = new RequestValidator();
        if (string.IsNullOrEmpty(request.Id))
        {
            v.AddError("id", "is required");
        }
        else
        {
            v.Check(ApiNames.IsId(request.Id), request.Id, ApiNames.IdRule);
        }

        if (!IsEngineEndpoint(request.EngineEndpoint))
        {
            v.AddError("engineEndpoint", "must be a unix:///path, tcp://host:port or https://host:port URI of the container engine, or k8s://<cluster>/<node> of a Kubernetes node");
        }
        else if (endpointRefusal?.Invoke(new Uri(request.EngineEndpoint!)) is { } refusal)
        {
            v.AddError("engineEndpoint", refusal);
        }

        CheckName(v, "zone", request.Zone);
        CheckName(v, "rack", request.Rack);
        CheckName(v, "pool", request.Pool);

        var devices = new HashSet<string>(StringComparer.Ordinal);
        var disks = request.Disks ?? [];
        if (disks.Count > MaxDisksPerHost)
        {
            v.AddError("disks", $"must list at most {MaxDisksPerHost} disks");
        }

        for (var i = 0; i < disks.Count; i++)
        {
            var disk = disks[i];
            if (disk is null)
            {
                v.AddError($"disks[{i}]", "must be a disk object");
                continue;
            }

            if (!IsDevice(disk.Device))
            {
                v.AddError($"disks[{i}].device", "must be a block device path under /dev/ (e.g. /dev/sdb)");
            }
            else if (!devices.Add(disk.Device))
            {
                v.AddError($"disks[{i}].device", $"'{disk.Device}' is listed more than once");
            }

            if (disk.SizeGiB is < 1 or > Sizes.MaxDiskGiB)
            {
                v.AddError($"disks[{i}].sizeGiB", $"must be between 1 and {Sizes.MaxDiskGiB} (GiB, 1 PiB)");
            }

            if (disk.Class is not null && !ApiNames.IsName(disk.Class))
            {
                v.AddError($"disks[{i}].class", ApiNames.NameRule);
            }

            if (disk.Id is not null && !ApiNames.IsId(disk.Id))
            {
                v.AddError($"disks[{i}].id", ApiNames.IdRule);
            }
        }

        if (!CpuSet.TryParse(request.ReservedCpus ?? string.Empty, out _, out var cpuError))
        {
            v.AddError("reservedCpus", $"must be a CPU list like '0-1,4': {cpuError}");
        }

        if (request.Ports is not { } ports)
        {
            v.AddError("ports", "is required: {\"first\": 3400, \"last\": 3499}");
        }
        else if (ports.First < MinPort || ports.First > ports.Last || ports.Last > MaxPort)
        {
            v.AddError("ports", $"must satisfy {MinPort} ≤ first ≤ last ≤ {MaxPort}");
        }

        if (request.MySqlAddress is not null && string.IsNullOrWhiteSpace(request.MySqlAddress))
        {
            v.AddError("mySqlAddress", "must be a host name or address when given");
        }

        foreach (var (key, _) in request.Labels ?? new Dictionary<string, string>())
        {
            if (!ApiNames.IsName(key))
            {
                v.AddError($"labels.{key}", "label names " + ApiNames.NameRule);
            }
        }

        if (request.Topology is { } topology)
        {
            if (topology.NumaNodes is < 1 or > MaxNumaNodes)
            {
                v.AddError("topology.numaNodes", $"must be between 1 and {MaxNumaNodes}");
            }

            if (topology.CoresPerNode is < 1 or > MaxCoresPerNode)
            {
                v.AddError("topology.coresPerNode", $"must be between 1 and {MaxCoresPerNode}");
            }

            if (topology.ThreadsPerCore is < 1 or > MaxThreadsPerCore)
            {
                v.AddError("topology.threadsPerCore", $"must be between 1 and {MaxThreadsPerCore}");
            }

            if (topology.MemoryMiBPerNode is < 1 or > Sizes.MaxMemoryMiB)
            {
                v.AddError("topology.memoryMiBPerNode", $"must be between 1 and {Sizes.MaxMemoryMiB} (MiB, 16 TiB per NUMA node)");
            }
        }

        if (request.SwapMiB is < 0)
        {
            v.AddError("swapMiB", "must not be negative (MiB of the host's swap that instances may use)");
        }

        var watermarks = request.Watermarks ?? [];
        for (var i = 0; i < watermarks.Count; i++)
        {
            var w = watermarks[i];
            if (w is null || !ApiNames.IsName(w.Class))
            {
                v.AddError($"watermarks[{i}].class", ApiNames.NameRule);
                continue;
            }

            if (w.MinReady < 0 || w.MinSeeded < 0 || w.MinSeeded > w.MinReady || w.MinReady > MaxDisksPerHost)
            {
                v.AddError($"watermarks[{i}]", $"must satisfy 0 ≤ minSeeded ≤ minReady ≤ {MaxDisksPerHost}");
            }
        }

        return v;
    }

    private static void CheckName(RequestValidator v, string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            v.AddError(field, "is required");
        }
        else if (!ApiNames.IsName(value))
        {
            v.AddError(field, ApiNames.NameRule);
        }
    }

    internal static bool IsEngineEndpoint(string? value)
    {
        if (value is null || !Uri.TryCreate(value, UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.Scheme switch
        {
            "unix" => uri.AbsolutePath.Length > 1,
            "tcp" or "https" => uri.Host.Length > 0 && !uri.IsDefaultPort && uri.AbsolutePath is "" or "/",
            // A Kubernetes node: the driver checks the cluster and node names (EndpointRefusal).
            "k8s" => uri.Host.Length > 0,
            _ => false,
        };
    }

    internal static bool IsDevice(string? device) =>
        device is { Length: > 5 } && device.StartsWith("/dev/", StringComparison.Ordinal)
        && !device.Contains("..", StringComparison.Ordinal) && !device.Any(char.IsWhiteSpace);
}
