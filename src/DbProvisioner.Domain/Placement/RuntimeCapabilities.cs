using System.Globalization;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Placement;

/// <summary>The runtime that starts a host's instances, read from its engine endpoint.</summary>
public enum HostRuntimeKind
{
    /// <summary>A Docker engine (unix://, tcp://, https://).</summary>
    Docker,

    /// <summary>A Kubernetes node (k8s://cluster/node): pods bound by the appliance.</summary>
    Kubernetes,
}

/// <summary>
/// What a runtime can honour of a placement decision. Placement refuses a request that needs a capability the host's
/// runtime lacks, with the reason, instead of pretending: a Kubernetes node's kubelet chooses the cores itself.
/// </summary>
/// <param name="ExactCpuSet">The appliance's chosen CPUs are the ones the instance runs on (Docker: CpusetCpus; Kubernetes: the static CPU manager chooses, the runtime reads it back).</param>
/// <param name="CustomSwap">An instance can be held to its own swap allowance (Docker: MemorySwap; Kubernetes: Guaranteed pods get no swap).</param>
/// <param name="NumaInterleave">An instance's memory can be interleaved across nodes with its CPUs anywhere (Docker: no cpuset.mems; Kubernetes: no per-pod policy).</param>
/// <param name="NumaBinding">An instance's CPUs and memory can be bound to one chosen NUMA node (Docker: CpusetMems; Kubernetes: only the node's topology manager decides).</param>
public sealed record RuntimeCapabilities(bool ExactCpuSet, bool CustomSwap, bool NumaInterleave, bool NumaBinding)
{
    public static readonly RuntimeCapabilities Docker = new(true, true, true, true);
    public static readonly RuntimeCapabilities Kubernetes = new(false, false, false, false);

    public const string KubernetesScheme = "k8s";

    public static RuntimeCapabilities Of(HostRuntimeKind kind) => kind == HostRuntimeKind.Kubernetes ? Kubernetes : Docker;

    /// <summary>The runtime of an engine endpoint: <c>k8s://cluster/node</c> is a Kubernetes node, anything else a Docker engine.</summary>
    public static HostRuntimeKind KindOf(string? engineEndpoint) =>
        engineEndpoint is not null && engineEndpoint.StartsWith(KubernetesScheme + "://", StringComparison.OrdinalIgnoreCase)
            ? HostRuntimeKind.Kubernetes
            : HostRuntimeKind.Docker;

    /// <summary>Whether the runtime can honour every part of <paramref name="request"/>.</summary>
    public bool Admits(InstanceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (request.SwapMiB == 0 || CustomSwap)
            && (request.Numa != NumaPolicy.Interleave || NumaInterleave)
            && (request.Numa != NumaPolicy.Required || NumaBinding);
    }

    /// <summary>Why a host of runtime <paramref name="kind"/> cannot honour <paramref name="request"/>, or "" when it can.</summary>
    public string Refusal(HostRuntimeKind kind, InstanceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var runtime = kind == HostRuntimeKind.Kubernetes ? "a Kubernetes node" : "a Docker host";
        if (request.SwapMiB > 0 && !CustomSwap)
            return string.Create(CultureInfo.InvariantCulture, $"{runtime} cannot hold an instance to its own swap allowance ({request.SwapMiB} MiB asked)");
        if (request.Numa == NumaPolicy.Interleave && !NumaInterleave)
            return $"{runtime} cannot interleave an instance's memory across NUMA nodes (numa interleave asked)";
        if (request.Numa == NumaPolicy.Required && !NumaBinding)
            return $"{runtime} cannot bind an instance to one chosen NUMA node: its kubelet chooses the cores (numa required asked)";
        return "";
    }
}
