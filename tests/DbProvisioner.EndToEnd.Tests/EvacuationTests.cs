using System.Diagnostics;
using System.Net;
using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.EndToEnd.Tests.Support;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>
/// Issue 11, cordon and evacuate, on the real engine with two logical hosts of the local engine (e2e-a and e2e-b, one
/// free CPU each): an instance's host is evacuated through the CLI, the replacement comes up on the other host with
/// MySQL answering, a second person approves the scale-down, the old instance is removed, and the audit trail holds it all.
/// </summary>
[TestFixture]
public sealed class EvacuationTests : E2eFixture
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(150);

    [Test]
    public async Task An_evacuated_hosts_instance_is_replaced_elsewhere_then_removed_through_the_gate()
    {
        var old = await E2eRequests.CreateInstanceAsync(E2e.Requester, E2eRequests.Instance());
        var ready = await ApiClient.WaitSettledAsync(E2e.Requester, old, E2eRequests.ReadyTimeout);
        Assert.That(ready.State, Is.EqualTo("Ready"), E2eRequests.Describe(ready));
        var from = ready.Host!;
        var to = E2eLayout.HostIds.Single(h => h != from);

        var watch = Stopwatch.StartNew();
        var (exitCode, output, error) = await CliProcess.RunAsync(TimeSpan.FromSeconds(60), "host", "evacuate", from, "--output", "json",
            "--url", E2e.Server.BaseAddress.ToString().TrimEnd('/'), "--config", E2e.ClientConfigPath);
        Assert.That(exitCode, Is.EqualTo(0), $"stdout:\n{output}\nstderr:\n{error}");
        var started = JsonSerializer.Deserialize<EvacuationView>(output, ApiClient.Json)!;
        var planned = started.Instances.Single();
        Assert.Multiple(async () =>
        {
            Assert.That(planned.InstanceId, Is.EqualTo(old));
            Assert.That(planned.ReplacementHost, Is.EqualTo(to));
            Assert.That((await E2e.Admin.GetHostAsync(from)).Cordoned, Is.True, "the evacuated host is cordoned");
        });

        // The gate opens once the replacement is Ready.
        var (item, replacement, credentials) = await Evacuations.GatedOneAsync(E2e, from, Timeout);
        var replacedIn = watch.Elapsed;
        Assert.Multiple(async () =>
        {
            Assert.That(replacement.State, Is.EqualTo("Ready"));
            Assert.That(replacement.Host, Is.EqualTo(to), "the replacement runs on the other host");
            Assert.That(await E2eRequests.SelectOneAsync(credentials), Is.EqualTo(1), "the replacement's MySQL answers");
            Assert.That((await E2e.Admin.GetInstanceAsync(old)).State, Is.EqualTo("Ready"), "nothing is removed before approval");
            Assert.That((await E2e.Docker.OwnedContainersAsync()).SelectMany(c => c.Names), Has.Member("/" + DockerEngine.ContainerName(old)));
        });

        // Two-person rule: the admin who evacuated cannot approve; the approver can.
        var request = await E2e.Viewer.GetOkAsync<ScaleDownView>($"scale-downs/{item.ScaleDownId}");
        var blocking = request.Risks.Where(static r => r.Severity == RiskSeverity.Blocking).Select(static r => r.Code).ToArray();
        using (var own = await E2e.Admin.PostAsync($"scale-downs/{item.ScaleDownId}/approve", new ApproveScaleDownRequest(blocking)))
        {
            Assert.That(own.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), await own.Content.ReadAsStringAsync());
        }

        var approvedAt = watch.Elapsed;
        using (var approve = await E2e.Approver.PostAsync($"scale-downs/{item.ScaleDownId}/approve", new ApproveScaleDownRequest(blocking)))
        {
            Assert.That(approve.StatusCode, Is.EqualTo(HttpStatusCode.OK), await approve.Content.ReadAsStringAsync());
        }

        var done = await Evacuations.WaitEndedAsync(E2e, from, Timeout);
        var removedIn = watch.Elapsed - approvedAt;
        await TestContext.Progress.WriteLineAsync(
            $"[e2e] evacuation of one instance: replacement Ready and request open in {replacedIn.TotalSeconds:F1} s; approval → old removed in {removedIn.TotalSeconds:F1} s");

        var audit = await E2e.Viewer.GetOkAsync<JsonElement>($"audit?subjectId={from}&limit=100");
        var hostActions = audit.EnumerateArray().Select(static e => e.GetProperty("action").GetString()).ToList();
        var gate = await E2e.Viewer.GetOkAsync<JsonElement>($"audit?subjectId={item.ScaleDownId}&limit=100");
        var gateActions = gate.EnumerateArray().Select(static e => e.GetProperty("action").GetString()).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(done.State, Is.EqualTo("Evacuated"), Evacuations.Describe(done));
            Assert.That(done.Instances.Single().InstanceState, Is.EqualTo("Removed"));
            Assert.That((await E2e.Docker.OwnedContainersAsync()).SelectMany(c => c.Names), Has.None.EqualTo("/" + DockerEngine.ContainerName(old)), "the old container is gone");
            Assert.That((await E2e.Admin.GetHostAsync(from)).Instances, Is.Empty, "the evacuated host is empty");
            Assert.That(hostActions, Is.SupersetOf(new[] { "host.evacuate", "host.evacuate.scale-down", "host.evacuated" }), string.Join(", ", hostActions));
            Assert.That(gateActions, Is.SupersetOf(new[] { "scale-down.request", "scale-down.approve", "scale-down.removed" }), string.Join(", ", gateActions));
        });

        // Nothing else can take the replacement now that the other host is cordoned: 409 naming why, nothing changed.
        using (var refused = await E2e.Admin.PostAsync($"hosts/{to}/evacuate", new { }))
        {
            var problem = await Problem.ReadAsync(refused);
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), problem.Body);
            Assert.That(problem.Detail, Does.Contain("has no room elsewhere").And.Contain("cordoned"));
        }

        Assert.That((await E2e.Admin.GetHostAsync(to)).Cordoned, Is.False, "a refused evacuation does not cordon");
        using (var unknown = await E2e.Admin.PostAsync("hosts/no-such-host/evacuate", new { }))
        {
            Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        }

        Assert.That(await E2e.FindLeaksAsync(), Is.Empty);
    }
}
