using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>Where an instance's pod is on its way to Ready, read from its status: a pure decision, table-tested.</summary>
public enum PodStage
{
    /// <summary>Pending, or Running without the Ready condition yet.</summary>
    Starting,
    Ready,
    /// <summary>It will not become Ready by waiting: deleted, Failed, or mysqld restarting.</summary>
    Failed,
}

public static class PodProgress
{
    /// <summary>The pod's stage and, when Failed, why (in a DBA's words).</summary>
    /// <param name="restartsBefore">mysqld's restart count when the wait began: a restart since then is a crash.</param>
    public static (PodStage Stage, string Reason) Of(V1Pod? pod, int restartsBefore = 0)
    {
        if (pod is null) return (PodStage.Failed, "its pod was deleted");
        var status = pod.Status;
        if (pod.Metadata?.DeletionTimestamp is not null) return (PodStage.Failed, "its pod is being deleted");
        if (status?.Phase is "Failed" or "Succeeded")
            return (PodStage.Failed, $"its pod {status.Phase.ToLowerInvariant()}{(string.IsNullOrEmpty(status.Reason) ? "" : $" ({status.Reason}: {status.Message})")}");
        var mysqld = status?.ContainerStatuses?.FirstOrDefault();
        if (mysqld is not null)
        {
            // The last exit says why (e.g. the port is in use), whether the wait saw the restart or began after it.
            var last = mysqld.LastState?.Terminated;
            var exit = last is null ? "" : $" after exiting with code {last.ExitCode} ({last.Reason}{(string.IsNullOrEmpty(last.Message) ? "" : ": " + last.Message)})";
            if (mysqld.RestartCount > restartsBefore) return (PodStage.Failed, $"mysqld restarted{exit}");
            if (mysqld.State?.Waiting?.Reason is "CrashLoopBackOff" or "ErrImagePull" or "ImagePullBackOff" or "CreateContainerConfigError" or "InvalidImageName")
                return (PodStage.Failed, $"mysqld is waiting: {mysqld.State.Waiting.Reason}{exit}");
        }
        var ready = status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
        return ready && status?.Phase == "Running" ? (PodStage.Ready, "") : (PodStage.Starting, "");
    }

    /// <summary>mysqld's restart count (0 before its container started).</summary>
    public static int Restarts(V1Pod? pod) => pod?.Status?.ContainerStatuses?.FirstOrDefault()?.RestartCount ?? 0;
}
