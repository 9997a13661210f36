using System.Globalization;
using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Domain.Instances;

/// <summary>How the cpuset an instance runs on (as read back from its host) compares with the CPUs the appliance decided.</summary>
public enum CpusetFinding
{
    /// <summary>The decided CPUs.</summary>
    Same,

    /// <summary>As many CPUs, other ids: the runtime chose them (a Kubernetes kubelet's static CPU manager); recorded, not an error where the runtime declares no exact cpuset.</summary>
    OtherCpus,

    /// <summary>More or fewer CPUs than reserved: the instance does not have its CPUs to itself (not Guaranteed, or no static CPU manager).</summary>
    CountMismatch,
}

/// <summary>The cpuset read back and what it means; <see cref="IsDrift"/> when the inspection must report it.</summary>
public sealed record ObservedCpuset(CpuSet Cpus, CpusetFinding Finding, string Note)
{
    /// <summary>A count mismatch always; other ids only on a runtime that promised the exact cpuset.</summary>
    public bool IsDrift(bool exactCpuSet) => Finding == CpusetFinding.CountMismatch || (Finding == CpusetFinding.OtherCpus && exactCpuSet);
}

/// <summary>The decision on a cpuset read back: pure, table-tested.</summary>
public static class CpusetObservation
{
    /// <param name="decided">The CPUs the host grain reserved for the instance.</param>
    /// <param name="observed">The container's <c>Cpus_allowed_list</c> as its host reports it.</param>
    /// <param name="exactCpuSet">Whether the runtime applies the decided CPUs itself (Docker) or its node chooses (Kubernetes).</param>
    public static ObservedCpuset Judge(CpuSet decided, CpuSet observed, bool exactCpuSet)
    {
        ArgumentNullException.ThrowIfNull(decided);
        ArgumentNullException.ThrowIfNull(observed);
        if (observed == decided) return new ObservedCpuset(observed, CpusetFinding.Same, "runs on the decided CPUs");
        if (observed.Count != decided.Count)
            return new ObservedCpuset(observed, CpusetFinding.CountMismatch, string.Create(CultureInfo.InvariantCulture,
                $"runs on {observed.Count} CPUs ({observed}) but {decided.Count} are reserved for it ({decided}): its node does not give it exclusive CPUs (CPU manager policy not static, or the pod is not Guaranteed)"));
        return new ObservedCpuset(observed, CpusetFinding.OtherCpus, exactCpuSet
            ? $"runs on CPUs {observed}, not the decided {decided}"
            : $"its node chose CPUs {observed}; the appliance counts {decided} for it (this runtime cannot honour an exact cpuset)");
    }
}
