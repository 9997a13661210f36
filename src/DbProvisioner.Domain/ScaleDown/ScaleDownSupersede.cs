using System.Globalization;

namespace DbProvisioner.Domain.ScaleDown;

/// <summary>A pending scale-down request as the supersede rule sees it: the instance and the state version it was planned on.</summary>
public sealed record PendingScaleDown(string RequestId, string InstanceId, long BoundVersion);

/// <summary>
/// The request's instance as it is now: its state version, whether its removal has completed, and the
/// approved request removing it (null while none is).
/// </summary>
public sealed record InstanceNow(long Version, bool Removed, string? RemovalRequestId);

/// <summary>
/// When a pending scale-down request has outlived its instance. An approval binds the version the request
/// was planned on, so once the instance is gone, removed by another request, or changed, the request can
/// never be approved: it ends as Superseded instead of waiting for an approver.
/// </summary>
public static class ScaleDownSupersede
{
    /// <summary>Why the pending request is superseded, or null while it still stands. A null instance is one that no longer exists.</summary>
    public static string? Reason(PendingScaleDown request, InstanceNow? instance)
    {
        ArgumentNullException.ThrowIfNull(request);
        var id = request.InstanceId;
        if (instance is null) return $"instance {id} no longer exists";
        // The request's own removal never supersedes it (a pending request has none; checked for safety).
        if (instance.RemovalRequestId == request.RequestId) return null;
        if (instance.RemovalRequestId is { } other)
            return instance.Removed ? $"instance {id} was removed by request {other}" : $"instance {id} is being removed by request {other}";
        if (instance.Removed) return $"instance {id} was removed";
        if (instance.Version != request.BoundVersion)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"instance {id} changed since the request was planned (version {request.BoundVersion}, now {instance.Version})");
        }
        return null;
    }
}
