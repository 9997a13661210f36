using System.Globalization;
using System.Text.Json;
using DbProvisioner.Domain.Topology;
using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>
/// A node's NodeResourceTopology object (CRD <c>topology.node.k8s.io/v1alpha2</c>, cluster-scoped, named after the
/// node, written by an exporter such as resource-topology-exporter) as a host topology: a pure mapping, table-tested.
/// Each zone of <c>type: Node</c> that reports a <c>cpu</c> resource is one NUMA node with its allocatable CPUs (the
/// kubelet's reserved CPUs are already out of it) and its allocatable memory when the zone reports it.
/// </summary>
/// <remarks>
/// NRT gives counts, not CPU ids. The ids are assigned here, in zone order and contiguous (zone 0 gets 0..n0-1,
/// zone 1 the next n1, …), one single-thread core per CPU, one socket per zone. That is honest because a Kubernetes
/// node declares "exact cpuset: no" (<see cref="Domain.Placement.RuntimeCapabilities.Kubernetes"/>): the ids are the
/// appliance's accounting slots, which keep the count per NUMA node right so that an instance that must fit one node
/// fits one zone; the CPUs the kubelet really gives are read back after the pod is Ready and recorded next to them.
/// </remarks>
public static class NodeResourceTopology
{
    public const string Group = "topology.node.k8s.io";
    public const string Version = "v1alpha2";
    public const string Plural = "noderesourcetopologies";

    /// <summary>
    /// The topology the object describes, or null when no Node zone reports CPUs (an exporter that does not count
    /// exclusive CPUs: the node's capacity is the better source). A malformed object is a <see cref="FormatException"/>
    /// saying what is wrong.
    /// </summary>
    /// <param name="nodeMemoryMiB">The node's allocatable memory, shared evenly by the zones that do not report their own.</param>
    public static HostTopology? ToTopology(JsonElement nrt, long nodeMemoryMiB)
    {
        var name = nrt.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object && meta.TryGetProperty("name", out var n) ? n.ToString() : "?";
        if (nrt.ValueKind != JsonValueKind.Object || !nrt.TryGetProperty("zones", out var zones) || zones.ValueKind != JsonValueKind.Array)
            throw new FormatException($"NodeResourceTopology {name} has no zones list");

        var numa = new List<(string Zone, int Cpus, long? MemoryMiB)>();
        foreach (var zone in zones.EnumerateArray())
        {
            var zoneName = Text(zone, "name") ?? throw new FormatException($"NodeResourceTopology {name}: a zone has no name");
            if (Text(zone, "type") != "Node") continue; // cache, device or socket zones hold no NUMA memory of their own
            if (!zone.TryGetProperty("resources", out var resources) || resources.ValueKind != JsonValueKind.Array) continue;
            int? cpus = null;
            long? memory = null;
            foreach (var resource in resources.EnumerateArray())
            {
                var what = Text(resource, "name");
                if (what is not ("cpu" or "memory")) continue;
                var allocatable = Quantity(name, zoneName, what, resource);
                if (what == "cpu") cpus = (int)Math.Floor(allocatable);
                else memory = (long)(allocatable / (1024 * 1024));
            }
            if (cpus is null) continue;
            if (cpus < 0) throw new FormatException($"NodeResourceTopology {name}: zone {zoneName} has negative allocatable CPUs");
            numa.Add((zoneName, cpus.Value, memory));
        }

        numa.RemoveAll(static z => z.Cpus == 0); // every CPU of the zone reserved: nothing to place there
        if (numa.Count == 0) return null;
        var sharedMemory = nodeMemoryMiB / numa.Count;
        var next = 0;
        var nodes = new List<NumaNode>(numa.Count);
        for (var i = 0; i < numa.Count; i++)
        {
            var (_, cpus, memory) = numa[i];
            nodes.Add(new NumaNode(i, memory ?? sharedMemory, [.. Enumerable.Range(next, cpus).Select(c => new PhysicalCore(c, i, CpuSet.Of([c])))]));
            next += cpus;
        }
        return new HostTopology(nodes);
    }

    private static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The resource's allocatable quantity ("18", "3500m", "64Gi", or a JSON number).</summary>
    private static decimal Quantity(string nrt, string zone, string resource, JsonElement info)
    {
        if (!info.TryGetProperty("allocatable", out var value))
            throw new FormatException($"NodeResourceTopology {nrt}: zone {zone} reports {resource} without an allocatable quantity");
        try
        {
            return value.ValueKind switch
            {
                JsonValueKind.Number => value.GetDecimal(),
                JsonValueKind.String => new ResourceQuantity(value.GetString()).ToDecimal(),
                _ => throw new FormatException("not a quantity"),
            };
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"NodeResourceTopology {nrt}: zone {zone} reports {resource} allocatable {value} which is not a quantity"), e);
        }
    }
}
