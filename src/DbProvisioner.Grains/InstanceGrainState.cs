using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Instances;

namespace DbProvisioner.Grains;

[GenerateSerializer, Alias("dbprov.InstanceGrainState")]
public sealed class InstanceGrainState
{
    [Id(0)] public InstanceSpec? Spec { get; set; }
    /// <summary>
    /// The lifecycle state by name ("" before the request): every version stored it as this string, so every stored
    /// state still loads. Read and written through <see cref="State"/>.
    /// </summary>
    [Id(1)] public string StateName { get; set; } = "";
    [Id(2)] public string? Reason { get; set; }
    [Id(3)] public HostReservation? Reservation { get; set; }
    [Id(4)] public HostLocation? Host { get; set; }
    [Id(5)] public string? ProtectedRootPassword { get; set; }
    [Id(6)] public List<StepView> Steps { get; set; } = [];
    [Id(7)] public long Version { get; set; }
    [Id(8)] public string RequestedBy { get; set; } = "";
    [Id(9)] public DateTimeOffset CreatedAt { get; set; }
    /// <summary>For a Failed instance: every reservation has been given back.</summary>
    [Id(10)] public bool Released { get; set; }
    /// <summary>The approved scale-down request removing this instance, and who approved it.</summary>
    [Id(11)] public string? RemovalRequestId { get; set; }
    [Id(12)] public string? RemovalApprovedBy { get; set; }
    /// <summary>Reconciliation found no container for this instance on its host.</summary>
    [Id(13)] public bool ContainerMissing { get; set; }
    /// <summary>Audit rows stored with the change they record and not yet in the audit trail.</summary>
    [Id(14)] public List<PendingAudit> Outbox { get; set; } = [];
    /// <summary>The CPUs the instance runs on as read back when it became Ready (a Kubernetes node chooses them), and what that means.</summary>
    [Id(15)] public string? ObservedCpus { get; set; }
    [Id(16)] public string? CpusetNote { get; set; }

    /// <summary>The lifecycle state; null for an instance never requested.</summary>
    public InstanceState? State
    {
        get => InstanceLifecycle.TryParse(StateName, out var state)
            ? state
            : throw new InvalidOperationException($"the stored instance state '{StateName}' names no lifecycle state");
        set => StateName = value?.ToString() ?? "";
    }
}

/// <summary>The lifecycle state of an instance view, whose state travels as its name.</summary>
internal static class InstanceViews
{
    public static InstanceState? LifecycleState(this InstanceView? view) =>
        view is not null && InstanceLifecycle.TryParse(view.State, out var state) ? state : null;
}
