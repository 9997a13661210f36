using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DbProvisioner.Server.Tests.Support;
using static DbProvisioner.Server.Tests.Support.GrainApp;

namespace DbProvisioner.Server.Tests.Api;

/// <summary><c>/api/v1/hosts</c> over the real grains (in-memory storage, simulated hosts).</summary>
[TestFixture]
[Category("Silo")]
public sealed class HostsApiTests
{
    private ShellApp app = null!;
    private int counter;

    [OneTimeSetUp]
    public async Task StartAsync() => (app, _) = await GrainApp.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    private static string Mutate(string id, Action<JsonObject> change)
    {
        var body = JsonNode.Parse(HostJson(id, "hosts-pool"))!.AsObject();
        change(body);
        return body.ToJsonString();
    }

    [Test]
    public async Task Registering_answers_201_with_the_cpu_map_and_the_host_is_listed()
    {
        using var response = await RegisterHostAsync(app, "h-ok", "hosts-pool");
        var host = await response.Content.ReadFromJsonAsync<JsonElement>();
        var list = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/hosts");
        var shown = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/hosts/h-ok");

        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo("/api/v1/hosts/h-ok"));
            Assert.That(host.GetProperty("numaNodes")[0].GetProperty("cores").GetArrayLength(), Is.EqualTo(4));
            Assert.That(list.EnumerateArray().Select(h => h.GetProperty("id").GetString()), Does.Contain("h-ok"));
            Assert.That(shown.GetProperty("pool").GetString(), Is.EqualTo("hosts-pool"));
            Assert.That(shown.GetProperty("disks").GetArrayLength(), Is.EqualTo(2));
        });
    }

    [TestCase("id", "\"Bad_Id\"")]
    [TestCase("id", "\"\"")]
    [TestCase("engineEndpoint", "\"http://docker:2375\"")]
    [TestCase("engineEndpoint", "\"unix://\"")]
    [TestCase("zone", "\"\"")]
    [TestCase("rack", "\"rack one\"")]
    [TestCase("pool", "null")]
    [TestCase("reservedCpus", "\"0-x\"")]
    [TestCase("ports", "{\"first\": 80, \"last\": 90}")]
    [TestCase("ports", "{\"first\": 3500, \"last\": 3400}")]
    [TestCase("ports", "{\"first\": 3400, \"last\": 70000}")]
    [TestCase("ports", "null")]
    [TestCase("topology.numaNodes", "{\"numaNodes\": 0, \"coresPerNode\": 4, \"threadsPerCore\": 1, \"memoryMiBPerNode\": 1024}")]
    [TestCase("topology.memoryMiBPerNode", "{\"numaNodes\": 1, \"coresPerNode\": 4, \"threadsPerCore\": 1, \"memoryMiBPerNode\": -5}")]
    [TestCase("swapMiB", "-1")]
    [TestCase("disks[0].device", "[{\"device\": \"sdb\", \"sizeGiB\": 2}]")]
    [TestCase("disks[0].sizeGiB", "[{\"device\": \"/dev/sdb\", \"sizeGiB\": 0}]")]
    [TestCase("disks[0].sizeGiB", "[{\"device\": \"/dev/sdb\", \"sizeGiB\": 4611686018427387904}]")] // 2^62
    [TestCase("disks[0].sizeGiB", "[{\"device\": \"/dev/sdb\", \"sizeGiB\": \"2\"}]")] // a number in a string
    [TestCase("topology.memoryMiBPerNode", "{\"numaNodes\": 2, \"coresPerNode\": 4, \"threadsPerCore\": 1, \"memoryMiBPerNode\": 4611686018427387904}")]
    [TestCase("topology.coresPerNode", "{\"numaNodes\": 1, \"coresPerNode\": \"4\", \"threadsPerCore\": 1, \"memoryMiBPerNode\": 1024}")]
    [TestCase("ports.first", "{\"first\": \"3400\", \"last\": 3499}")]
    [TestCase("reservedCpus", "\"0-70000\"")]
    [TestCase("watermarks[0]", "[{\"class\": \"standard\", \"minReady\": 2000, \"minSeeded\": 0}]")]
    [TestCase("disks[1].device", "[{\"device\": \"/dev/sdb\", \"sizeGiB\": 2}, {\"device\": \"/dev/sdb\", \"sizeGiB\": 2}]")]
    public async Task A_bad_field_is_400_naming_it_and_registers_nothing(string field, string json)
    {
        var id = $"h-bad-{Interlocked.Increment(ref counter)}";
        var top = field.Split('.', '[')[0];
        var body = Mutate(id, b => b[top] = JsonNode.Parse(json));
        var before = await HostListAsync();

        using var response = await app.CreateClient(FakeApiKeyVerifier.Admin).PostAsync("/api/v1/hosts", Body(body));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        await AssertHostAbsentAsync(id);
        Assert.That(await HostListAsync(), Is.EqualTo(before), "the host list is unchanged");
    }

    [Test]
    public async Task Reserved_cpus_the_host_lacks_are_400_naming_reservedCpus_from_the_grain()
    {
        using var response = await app.CreateClient(FakeApiKeyVerifier.Admin)
            .PostAsync("/api/v1/hosts", Body(Mutate("h-cpu", b => b["reservedCpus"] = "7")));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").TryGetProperty("reservedCpus", out _), Is.True, problem.ToString());
        await AssertHostAbsentAsync("h-cpu");
    }

    [Test]
    public async Task Malformed_json_is_400_and_registers_nothing()
    {
        using var response = await app.CreateClient(FakeApiKeyVerifier.Admin).PostAsync("/api/v1/hosts", Body("{\"id\": \"h-json\", "));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        await AssertHostAbsentAsync("h-json");
    }

    [Test]
    public async Task Registering_again_in_another_pool_is_409()
    {
        await RegisterHostAsync(app, "h-twice", "hosts-pool");

        using var response = await app.CreateClient(FakeApiKeyVerifier.Admin).PostAsync("/api/v1/hosts", Body(HostJson("h-twice", "other-pool")));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
        var host = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/hosts/h-twice");
        Assert.That(host.GetProperty("pool").GetString(), Is.EqualTo("hosts-pool"));
    }

    [TestCase(null, HttpStatusCode.Unauthorized)]
    [TestCase(FakeApiKeyVerifier.Viewer, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Requester, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Approver, HttpStatusCode.Forbidden)]
    public async Task Only_admin_registers_hosts(string? key, HttpStatusCode expected)
    {
        var id = "h-role-" + (key?.Split('-')[1] ?? "none");
        using var response = await app.CreateClient(key).PostAsync("/api/v1/hosts", Body(HostJson(id, "hosts-pool")));

        await ProblemAssert.IsProblemAsync(response, expected);
        await AssertHostAbsentAsync(id);
    }

    [Test]
    public async Task Listing_without_a_key_is_401()
    {
        using var response = await app.CreateClient(key: null).GetAsync("/api/v1/hosts");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [Test]
    public async Task Cordon_defaults_to_true_and_can_be_lifted()
    {
        await RegisterHostAsync(app, "h-cordon", "hosts-pool");
        var admin = app.CreateClient(FakeApiKeyVerifier.Admin);

        var cordoned = await (await admin.PostAsync("/api/v1/hosts/h-cordon/cordon", content: null)).Content.ReadFromJsonAsync<JsonElement>();
        var lifted = await (await admin.PostAsync("/api/v1/hosts/h-cordon/cordon", Body("{\"cordoned\": false}"))).Content.ReadFromJsonAsync<JsonElement>();
        using var viewer = await app.CreateClient(FakeApiKeyVerifier.Viewer).PostAsync("/api/v1/hosts/h-cordon/cordon", content: null);

        Assert.Multiple(() =>
        {
            Assert.That(cordoned.GetProperty("cordoned").GetBoolean(), Is.True);
            Assert.That(lifted.GetProperty("cordoned").GetBoolean(), Is.False);
            Assert.That(viewer.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        });
    }

    [TestCase("/api/v1/hosts/no-such-host")]
    [TestCase("/api/v1/hosts/Not_An_Id")]
    public async Task Unknown_hosts_are_404(string path)
    {
        using var get = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync(path);
        using var cordon = await app.CreateClient(FakeApiKeyVerifier.Admin).PostAsync(path + "/cordon", content: null);

        await ProblemAssert.IsProblemAsync(get, HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(cordon, HttpStatusCode.NotFound);
    }

    private async Task<string> HostListAsync() => await app.CreateClient(FakeApiKeyVerifier.Viewer).GetStringAsync("/api/v1/hosts");

    private async Task AssertHostAbsentAsync(string id)
    {
        using var response = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync($"/api/v1/hosts/{id}");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), $"host {id} must not exist");
        var list = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/hosts");
        Assert.That(list.EnumerateArray().Select(h => h.GetProperty("id").GetString()), Does.Not.Contain(id));
    }
}
