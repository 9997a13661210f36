using System.Collections.Immutable;
using System.Globalization;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Placement;

/// <summary>What to place: one instance, its pool, labels it needs and the shard it joins.</summary>
public sealed record PlacementRequest(InstanceRequest Instance, string Pool, ShardContext? Shard = null, ImmutableSortedDictionary<string, string>? RequiredLabels = null);

/// <summary>The first filter a host fails, in the order the filters run.</summary>
public enum FilterCode
{
    Fits,
    Pool,
    Labels,
    Condition,
    Cpu,
    Memory,
    Swap,
    Disk,
    Port,
    Spread,
    /// <summary>The host's runtime cannot honour the request (e.g. a swap allowance on a Kubernetes node).</summary>
    Runtime,
}

/// <summary>
/// Placement filters. Each returns the reason a host does not fit, in words a DBA understands, or
/// "" when it fits. <see cref="Check"/> runs them all cheaply (no strings) for the scheduler's hot
/// path; <see cref="Explain"/> words the failure only when someone will read it.
/// </summary>
public static class Filters
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static string Pool(HostCapacity host, PlacementRequest request) =>
        FitsPool(host, request) ? "" : $"host is in pool {host.Pool}, not {request.Pool}";

    public static string Labels(HostCapacity host, PlacementRequest request) =>
        FitsLabels(host, request) ? "" : "label " + string.Join(", ", request.RequiredLabels!
            .Where(l => !host.Labels.TryGetValue(l.Key, out var v) || v != l.Value).Select(static l => $"{l.Key}={l.Value}")) + " missing";

    public static string Condition(HostCapacity host, PlacementRequest request) =>
        host.Cordoned ? "host is cordoned"
        : !host.Healthy ? host.HealthReason.Length > 0 ? "host is unhealthy: " + host.HealthReason : "host is unhealthy"
        : host.ImageRefusal.Length > 0 ? "host is not ready: " + host.ImageRefusal : "";

    public static string Runtime(HostCapacity host, PlacementRequest request) =>
        RuntimeCapabilities.Of(host.Runtime).Refusal(host.Runtime, request.Instance);

    public static string Cpu(HostCapacity host, PlacementRequest request)
    {
        if (FitsCpu(host, request)) return "";
        var cpus = request.Instance.Cpus;
        return request.Instance.Numa == NumaPolicy.Required
            ? string.Create(Ci, $"no {cpus} free CPUs on one NUMA node")
            : string.Create(Ci, $"fewer than {cpus} free CPUs on whole cores");
    }

    public static string Memory(HostCapacity host, PlacementRequest request)
    {
        if (FitsMemory(host, request)) return "";
        var i = request.Instance;
        return i.Numa == NumaPolicy.Required
            ? string.Create(Ci, $"no NUMA node with {i.Cpus} free CPUs has {i.MemoryMiB} MiB free memory")
            : string.Create(Ci, $"less than {i.MemoryMiB} MiB free memory");
    }

    public static string Swap(HostCapacity host, PlacementRequest request)
    {
        if (FitsSwap(host, request)) return "";
        var swap = request.Instance.SwapMiB;
        return host.AllocatableSwapMiB == 0
            ? string.Create(Ci, $"no swap for instances ({swap} MiB asked)")
            : string.Create(Ci, $"less than {swap} MiB free swap");
    }

    public static string Disk(HostCapacity host, PlacementRequest request) =>
        FitsDisk(host, request) ? "" : string.Create(Ci, $"no Ready or Discovered {request.Instance.DiskClass} disk of {request.Instance.DiskGiB} GiB or more");

    public static string Port(HostCapacity host, PlacementRequest request) => host.FreePorts > 0 ? "" : "no free port";

    public static string Spread(HostCapacity host, PlacementRequest request) =>
        request.Shard is { } s ? s.RefusalAt(host.HostId, host.Zone, host.Rack) : "";

    /// <summary>Every reason the host does not fit, in filter order; empty when it fits.</summary>
    public static IReadOnlyList<string> All(HostCapacity host, PlacementRequest request) =>
        [.. new[]
        {
            Pool(host, request), Labels(host, request), Condition(host, request), Runtime(host, request), Spread(host, request),
            Cpu(host, request), Memory(host, request), Swap(host, request), Disk(host, request), Port(host, request),
        }.Where(static r => r.Length > 0)];

    /// <summary>The first filter the host fails, without building any text.</summary>
    public static FilterCode Check(HostCapacity host, PlacementRequest request)
    {
        if (!FitsPool(host, request)) return FilterCode.Pool;
        if (!FitsLabels(host, request)) return FilterCode.Labels;
        if (host.OutOfService) return FilterCode.Condition;
        // The runtime before spread and capacity: no change of load will make the node honour it.
        if (!RuntimeCapabilities.Of(host.Runtime).Admits(request.Instance)) return FilterCode.Runtime;
        // Spread before capacity: on a full host that also holds a member of the shard, spread is
        // the reason worth telling (capacity may come back; the rule will not change).
        if (!FitsSpread(host, request)) return FilterCode.Spread;
        if (!FitsCpu(host, request)) return FilterCode.Cpu;
        if (!FitsMemory(host, request)) return FilterCode.Memory;
        if (!FitsSwap(host, request)) return FilterCode.Swap;
        if (!FitsDisk(host, request)) return FilterCode.Disk;
        if (host.FreePorts <= 0) return FilterCode.Port;
        return FilterCode.Fits;
    }

    /// <summary>The words for a failed filter.</summary>
    public static string Explain(FilterCode code, HostCapacity host, PlacementRequest request) => code switch
    {
        FilterCode.Pool => Pool(host, request),
        FilterCode.Labels => Labels(host, request),
        FilterCode.Condition => Condition(host, request),
        FilterCode.Cpu => Cpu(host, request),
        FilterCode.Memory => Memory(host, request),
        FilterCode.Swap => Swap(host, request),
        FilterCode.Disk => Disk(host, request),
        FilterCode.Port => Port(host, request),
        FilterCode.Spread => Spread(host, request),
        FilterCode.Runtime => Runtime(host, request),
        _ => "",
    };

    private static bool FitsPool(HostCapacity host, PlacementRequest request) => string.Equals(host.Pool, request.Pool, StringComparison.Ordinal);

    internal static bool FitsLabels(HostCapacity host, PlacementRequest request)
    {
        if (request.RequiredLabels is null) return true;
        foreach (var (k, v) in request.RequiredLabels)
            if (!host.Labels.TryGetValue(k, out var hv) || !string.Equals(hv, v, StringComparison.Ordinal)) return false;
        return true;
    }

    private static bool FitsCpu(HostCapacity host, PlacementRequest request)
    {
        var cpus = request.Instance.Cpus;
        if (request.Instance.Numa == NumaPolicy.Required)
        {
            foreach (var n in host.Nodes)
                if (n.FreeCores >= n.CoresFor(cpus)) return true;
            return false;
        }
        return Fit.FreeCpus(host) >= cpus;
    }

    private static bool FitsMemory(HostCapacity host, PlacementRequest request)
    {
        var i = request.Instance;
        if (i.Numa == NumaPolicy.Required)
        {
            foreach (var n in host.Nodes)
                if (n.FreeCores >= n.CoresFor(i.Cpus) && n.FreeMemoryMiB >= i.MemoryMiB) return true;
            return false;
        }
        return host.FreeMemoryMiB >= i.MemoryMiB;
    }

    // Swap 0 fits every host, a host with no swap included.
    private static bool FitsSwap(HostCapacity host, PlacementRequest request) => host.FreeSwapMiB >= request.Instance.SwapMiB;

    private static bool FitsDisk(HostCapacity host, PlacementRequest request) => Fit.BestDisk(host, request.Instance) >= 0;

    private static bool FitsSpread(HostCapacity host, PlacementRequest request)
    {
        var s = request.Shard;
        return s is null || s.Admits(host.HostId, host.Zone, host.Rack);
    }
}
