using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>A host's evacuation from outside (GET /hosts/{id}/evacuation), waited on until it reaches the gate or ends.</summary>
public static class Evacuations
{
    /// <summary>Until every replacement is Ready and its old instance's scale-down request open (or the evacuation stopped).</summary>
    public static Task<EvacuationView> WaitGatedAsync(E2eDeployment e2e, string hostId, TimeSpan timeout) =>
        Eventually.UntilAsync(() => e2e.Viewer.GetOkAsync<EvacuationView>($"hosts/{hostId}/evacuation"),
            static v => v.Instances.All(static i => i.ScaleDownId is not null) || v.State != "Evacuating", timeout,
            "the replacements to be Ready and their scale-down requests open", Describe);

    /// <summary>Until the evacuation is no longer under way (Evacuated or Incomplete).</summary>
    public static Task<EvacuationView> WaitEndedAsync(E2eDeployment e2e, string hostId, TimeSpan timeout) =>
        Eventually.UntilAsync(() => e2e.Viewer.GetOkAsync<EvacuationView>($"hosts/{hostId}/evacuation"),
            static v => v.State != "Evacuating", timeout, "the evacuation to end", Describe);

    /// <summary>
    /// The host's one evacuee once its replacement is Ready and the old instance's removal waits at the gate (Pending):
    /// its progress, the replacement and the replacement's credentials.
    /// </summary>
    public static async Task<(EvacueeView Item, InstanceView Replacement, CredentialsView Credentials)> GatedOneAsync(E2eDeployment e2e, string hostId, TimeSpan timeout)
    {
        var gated = await WaitGatedAsync(e2e, hostId, timeout);
        var item = gated.Instances.Single();
        Assert.That(item.ScaleDownState, Is.EqualTo("Pending"), Describe(gated));
        var replacement = await e2e.Admin.GetInstanceAsync(item.ReplacementId);
        return (item, replacement, await e2e.Admin.GetOkAsync<CredentialsView>($"instances/{item.ReplacementId}/credentials"));
    }

    public static string Describe(EvacuationView view) => JsonSerializer.Serialize(view, ApiClient.Json);
}
