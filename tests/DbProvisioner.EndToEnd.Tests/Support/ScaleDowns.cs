using System.Net;
using DbProvisioner.Api;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>The scale-down gate from outside: a requester asks, another person (the approver) approves; no assertions, so callers decide.</summary>
public static class ScaleDowns
{
    /// <summary>DELETE /instances/{id} as the requester; the Pending request, or an exception naming the answer.</summary>
    public static async Task<ScaleDownView> RequestAsync(E2eDeployment e2e, string instanceId)
    {
        using var response = await e2e.Requester.DeleteAsync($"instances/{instanceId}");
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"DELETE /instances/{instanceId} answered {(int)response.StatusCode}: {body}");
        }

        return System.Text.Json.JsonSerializer.Deserialize<ScaleDownView>(body, ApiClient.Json)!;
    }

    /// <summary>POST approve as the approver, acknowledging every blocking risk; returns the status code and body.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> ApproveAsync(E2eDeployment e2e, ScaleDownView request)
    {
        var blocking = request.Risks.Where(r => r.Severity == RiskSeverity.Blocking).Select(r => r.Code).ToArray();
        using var response = await e2e.Approver.PostAsync($"scale-downs/{request.Id}/approve", new ApproveScaleDownRequest(blocking));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls the request until it ends (Removed, Failed, Rejected, Expired, Superseded) or the time is up; the last view.</summary>
    public static async Task<ScaleDownView> WaitEndedAsync(E2eDeployment e2e, string requestId, TimeSpan timeout) =>
        (await Eventually.PollAsync(() => e2e.Viewer.GetOrThrowAsync<ScaleDownView>($"scale-downs/{requestId}"),
            static view => view.State is "Removed" or "Failed" or "Rejected" or "Expired" or "Superseded", timeout, TimeSpan.FromMilliseconds(100))).Last;

    /// <summary>Requests, approves and waits for the removal of each instance, all at once; the ended requests.</summary>
    public static async Task<IReadOnlyList<ScaleDownView>> RemoveAllAsync(E2eDeployment e2e, IEnumerable<string> instanceIds, TimeSpan timeout)
    {
        return await Task.WhenAll(instanceIds.Select(async id =>
        {
            var request = await RequestAsync(e2e, id);
            var (status, body) = await ApproveAsync(e2e, request);
            if (status != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"approving the removal of {id} answered {(int)status}: {body}");
            }

            return await WaitEndedAsync(e2e, request.Id, timeout);
        }));
    }
}
