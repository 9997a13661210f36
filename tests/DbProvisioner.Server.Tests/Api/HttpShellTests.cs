using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using DbProvisioner.Server.Metrics;
using DbProvisioner.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace DbProvisioner.Server.Tests.Api;

[TestFixture]
[Category("Fast")]
// The OpenTelemetry provider listens to every "DbProvisioner" meter in the process by name: a server host started by
// another fixture at the same time feeds or shadows this host's /metrics. One server per process, as in production.
[NonParallelizable]
public sealed class HttpShellTests
{
    private ServerFactory factory = null!;

    [OneTimeSetUp]
    public void StartServer() => factory = new ServerFactory();

    [OneTimeTearDown]
    public async Task StopServerAsync() => await factory.DisposeAsync();

    [Test]
    public async Task WhoAmI_without_a_key_is_401_problem_with_a_bearer_challenge()
    {
        using var response = await factory.CreateClient(key: null).GetAsync("/api/v1/whoami");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("Authorization: Bearer"));
            Assert.That(problem.GetProperty("instance").GetString(), Is.EqualTo("/api/v1/whoami"));
        });
    }

    [Test]
    public async Task WhoAmI_with_an_unknown_key_is_401_problem()
    {
        using var response = await factory.CreateClient("not-a-key").GetAsync("/api/v1/whoami");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo("The API key is not valid."));
    }

    [Test]
    public async Task WhoAmI_with_a_non_bearer_header_is_401_problem()
    {
        var client = factory.CreateClient(key: null);
        client.DefaultRequestHeaders.Add("Authorization", "Basic dXNlcjpwYXNz");

        using var response = await client.GetAsync("/api/v1/whoami");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("Bearer"));
    }

    [TestCase(FakeApiKeyVerifier.Viewer, "key-viewer", "viewer")]
    [TestCase(FakeApiKeyVerifier.Requester, "key-requester", "requester")]
    [TestCase(FakeApiKeyVerifier.Approver, "key-approver", "approver")]
    [TestCase(FakeApiKeyVerifier.Admin, "key-admin", "admin")]
    public async Task WhoAmI_answers_the_key_id_and_role(string key, string keyId, string role)
    {
        using var response = await factory.CreateClient(key).GetAsync("/api/v1/whoami");
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("keyId").GetString(), Is.EqualTo(keyId));
            Assert.That(json.GetProperty("role").GetString(), Is.EqualTo(role));
            Assert.That(body, Does.Not.Contain(key), "the key itself is never echoed");
        });
    }

    [Test]
    public async Task Unknown_route_is_404_problem()
    {
        using var response = await factory.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync("/api/v1/no-such-thing");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Healthz_is_200_without_a_key_and_reports_the_silo_and_version()
    {
        using var response = await factory.CreateClient(key: null).GetAsync("/healthz");
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("status").GetString(), Is.EqualTo("Healthy"));
            Assert.That(json.GetProperty("version").GetString(), Is.Not.Empty);
            // The test configuration turned the silo off; a real server reports Active (see SiloHealthTests).
            Assert.That(json.GetProperty("checks").GetProperty("silo").GetProperty("data").GetProperty("status").GetString(), Is.EqualTo("Disabled"));
        });
    }

    [Test]
    public async Task OpenApi_document_is_json_with_the_whoami_path_and_the_bearer_scheme()
    {
        using var response = await factory.CreateClient(key: null).GetAsync("/openapi/v1.json");
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("openapi").GetString(), Does.StartWith("3."));
            Assert.That(json.GetProperty("paths").TryGetProperty("/api/v1/whoami", out var whoami), Is.True);
            Assert.That(whoami.GetProperty("get").GetProperty("responses").TryGetProperty("401", out _), Is.True);
            var scheme = json.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
            Assert.That(scheme.GetProperty("scheme").GetString(), Is.EqualTo("bearer"));
        });
    }

    [Test]
    public async Task Api_reference_page_is_html_pointing_at_the_openapi_document()
    {
        using var response = await factory.CreateClient(key: null).GetAsync("/api/reference");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(body, Does.Contain("DbProvisioner API"));
            Assert.That(body, Does.Contain("openapi"));
        });
    }

    [Test]
    public async Task Metrics_serve_prometheus_text_with_the_step_histogram_and_pool_gauges()
    {
        var metrics = factory.Services.GetRequiredService<DbProvisionerMetrics>();
        metrics.RecordStepDuration("Placed", TimeSpan.FromMilliseconds(1500));
        using var source = metrics.RegisterFleetSource(() => new FleetMetricsSnapshot(
            new Dictionary<string, long> { ["Ready"] = 3, ["Failed"] = 1 },
            new Dictionary<string, long> { ["general"] = 12 },
            new Dictionary<string, long> { ["general"] = 4, ["high-io"] = 2 }));

        using var response = await factory.CreateClient(key: null).GetAsync("/metrics");
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
            Assert.That(body, Does.Contain("# TYPE dbprov_provisioning_step_duration_seconds histogram"));
            Assert.That(body, Does.Match("""dbprov_provisioning_step_duration_seconds_bucket\{[^}]*step="Placed"[^}]*le="2"[^}]*\} 1"""));
            Assert.That(body, Does.Match("""dbprov_instances\{[^}]*state="Ready"[^}]*\} 3"""));
            Assert.That(body, Does.Match("""dbprov_pool_free_cores\{[^}]*pool="general"[^}]*\} 12"""));
            Assert.That(body, Does.Match("""dbprov_pool_ready_disks\{[^}]*pool="high-io"[^}]*\} 2"""));
        });
    }

    [Test]
    public async Task Fleet_gauges_disappear_when_their_source_is_unregistered()
    {
        var metrics = factory.Services.GetRequiredService<DbProvisionerMetrics>();
        var source = metrics.RegisterFleetSource(() => new FleetMetricsSnapshot(
            new Dictionary<string, long>(), new Dictionary<string, long> { ["gone-pool"] = 7 }, new Dictionary<string, long>()));
        source.Dispose();

        var body = await factory.CreateClient(key: null).GetStringAsync("/metrics");

        Assert.That(Regex.IsMatch(body, "pool=\"gone-pool\""), Is.False);
    }
}
