using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DbProvisioner.Grains;
using DbProvisioner.Server.Tests.Support;
using DbProvisioner.Testing.Simulation;
using Microsoft.Extensions.DependencyInjection;
using static DbProvisioner.Server.Tests.Support.GrainApp;

namespace DbProvisioner.Server.Tests.Api;

/// <summary><c>/api/v1/instances</c> over the real grains (in-memory storage, simulated hosts).</summary>
[TestFixture]
[Category("Silo")]
public sealed class InstancesApiTests
{
    private const string Pool = "inst-pool";
    private const string Valid = """{"pool":"inst-pool","cpus":1,"memoryMiB":1024,"diskGiB":1}""";

    private ShellApp app = null!;
    private SimulatedHostRuntimeFactory hosts = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        (app, hosts) = await GrainApp.StartAsync();
        await RegisterHostAsync(app, "inst-h1", Pool, disks: 4);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    private Task<HttpResponseMessage> PostAsync(string json, string? key = FakeApiKeyVerifier.Requester) =>
        app.CreateClient(key).PostAsync("/api/v1/instances", Body(json));

    private static string With(string field, string json)
    {
        var body = JsonNode.Parse(Valid)!.AsObject();
        body[field] = JsonNode.Parse(json);
        return body.ToJsonString();
    }

    private async Task<string> InstanceListAsync() => await app.CreateClient(FakeApiKeyVerifier.Viewer).GetStringAsync("/api/v1/instances");

    private RecordingAuditSink Audit => (RecordingAuditSink)app.Services.GetRequiredService<IAuditSink>();

    private async Task<HashSet<string>> InstanceIdsAsync() =>
        [.. (await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/instances"))
            .EnumerateArray().Select(i => i.GetProperty("id").GetString()!)];

    private async Task<IReadOnlyList<string>> ReservedOnHostAsync() =>
        [.. (await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/hosts/inst-h1"))
            .GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("id").GetString()!)];

    [Test]
    public async Task A_valid_request_is_202_and_reaches_Ready_with_step_timings()
    {
        using var response = await PostAsync(Valid);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), accepted.ToString());
        var id = accepted.GetProperty("id").GetString()!;

        var instance = await WaitSettledAsync(app, id);

        Assert.Multiple(() =>
        {
            Assert.That(id, Does.Match("^i-[a-z2-7]{10}$"));
            Assert.That(accepted.GetProperty("location").GetString(), Is.EqualTo($"/api/v1/instances/{id}"));
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo($"/api/v1/instances/{id}"));
            Assert.That(instance.GetProperty("state").GetString(), Is.EqualTo("Ready"), instance.ToString());
            Assert.That(instance.GetProperty("host").GetString(), Is.EqualTo("inst-h1"));
            Assert.That(instance.GetProperty("spec").GetProperty("cluster").GetString(), Is.EqualTo("standalone"));
            Assert.That(instance.GetProperty("spec").GetProperty("shard").GetString(), Is.EqualTo(id));
            Assert.That(instance.GetProperty("spec").GetProperty("numa").GetString(), Is.EqualTo("preferred"));
            Assert.That(instance.GetProperty("spec").GetProperty("swappiness").GetInt32(), Is.EqualTo(1));
            Assert.That(instance.GetProperty("requestedBy").GetString(), Is.EqualTo("key-requester"));
            Assert.That(instance.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetString()),
                Is.SupersetOf(new[] { "Requested", "Placed", "DiskAttached", "ContainerStarted", "Ready" }));
        });
    }

    [Test]
    public async Task Credentials_are_for_the_requesting_key_or_admin_only()
    {
        using var response = await PostAsync(Valid);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.That((await WaitSettledAsync(app, id)).GetProperty("state").GetString(), Is.EqualTo("Ready"));

        using var mine = await app.CreateClient(FakeApiKeyVerifier.Requester).GetAsync($"/api/v1/instances/{id}/credentials");
        using var admin = await app.CreateClient(FakeApiKeyVerifier.Admin).GetAsync($"/api/v1/instances/{id}/credentials");
        using var viewer = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync($"/api/v1/instances/{id}/credentials");
        using var approver = await app.CreateClient(FakeApiKeyVerifier.Approver).GetAsync($"/api/v1/instances/{id}/credentials");
        var credentials = await mine.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Multiple(() =>
        {
            Assert.That(mine.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(mine.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(credentials.GetProperty("user").GetString(), Is.EqualTo("root"));
            Assert.That(credentials.GetProperty("password").GetString(), Is.Not.Empty);
            Assert.That(admin.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
        await ProblemAssert.IsProblemAsync(viewer, HttpStatusCode.Forbidden);
        await ProblemAssert.IsProblemAsync(approver, HttpStatusCode.Forbidden);
    }

    [Test]
    public async Task Credentials_are_409_until_the_instance_is_Ready()
    {
        await RegisterHostAsync(app, "slow-h1", "slow-pool");
        // MySQL on this host does not answer until the test lets it: the instance cannot be Ready before then.
        var engine = hosts.Host("slow-h1");
        engine.ReadyHold.Hold();
        try
        {
            using var response = await PostAsync("""{"pool":"slow-pool","cpus":1,"memoryMiB":1024,"diskGiB":1}""");
            var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

            using var early = await app.CreateClient(FakeApiKeyVerifier.Requester).GetAsync($"/api/v1/instances/{id}/credentials");

            var problem = await ProblemAssert.IsProblemAsync(early, HttpStatusCode.Conflict);
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("Ready"));
        }
        finally
        {
            engine.ReadyHold.Release();
        }
    }

    [TestCase("cpus", "0")]
    [TestCase("cpus", "-1")]
    [TestCase("cpus", "257")]
    [TestCase("cpus", "null")]
    [TestCase("memoryMiB", "256")]
    [TestCase("swapMiB", "-1")]
    [TestCase("swappiness", "101")]
    [TestCase("diskGiB", "0")]
    [TestCase("memoryMiB", "4611686018427387904")] // 2^62: once accepted, and memory + swap wrapped around in bytes
    [TestCase("memoryMiB", "16777217")] // 16 TiB + 1 MiB
    [TestCase("swapMiB", "4611686018427387904")]
    [TestCase("swapMiB", "16777217")]
    [TestCase("diskGiB", "4611686018427387904")]
    [TestCase("diskGiB", "1048577")] // 1 PiB + 1 GiB
    [TestCase("cpus", "4611686018427387904")]
    [TestCase("cpus", "\"1\"")] // numbers are JSON numbers, as for every other field
    [TestCase("memoryMiB", "\"1024\"")]
    [TestCase("swappiness", "\"1\"")]
    [TestCase("diskGiB", "1.5")]
    [TestCase("diskClass", "\"fast disk\"")]
    [TestCase("numa", "\"sometimes\"")]
    [TestCase("role", "\"leader\"")]
    [TestCase("cluster", "\"Orders\"")]
    [TestCase("shard", "\"shard_1\"")]
    [TestCase("shard", "\"i-abcdefghij\"")] // kept for instances given no shard (each its own shard)
    [TestCase("pool", "\"no-such-pool\"")]
    [TestCase("pool", "\"\"")]
    public async Task A_bad_field_is_400_naming_it_and_creates_nothing(string field, string json)
    {
        var before = await InstanceIdsAsync();
        var auditRows = Audit.Events.Count;

        using var response = await PostAsync(With(field, json));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        // Instances requested by earlier tests may still be settling; a refused request adds none of its own anywhere.
        var after = await InstanceIdsAsync();
        var reserved = await ReservedOnHostAsync();
        Assert.Multiple(() =>
        {
            Assert.That(after, Is.EquivalentTo(before), "no instance was created");
            Assert.That(Audit.Events.Skip(auditRows).Select(e => e.SubjectId), Is.SubsetOf(before), "no audit row about a new instance");
            Assert.That(reserved, Is.SubsetOf(before), "nothing was reserved on the host");
        });
    }

    [TestCase("memoryMiB", "1048576", "MiB free memory")] // 1 TiB: allowed by the API, more than the 16 GiB host has
    [TestCase("diskGiB", "100000", "disk of 100000 GiB")]
    public async Task A_size_larger_than_every_host_fails_placement_with_a_reason_naming_the_resource(string field, string json, string reason)
    {
        using var response = await PostAsync(With(field, json));
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), accepted.ToString());
        var id = accepted.GetProperty("id").GetString()!;

        var instance = await WaitSettledAsync(app, id);

        var reserved = await ReservedOnHostAsync();
        Assert.Multiple(() =>
        {
            Assert.That(instance.GetProperty("state").GetString(), Is.EqualTo("Failed"), instance.ToString());
            Assert.That(instance.GetProperty("reason").GetString(), Does.Contain(reason), instance.ToString());
            Assert.That(reserved, Does.Not.Contain(id), "nothing stays reserved");
        });
    }

    [Test]
    public async Task One_answer_names_every_bad_field_including_an_unknown_pool()
    {
        using var response = await PostAsync("""{"pool":"no-such-pool","cpus":0,"memoryMiB":64,"swapMiB":-1,"diskGiB":1}""");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name),
            Is.EquivalentTo(new[] { "pool", "cpus", "memoryMiB", "swapMiB" }));
    }

    [TestCase("{\"pool\":\"inst-pool\",\"cpus\":1,,}", "")]
    [TestCase("""{"pool":"inst-pool","cpus":"one","memoryMiB":1024,"diskGiB":1}""", "cpus")]
    [TestCase("""{"pool":"inst-pool","cpus":1,"memoryMiB":1024,"diskGiB":1,"memoryMb":5}""", "")]
    public async Task A_body_that_does_not_bind_is_400_and_creates_nothing(string json, string field)
    {
        var before = await InstanceListAsync();

        using var response = await PostAsync(json);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        if (field.Length > 0)
        {
            Assert.That(problem.GetProperty("field").GetString(), Is.EqualTo(field));
        }

        Assert.That(await InstanceListAsync(), Is.EqualTo(before));
    }

    [TestCase(null, HttpStatusCode.Unauthorized)]
    [TestCase(FakeApiKeyVerifier.Viewer, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Approver, HttpStatusCode.Forbidden)]
    public async Task Creating_needs_a_requester_or_admin_key(string? key, HttpStatusCode expected)
    {
        var before = await InstanceListAsync();

        using var response = await PostAsync(Valid, key);

        await ProblemAssert.IsProblemAsync(response, expected);
        Assert.That(await InstanceListAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task The_same_idempotency_key_and_body_answer_the_same_instance()
    {
        var client = app.CreateClient(FakeApiKeyVerifier.Admin);
        client.DefaultRequestHeaders.Add("Idempotency-Key", "order-42");

        using var first = await client.PostAsync("/api/v1/instances", Body(Valid));
        using var second = await client.PostAsync("/api/v1/instances", Body(Valid));
        using var different = await client.PostAsync("/api/v1/instances", Body(With("cpus", "2")));

        var a = await first.Content.ReadFromJsonAsync<JsonElement>();
        var b = await second.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Multiple(() =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(b.GetProperty("id").GetString(), Is.EqualTo(a.GetProperty("id").GetString()));
        });
        await ProblemAssert.IsProblemAsync(different, HttpStatusCode.Conflict);
    }

    [Test]
    public async Task Listing_filters_by_state_and_cluster()
    {
        using var response = await PostAsync(With("cluster", "\"listing\""));
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await WaitSettledAsync(app, id);
        var viewer = app.CreateClient(FakeApiKeyVerifier.Viewer);

        var byCluster = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/instances?cluster=listing");
        var failed = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/instances?state=failed");

        Assert.Multiple(() =>
        {
            Assert.That(byCluster.EnumerateArray().Select(i => i.GetProperty("id").GetString()), Is.EqualTo(new[] { id }));
            Assert.That(failed.EnumerateArray().Select(i => i.GetProperty("id").GetString()), Does.Not.Contain(id));
        });
    }

    [Test]
    public async Task Swap_is_placed_only_where_a_host_lends_it_and_the_host_shows_who_holds_it()
    {
        // inst-h1 is registered with a given topology and no swapMiB: it lends no swap.
        using var refused = await PostAsync(With("swapMiB", "512"));
        var refusedId = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var failed = await WaitSettledAsync(app, refusedId);

        var swapHost = JsonNode.Parse(HostJson("swap-h1", "swap-pool"))!.AsObject();
        swapHost["swapMiB"] = 1024;
        using var registered = await app.CreateClient(FakeApiKeyVerifier.Admin).PostAsync("/api/v1/hosts", Body(swapHost.ToJsonString()));
        Assert.That(registered.StatusCode, Is.EqualTo(HttpStatusCode.Created), await registered.Content.ReadAsStringAsync());
        await WaitDisksReadyAsync(app, "swap-h1");
        var body = JsonNode.Parse(With("swapMiB", "512"))!.AsObject();
        body["pool"] = "swap-pool";
        using var placed = await PostAsync(body.ToJsonString());
        var placedId = (await placed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var ready = await WaitSettledAsync(app, placedId);

        var viewer = app.CreateClient(FakeApiKeyVerifier.Viewer);
        var noSwap = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/hosts/inst-h1");
        var withSwap = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/hosts/swap-h1");
        Assert.Multiple(() =>
        {
            Assert.That(failed.GetProperty("state").GetString(), Is.EqualTo("Failed"), failed.ToString());
            Assert.That(failed.GetProperty("reason").GetString(), Does.Contain("1 host: no swap for instances (512 MiB asked)"));
            Assert.That(noSwap.GetProperty("swap").ToString(), Is.EqualTo("""{"totalMiB":0,"allocatableMiB":0,"usedMiB":0,"freeMiB":0}"""));
            Assert.That(ready.GetProperty("state").GetString(), Is.EqualTo("Ready"), ready.ToString());
            Assert.That(withSwap.GetProperty("swap").ToString(), Is.EqualTo("""{"totalMiB":1024,"allocatableMiB":1024,"usedMiB":512,"freeMiB":512}"""));
            Assert.That(withSwap.GetProperty("instances")[0].GetProperty("swapMiB").GetInt64(), Is.EqualTo(512));
            Assert.That(hosts.Host("swap-h1").Running[placedId].SwapMiB, Is.EqualTo(512), "the container got its swap");
        });
    }

    [TestCase("/api/v1/instances/i-doesnotexist")]
    [TestCase("/api/v1/instances/i-doesnotexist/credentials")]
    [TestCase("/api/v1/instances/NOT..AN..ID")]
    public async Task Unknown_instances_are_404(string path)
    {
        using var response = await app.CreateClient(FakeApiKeyVerifier.Admin).GetAsync(path);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }
}
