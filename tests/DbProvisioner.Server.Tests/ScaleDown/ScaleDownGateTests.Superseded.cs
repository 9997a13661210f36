using System.Net;
using DbProvisioner.Server.Tests.Support;
using static DbProvisioner.Server.Tests.Support.FakeApiKeyVerifier;

namespace DbProvisioner.Server.Tests.ScaleDown;

/// <summary>A pending request outlives its instance no longer: once another request removed it, it is Superseded.</summary>
public sealed partial class ScaleDownGateTests
{
    [Test]
    public async Task A_pending_request_whose_instance_another_request_removed_is_superseded_not_pending_and_approving_it_is_409()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var first = await sd.RequestRemovalAsync(instance);
        var second = await sd.RequestRemovalAsync(instance);
        var firstId = first.GetProperty("id").GetString()!;
        var secondId = second.GetProperty("id").GetString()!;
        using (var approved = await sd.ApproveAsync(firstId, Approver, ScaleDownApp.BlockingCodes(first)))
        {
            Assert.That(approved.StatusCode, Is.EqualTo(HttpStatusCode.OK), await approved.Content.ReadAsStringAsync());
        }

        Assert.That((await sd.WaitRequestSettledAsync(firstId)).GetProperty("state").GetString(), Is.EqualTo("Removed"));

        var pending = await sd.GetJsonAsync("/api/v1/scale-downs?state=pending");
        var superseded = await sd.GetJsonAsync("/api/v1/scale-downs?state=superseded");
        var shown = await sd.GetJsonAsync($"/api/v1/scale-downs/{secondId}");
        using var approve = await sd.ApproveAsync(secondId, Approver, ScaleDownApp.BlockingCodes(second));
        var problem = await ProblemAssert.IsProblemAsync(approve, HttpStatusCode.Conflict);
        var audit = await sd.GetJsonAsync($"/api/v1/audit?requestId={secondId}&action=scale-down.supersede");

        var why = $"instance {instance} was removed by request {firstId}";
        Assert.Multiple(() =>
        {
            Assert.That(pending.EnumerateArray().Select(r => r.GetProperty("id").GetString()), Does.Not.Contain(secondId), "no Approve button for it");
            Assert.That(superseded.EnumerateArray().Select(r => r.GetProperty("id").GetString()), Does.Contain(secondId));
            Assert.That(shown.GetProperty("state").GetString(), Is.EqualTo("Superseded"));
            Assert.That(shown.GetProperty("reason").GetString(), Is.EqualTo(why));
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("Superseded").And.Contain(why));
            Assert.That(audit.GetArrayLength(), Is.EqualTo(1), "one audit row, however often it was read");
            Assert.That(audit[0].GetProperty("actor").GetString(), Is.EqualTo("system"));
        });
    }
}
