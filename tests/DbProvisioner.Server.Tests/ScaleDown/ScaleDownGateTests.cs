using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using DbProvisioner.Server.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using static DbProvisioner.Server.Tests.Support.FakeApiKeyVerifier;

namespace DbProvisioner.Server.Tests.ScaleDown;

/// <summary>
/// The confirmation gate over HTTP with the real grains (in-memory grain storage, simulated hosts) and the real audit
/// trail in a throw-away meta database.
/// </summary>
[TestFixture]
[Category("Silo")]
[Category("MetaDb")]
public sealed partial class ScaleDownGateTests
{
    private const string Pool = "sd-pool";
    private ScaleDownApp sd = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        sd = await ScaleDownApp.StartAsync();
        // Four single-CPU hosts' worth of room: every test takes one instance.
        for (var i = 0; i < 4; i++)
        {
            await sd.RegisterHostAsync($"sdh{i}", Pool, disks: 4);
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await sd.DisposeAsync();

    [Test]
    public async Task Delete_creates_a_pending_request_with_its_risks_and_removes_nothing()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);

        var request = await sd.RequestRemovalAsync(instance);
        var id = request.GetProperty("id").GetString()!;
        var listed = await sd.GetJsonAsync("/api/v1/scale-downs?state=PENDING");
        var shown = await sd.GetJsonAsync($"/api/v1/instances/{instance}");

        Assert.Multiple(() =>
        {
            Assert.That(id, Does.Match("^sd-[a-z2-7]{12}$"));
            Assert.That(request.GetProperty("state").GetString(), Is.EqualTo("Pending"));
            Assert.That(request.GetProperty("requestedBy").GetString(), Is.EqualTo("key-requester"));
            Assert.That(ScaleDownApp.BlockingCodes(request), Does.Contain("last-member"), request.ToString());
            Assert.That(listed.EnumerateArray().Select(r => r.GetProperty("id").GetString()), Does.Contain(id));
            Assert.That(shown.GetProperty("state").GetString(), Is.EqualTo("Ready"), "nothing changes before approval");
            Assert.That(sd.Hosts.Host(shown.GetProperty("host").GetString()!).Removals, Does.Not.Contain(instance));
        });
    }

    [Test]
    public async Task The_requester_cannot_approve_their_own_request()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        // Admin may both request and approve, so only the gate stands between them.
        var request = await sd.RequestRemovalAsync(instance, Admin);
        var id = request.GetProperty("id").GetString()!;

        using var own = await sd.ApproveAsync(id, Admin, ScaleDownApp.BlockingCodes(request));
        using var requesterRole = await sd.ApproveAsync(id, Requester, ScaleDownApp.BlockingCodes(request));

        var problem = await ProblemAssert.IsProblemAsync(own, HttpStatusCode.Forbidden);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("requester"));
        await ProblemAssert.IsProblemAsync(requesterRole, HttpStatusCode.Forbidden);
        var after = await sd.GetJsonAsync($"/api/v1/scale-downs/{id}");
        Assert.That(after.GetProperty("state").GetString(), Is.EqualTo("Pending"));
    }

    [Test]
    public async Task A_viewer_cannot_approve_or_reject()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var request = await sd.RequestRemovalAsync(instance);
        var id = request.GetProperty("id").GetString()!;

        using var approve = await sd.ApproveAsync(id, Viewer, ScaleDownApp.BlockingCodes(request));
        using var reject = await sd.Client(Viewer).PostAsync($"/api/v1/scale-downs/{id}/reject", GrainApp.Body("{\"reason\":\"no\"}"));

        await ProblemAssert.IsProblemAsync(approve, HttpStatusCode.Forbidden);
        await ProblemAssert.IsProblemAsync(reject, HttpStatusCode.Forbidden);
        Assert.That((await sd.GetJsonAsync($"/api/v1/scale-downs/{id}")).GetProperty("state").GetString(), Is.EqualTo("Pending"));
    }

    [Test]
    public async Task An_approval_without_acknowledging_a_blocking_risk_is_400_listing_the_risks()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var request = await sd.RequestRemovalAsync(instance);
        var id = request.GetProperty("id").GetString()!;
        var blocking = ScaleDownApp.BlockingCodes(request);
        Assert.That(blocking, Is.Not.Empty, "a standalone instance is the last member of its shard");

        using var response = await sd.ApproveAsync(id, Approver, []);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Multiple(() =>
        {
            foreach (var code in blocking)
            {
                Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(code));
            }

            Assert.That(problem.GetProperty("errors").GetProperty("acknowledge").GetArrayLength(), Is.EqualTo(blocking.Length));
            Assert.That(problem.GetProperty("risks").GetArrayLength(), Is.EqualTo(request.GetProperty("risks").GetArrayLength()));
        });
        Assert.That((await sd.GetJsonAsync($"/api/v1/scale-downs/{id}")).GetProperty("state").GetString(), Is.EqualTo("Pending"));
    }

    [Test]
    public async Task An_approval_removes_the_instance_frees_its_cpus_and_recycles_its_disk_and_a_replay_changes_nothing()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var before = await sd.GetJsonAsync($"/api/v1/instances/{instance}");
        var hostId = before.GetProperty("host").GetString()!;
        var device = before.GetProperty("device").GetString()!;
        var diskId = before.GetProperty("disk").GetString()!;
        var host = sd.Hosts.Host(hostId);
        var formatsBefore = host.FormatCount(device);
        var request = await sd.RequestRemovalAsync(instance);
        var id = request.GetProperty("id").GetString()!;

        using var first = await sd.ApproveAsync(id, Approver, ScaleDownApp.BlockingCodes(request));
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK), await first.Content.ReadAsStringAsync());
        var settled = await sd.WaitRequestSettledAsync(id);
        using var replay = await sd.ApproveAsync(id, Approver, ScaleDownApp.BlockingCodes(request));
        var replayed = await replay.Content.ReadFromJsonAsync<JsonElement>();
        var after = await sd.GetJsonAsync($"/api/v1/instances/{instance}");
        var hostView = await sd.GetJsonAsync($"/api/v1/hosts/{hostId}");

        Assert.Multiple(() =>
        {
            Assert.That(settled.GetProperty("state").GetString(), Is.EqualTo("Removed"), settled.ToString());
            Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(replayed.GetProperty("state").GetString(), Is.EqualTo("Removed"));
            Assert.That(replayed.GetProperty("decision").GetProperty("at").GetString(),
                Is.EqualTo(settled.GetProperty("decision").GetProperty("at").GetString()), "the replay recorded no new decision");
            Assert.That(replayed.GetProperty("steps").GetArrayLength(), Is.EqualTo(settled.GetProperty("steps").GetArrayLength()));
            Assert.That(after.GetProperty("state").GetString(), Is.EqualTo("Removed"));
            Assert.That(host.Removals.Count(r => r == instance), Is.EqualTo(1), "the container was removed exactly once");
            Assert.That(host.Running.Keys, Does.Not.Contain(instance));
            Assert.That(CoresHeldBy(hostView, instance), Is.Zero, "its CPUs are free");
            var disk = hostView.GetProperty("disks").EnumerateArray().Single(d => d.GetProperty("id").GetString() == diskId);
            Assert.That(disk.GetProperty("state").GetString(), Is.EqualTo("Ready"));
            Assert.That(host.FormatCount(device), Is.GreaterThan(formatsBefore), "the released disk was wiped and re-formatted");
            Assert.That(sd.MySql.ReadOnlyPorts, Does.Contain(before.GetProperty("endpoint").GetProperty("port").GetInt32()), "drained: set read-only");
        });
    }

    [Test]
    public async Task An_approval_while_another_request_removes_the_instance_is_refused_with_409_and_the_request_is_superseded()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var first = await sd.RequestRemovalAsync(instance);
        var second = await sd.RequestRemovalAsync(instance);
        var firstId = first.GetProperty("id").GetString()!;
        var secondId = second.GetProperty("id").GetString()!;
        Assert.That(second.GetProperty("instanceVersion").GetInt64(), Is.EqualTo(first.GetProperty("instanceVersion").GetInt64()));

        // Approving the first request changes the instance (it starts draining): the second was planned on an older version.
        using var approved = await sd.ApproveAsync(firstId, Approver, ScaleDownApp.BlockingCodes(first));
        Assert.That(approved.StatusCode, Is.EqualTo(HttpStatusCode.OK), await approved.Content.ReadAsStringAsync());
        using var stale = await sd.ApproveAsync(secondId, Approver, ScaleDownApp.BlockingCodes(second));

        var problem = await ProblemAssert.IsProblemAsync(stale, HttpStatusCode.Conflict);
        // Draining or already removed by then: either way the refusal names the other request.
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("Superseded").And.Contain($"removed by request {firstId}"));
        var secondAfter = await sd.GetJsonAsync($"/api/v1/scale-downs/{secondId}");
        Assert.That(secondAfter.GetProperty("state").GetString(), Is.EqualTo("Superseded"), "the request ended: plan it again if still wanted");
        Assert.That((await sd.WaitRequestSettledAsync(firstId)).GetProperty("state").GetString(), Is.EqualTo("Removed"));
    }

    [Test]
    public async Task Reject_needs_a_reason_and_keeps_the_instance()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var id = (await sd.RequestRemovalAsync(instance)).GetProperty("id").GetString()!;

        using var missing = await sd.Client(Approver).PostAsync($"/api/v1/scale-downs/{id}/reject", GrainApp.Body("{}"));
        using var blank = await sd.Client(Approver).PostAsync($"/api/v1/scale-downs/{id}/reject", GrainApp.Body("{\"reason\":\"  \"}"));
        using var rejected = await sd.Client(Approver).PostAsync($"/api/v1/scale-downs/{id}/reject", GrainApp.Body("{\"reason\":\"still serving reports\"}"));

        Assert.That((await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("reason", out _), Is.True);
        Assert.That((await ProblemAssert.IsProblemAsync(blank, HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("reason", out _), Is.True);
        Assert.That(rejected.StatusCode, Is.EqualTo(HttpStatusCode.OK), await rejected.Content.ReadAsStringAsync());
        var view = await rejected.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Multiple(async () =>
        {
            Assert.That(view.GetProperty("state").GetString(), Is.EqualTo("Rejected"));
            Assert.That(view.GetProperty("decision").GetProperty("reason").GetString(), Is.EqualTo("still serving reports"));
            Assert.That((await sd.GetJsonAsync($"/api/v1/instances/{instance}")).GetProperty("state").GetString(), Is.EqualTo("Ready"));
        });
    }

    [Test]
    public async Task Audit_rows_record_the_request_each_decision_and_every_removal_step_in_order_and_no_password()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        using var credentials = await sd.Client(Requester).GetAsync($"/api/v1/instances/{instance}/credentials");
        var password = (await credentials.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("password").GetString()!;
        var request = await sd.RequestRemovalAsync(instance);
        var id = request.GetProperty("id").GetString()!;
        using (await sd.ApproveAsync(id, Approver, [])) { }                                     // refused: unacknowledged
        using (await sd.ApproveAsync(id, Approver, ScaleDownApp.BlockingCodes(request))) { }   // approved
        await sd.WaitRequestSettledAsync(id);
        var rejectedId = (await sd.RequestRemovalAsync(await sd.CreateReadyInstanceAsync(Pool))).GetProperty("id").GetString()!;
        using (await sd.Client(Approver).PostAsync($"/api/v1/scale-downs/{rejectedId}/reject", GrainApp.Body("{\"reason\":\"not now\"}"))) { }

        using var raw = await sd.Client(Viewer).GetAsync($"/api/v1/audit?requestId={id}&limit=1000");
        var text = await raw.Content.ReadAsStringAsync();
        Assert.That(raw.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        var rows = JsonDocument.Parse(text).RootElement.EnumerateArray().ToList();
        var actions = rows.Select(r => $"{r.GetProperty("action").GetString()}:{r.GetProperty("outcome").GetString()}").ToList();
        var rejectRows = await sd.GetJsonAsync($"/api/v1/audit?requestId={rejectedId}&action=scale-down.reject");
        var instanceRows = await sd.GetJsonAsync($"/api/v1/audit?subjectType=instance&subjectId={instance}");

        Assert.Multiple(() =>
        {
            Assert.That(actions, Is.EqualTo(new[]
            {
                "scale-down.request:ok",
                "scale-down.approve:refused",
                "scale-down.approve:ok",
                "removal.Draining:started",
                "removal.Drained:ok",
                "removal.ContainerRemoved:ok",
                "removal.ResourcesFreed:ok",
                "removal.Removed:ok",
                "scale-down.removed:ok",
            }), text);
            Assert.That(rows.Select(r => r.GetProperty("id").GetInt64()), Is.Ordered, "in the order they happened");
            Assert.That(rows.Where(r => r.GetProperty("action").GetString()!.StartsWith("removal.", StringComparison.Ordinal))
                .Select(r => r.GetProperty("actor").GetString()).Distinct(), Is.EqualTo(new[] { "key-approver" }));
            Assert.That(rows[0].GetProperty("actor").GetString(), Is.EqualTo("key-requester"));
            Assert.That(rows[1].GetProperty("details").GetProperty("outcomeDetail").GetString(), Does.Contain("last-member"));
            Assert.That(rejectRows.GetArrayLength(), Is.EqualTo(1));
            Assert.That(rejectRows[0].GetProperty("details").GetProperty("reason").GetString(), Is.EqualTo("not now"));
            Assert.That(instanceRows.EnumerateArray().Select(r => r.GetProperty("action").GetString()), Does.Contain("provisioning.Ready"));
            Assert.That(text, Does.Not.Contain(password));
            Assert.That(instanceRows.ToString(), Does.Not.Contain(password));
            Assert.That(PasswordWord().IsMatch(text + instanceRows), Is.False, "no field named like a secret");
        });
    }

    [TestCase("limit=0", "limit")]
    [TestCase("limit=abc", "limit")]
    [TestCase("from=yesterday", "from")]
    [TestCase("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to")]
    [TestCase("afterId=-1", "afterId")]
    public async Task Audit_query_with_a_bad_filter_is_400_naming_it(string query, string field)
    {
        using var response = await sd.Client(Viewer).GetAsync($"/api/v1/audit?{query}");
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
    }

    [Test]
    public async Task Listing_with_an_unknown_state_is_400_and_unknown_ids_are_404()
    {
        using var list = await sd.Client(Viewer).GetAsync("/api/v1/scale-downs?state=sleeping");
        using var request = await sd.Client(Viewer).GetAsync("/api/v1/scale-downs/sd-doesnotexist");
        using var delete = await sd.Client(Requester).DeleteAsync("/api/v1/instances/i-doesnotexist");
        using var approve = await sd.ApproveAsync("sd-doesnotexist", Approver, []);

        Assert.That((await ProblemAssert.IsProblemAsync(list, HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("state", out _), Is.True);
        await ProblemAssert.IsProblemAsync(request, HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(delete, HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(approve, HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Shrinking_a_cluster_needs_replicas_and_an_existing_cluster()
    {
        using var missing = await sd.Client(Requester).PatchAsync("/api/v1/clusters/orders", GrainApp.Body("{}"));
        using var zero = await sd.Client(Requester).PatchAsync("/api/v1/clusters/orders", GrainApp.Body("{\"replicas\":0}"));
        using var unknown = await sd.Client(Requester).PatchAsync("/api/v1/clusters/no-such-cluster", GrainApp.Body("{\"replicas\":1}"));
        using var viewer = await sd.Client(Viewer).PatchAsync("/api/v1/clusters/orders", GrainApp.Body("{\"replicas\":1}"));

        Assert.That((await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("replicas", out _), Is.True);
        Assert.That((await ProblemAssert.IsProblemAsync(zero, HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("replicas", out _), Is.True);
        await ProblemAssert.IsProblemAsync(unknown, HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(viewer, HttpStatusCode.Forbidden);
    }

    [Test]
    public async Task The_page_is_served_without_a_key_but_the_api_it_calls_needs_one()
    {
        using var anonymous = sd.App.CreateClient();
        using var page = await anonymous.GetAsync("/");
        using var script = await anonymous.GetAsync("/app.js");
        using var api = await anonymous.GetAsync("/api/v1/scale-downs?state=pending");

        Assert.Multiple(async () =>
        {
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(page.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(await page.Content.ReadAsStringAsync(), Does.Contain("Pending scale-down requests"));
            Assert.That(page.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("default-src 'none'"));
            Assert.That(script.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/javascript"));
            Assert.That(await script.Content.ReadAsStringAsync(), Does.Contain("sessionStorage").And.Not.Contain("localStorage.setItem"));
            Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        });
    }

    internal static int CoresHeldBy(JsonElement host, string instance) =>
        host.GetProperty("numaNodes").EnumerateArray()
            .SelectMany(n => n.GetProperty("cores").EnumerateArray())
            .Count(c => c.TryGetProperty("instance", out var i) && i.ValueKind == JsonValueKind.String && i.GetString() == instance);

    [GeneratedRegex("\"[^\"]*(passw|secret|credential)[^\"]*\"\\s*:", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordWord();
}

/// <summary>
/// Requests expire: an expired request cannot be approved. Its own silo, whose clock moves only when the test moves it,
/// so the deadline is crossed exactly, never raced.
/// </summary>
[TestFixture]
[Category("Silo")]
[Category("MetaDb")]
public sealed class ScaleDownExpiryTests
{
    private const string Pool = "sd-expiry-pool";
    private static readonly TimeSpan Expiry = TimeSpan.FromHours(4);
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private ScaleDownApp sd = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        sd = await ScaleDownApp.StartAsync(scaleDownExpiry: Expiry, clock: clock);
        await sd.RegisterHostAsync("sdx", Pool);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await sd.DisposeAsync();

    [Test]
    public async Task An_expired_request_cannot_be_approved_and_its_expiry_is_audited()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var request = await sd.RequestRemovalAsync(instance);
        var id = request.GetProperty("id").GetString()!;
        Assert.That(request.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(clock.GetUtcNow() + Expiry), "the deadline is the request's time plus the expiry");

        clock.Advance(Expiry - TimeSpan.FromSeconds(1));
        var justBefore = await sd.GetJsonAsync($"/api/v1/scale-downs/{id}");
        clock.Advance(TimeSpan.FromSeconds(1));
        using var late = await sd.ApproveAsync(id, Approver, ScaleDownApp.BlockingCodes(request));

        Assert.That(justBefore.GetProperty("state").GetString(), Is.EqualTo("Pending"), "a second before its deadline the request still waits");
        var problem = await ProblemAssert.IsProblemAsync(late, HttpStatusCode.Conflict);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("expired"));
        var expired = await sd.GetJsonAsync("/api/v1/scale-downs?state=expired");
        var audit = await sd.GetJsonAsync($"/api/v1/audit?requestId={id}&action=scale-down.expire");
        Assert.Multiple(async () =>
        {
            Assert.That(expired.EnumerateArray().Select(r => r.GetProperty("id").GetString()), Does.Contain(id));
            Assert.That(audit.GetArrayLength(), Is.EqualTo(1));
            Assert.That((await sd.GetJsonAsync($"/api/v1/instances/{instance}")).GetProperty("state").GetString(), Is.EqualTo("Ready"));
        });
    }
}
