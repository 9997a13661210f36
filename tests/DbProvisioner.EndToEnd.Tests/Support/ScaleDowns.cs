using System.Net;
using DbProvisioner.Api;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>The scale-down gate from outside: a requester asks, another person (the approver) approves; no assertions, so callers decide.</summary>
public static class ScaleDowns
{
    /// <summary>DELETE /instances/{id} as the requester; the Pending request, or an exception naming the answer.</summary>
    public static Task<ScaleDownView> RequestAsync(E2eDeployment e2e, string instanceId) => RequestAsync(e2e.Requester, instanceId);

    /// <summary>DELETE /instances/{id} with <paramref name="requester"/>'s key.</summary>
    public static async Task<ScaleDownView> RequestAsync(ApiClient requester, string instanceId)
    {
        using var response = await requester.DeleteAsync($"instances/{instanceId}");
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"DELETE /instances/{instanceId} answered {(int)response.StatusCode}: {body}");
        }

        return System.Text.Json.JsonSerializer.Deserialize<ScaleDownView>(body, ApiClient.Json)!;
    }

    /// <summary>POST approve as the approver, acknowledging every blocking risk; returns the status code and body.</summary>
    public static Task<(HttpStatusCode Status, string Body)> ApproveAsync(E2eDeployment e2e, ScaleDownView request) => ApproveAsync(e2e.Approver, request);

    /// <summary>POST approve with <paramref name="approver"/>'s key, acknowledging every blocking risk.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> ApproveAsync(ApiClient approver, ScaleDownView request)
    {
        var blocking = request.Risks.Where(r => r.Severity == RiskSeverity.Blocking).Select(r => r.Code).ToArray();
        using var response = await approver.PostAsync($"scale-downs/{request.Id}/approve", new ApproveScaleDownRequest(blocking));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls the request until it ends (Removed, Failed, Rejected, Expired, Superseded) or the time is up; the last view.</summary>
    public static Task<ScaleDownView> WaitEndedAsync(E2eDeployment e2e, string requestId, TimeSpan timeout) => WaitEndedAsync(e2e.Viewer, requestId, timeout);

    /// <summary>Polls the request with <paramref name="viewer"/>'s key until it ends or the time is up; the last view.</summary>
    public static async Task<ScaleDownView> WaitEndedAsync(ApiClient viewer, string requestId, TimeSpan timeout) =>
        (await Eventually.PollAsync(() => viewer.GetOrThrowAsync<ScaleDownView>($"scale-downs/{requestId}"),
            static view => view.State is "Removed" or "Failed" or "Rejected" or "Expired" or "Superseded", timeout, TimeSpan.FromMilliseconds(100))).Last;

    /// <summary>Requests, approves and waits for the removal of each instance, all at once; the ended requests.</summary>
    public static Task<IReadOnlyList<ScaleDownView>> RemoveAllAsync(E2eDeployment e2e, IEnumerable<string> instanceIds, TimeSpan timeout) =>
        RemoveAllAsync(e2e.Requester, e2e.Approver, e2e.Viewer, instanceIds, timeout);

    /// <summary>Requests, approves and waits for the removal of each instance with the given keys, all at once; the ended requests.</summary>
    public static async Task<IReadOnlyList<ScaleDownView>> RemoveAllAsync(ApiClient requester, ApiClient approver, ApiClient viewer, IEnumerable<string> instanceIds, TimeSpan timeout)
    {
        return await Task.WhenAll(instanceIds.Select(async id =>
        {
            var request = await RequestAsync(requester, id);
            var (status, body) = await ApproveAsync(approver, request);
            if (status != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"approving the removal of {id} answered {(int)status}: {body}");
            }

            return await WaitEndedAsync(viewer, request.Id, timeout);
        }));
    }
}
