using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DbProvisioner.Server.Tests.Support;
using static DbProvisioner.Server.Tests.Support.GrainApp;

namespace DbProvisioner.Server.Tests.Api;

/// <summary><c>/api/v1/clusters</c> over the real grains (in-memory storage, simulated hosts).</summary>
[TestFixture]
[Category("Silo")]
public sealed class ClustersApiTests
{
    private ShellApp app = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        (app, _) = await GrainApp.StartAsync();
        await RegisterHostAsync(app, "cl-h1", "cl-pool");
        await RegisterHostAsync(app, "cl-h2", "cl-pool");
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    private static string Cluster(string name, int replicas = 2, string pool = "cl-pool") =>
        $$$"""{"name":"{{{name}}}","pool":"{{{pool}}}","shards":1,"replicas":{{{replicas}}},"template":{"cpus":1,"memoryMiB":1024,"diskGiB":1}}""";

    private Task<HttpResponseMessage> PostAsync(string json, string? key = FakeApiKeyVerifier.Requester) =>
        app.CreateClient(key).PostAsync("/api/v1/clusters", Body(json));

    [Test]
    public async Task One_shard_of_two_lands_on_both_hosts()
    {
        using var response = await PostAsync(Cluster("orders"));
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), accepted.ToString());

        var cluster = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/clusters/orders");

        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo("/api/v1/clusters/orders"));
            Assert.That(cluster.GetProperty("spread").GetProperty("domain").GetString(), Is.EqualTo("host"));
            Assert.That(cluster.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("host").GetString()),
                Is.EquivalentTo(new[] { "cl-h1", "cl-h2" }));
        });
    }

    [Test]
    public async Task A_cluster_that_breaks_hard_spread_is_422_naming_spread_and_reserves_nothing()
    {
        var before = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetStringAsync("/api/v1/instances");

        using var response = await PostAsync(Cluster("too-wide", replicas: 3));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("spread").IgnoreCase, problem.ToString());
        using var get = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync("/api/v1/clusters/too-wide");
        Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await app.CreateClient(FakeApiKeyVerifier.Viewer).GetStringAsync("/api/v1/instances"), Is.EqualTo(before));
    }

    [TestCase("name", "\"Orders\"")]
    [TestCase("name", "\"a-name-that-is-far-longer-than-forty-characters\"")]
    [TestCase("shards", "0")]
    [TestCase("shards", "65")]
    [TestCase("replicas", "10")]
    [TestCase("pool", "\"nowhere\"")]
    [TestCase("spread.domain", "{\"domain\":\"planet\",\"maxPerDomain\":1,\"mode\":\"hard\"}")]
    [TestCase("spread.maxPerDomain", "{\"domain\":\"rack\",\"maxPerDomain\":0,\"mode\":\"hard\"}")]
    [TestCase("spread.mode", "{\"domain\":\"rack\",\"maxPerDomain\":1,\"mode\":\"strict\"}")]
    [TestCase("template.cpus", "{\"cpus\":0,\"memoryMiB\":1024,\"diskGiB\":1}")]
    [TestCase("template.memoryMiB", "{\"cpus\":1,\"memoryMiB\":100,\"diskGiB\":1}")]
    [TestCase("template.swapMiB", "{\"cpus\":1,\"memoryMiB\":1024,\"diskGiB\":1,\"swapMiB\":-1}")]
    [TestCase("template", "null")]
    [TestCase("template.memoryMiB", "{\"cpus\":1,\"memoryMiB\":4611686018427387904,\"diskGiB\":1}")] // 2^62
    [TestCase("template.swapMiB", "{\"cpus\":1,\"memoryMiB\":1024,\"diskGiB\":1,\"swapMiB\":4611686018427387904}")]
    [TestCase("template.swapMiB", "{\"cpus\":1,\"memoryMiB\":1024,\"diskGiB\":1,\"swapMiB\":16777217}")] // 16 TiB + 1 MiB
    [TestCase("template.diskGiB", "{\"cpus\":1,\"memoryMiB\":1024,\"diskGiB\":4611686018427387904}")]
    [TestCase("template.cpus", "{\"cpus\":\"1\",\"memoryMiB\":1024,\"diskGiB\":1}")] // a number in a string
    [TestCase("template.swappiness", "{\"cpus\":1,\"memoryMiB\":1024,\"diskGiB\":1,\"swappiness\":\"1\"}")]
    [TestCase("shards", "4611686018427387904")]
    [TestCase("replicas", "\"2\"")]
    [TestCase("spread.maxPerDomain", "{\"domain\":\"rack\",\"maxPerDomain\":10,\"mode\":\"hard\"}")]
    public async Task A_bad_field_is_400_naming_it_and_creates_nothing(string field, string json)
    {
        var body = JsonNode.Parse(Cluster("bad-one"))!.AsObject();
        body[field.Split('.')[0]] = JsonNode.Parse(json);
        var before = await InstanceIdsAsync();

        using var response = await PostAsync(body.ToJsonString());

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        using var get = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync("/api/v1/clusters/bad-one");
        Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await InstanceIdsAsync(), Is.EquivalentTo(before), "no member was created");
    }

    [Test]
    public async Task A_template_larger_than_every_host_is_422_naming_memory_and_reserves_nothing()
    {
        var before = await InstanceIdsAsync();
        var body = JsonNode.Parse(Cluster("too-big"))!.AsObject();
        body["template"]!["memoryMiB"] = 1048576; // 1 TiB: allowed by the API, more than the 16 GiB hosts have

        using var response = await PostAsync(body.ToJsonString());

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("MiB free memory"), problem.ToString());
        using var get = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync("/api/v1/clusters/too-big");
        Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await InstanceIdsAsync(), Is.EquivalentTo(before));
    }

    private async Task<HashSet<string>> InstanceIdsAsync() =>
        [.. (await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/instances"))
            .EnumerateArray().Select(i => i.GetProperty("id").GetString()!)];

    [TestCase(null, HttpStatusCode.Unauthorized)]
    [TestCase(FakeApiKeyVerifier.Viewer, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Approver, HttpStatusCode.Forbidden)]
    public async Task Creating_needs_a_requester_or_admin_key(string? key, HttpStatusCode expected)
    {
        using var response = await PostAsync(Cluster("no-role"), key);

        await ProblemAssert.IsProblemAsync(response, expected);
        using var get = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync("/api/v1/clusters/no-role");
        Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task An_unknown_cluster_is_404()
    {
        using var response = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync("/api/v1/clusters/nothing-here");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }
}
