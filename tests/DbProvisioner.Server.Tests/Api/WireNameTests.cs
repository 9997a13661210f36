using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DbProvisioner.Server.Tests.Api;

/// <summary>
/// The API's enums on the wire: the names they had as strings, parsed once at the edge, and a name a field does not
/// take answered with 400 naming the field and the names it does take. Checked on a test-only echo endpoint.
/// </summary>
[TestFixture]
[Category("Fast")]
public sealed class WireNameTests
{
    private ShellApp app = null!;

    public sealed record Vocabulary(
        NumaPolicy? Numa = null, SpreadSpec? Spread = null, IReadOnlyList<RiskSeverity>? Severities = null, IReadOnlyList<RiskCode>? Codes = null);

    [OneTimeSetUp]
    public async Task StartAsync() => app = await ShellApp.StartAsync(api =>
        api.MapPost("/test/vocabulary", (Vocabulary body) => TypedResults.Ok(body)).RequireAuthorization(ApiPolicies.Request));

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    private Task<HttpResponseMessage> PostAsync(string json) =>
        app.CreateClient(FakeApiKeyVerifier.Requester).PostAsync("/api/v1/test/vocabulary", new StringContent(json, Encoding.UTF8, "application/json"));

    [Test]
    public async Task Enums_are_written_with_the_names_the_strings_had()
    {
        using var response = await PostAsync("""{"numa":"interleave","spread":{"domain":"rack","maxPerDomain":2,"mode":"soft"},"severities":["Blocking","Warning"],"codes":["last-member","primary-with-replicas"]}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        Assert.That(
            await response.Content.ReadAsStringAsync(),
            Is.EqualTo("""{"numa":"interleave","spread":{"domain":"rack","maxPerDomain":2,"mode":"soft"},"severities":["Blocking","Warning"],"codes":["last-member","primary-with-replicas"]}"""));
    }

    [Test]
    public async Task A_name_in_another_case_is_read_as_before()
    {
        using var response = await PostAsync("""{"numa":"Required","spread":{"domain":"ZONE","maxPerDomain":1,"mode":"Hard"}}""");

        var echoed = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Multiple(() =>
        {
            Assert.That(echoed.GetProperty("numa").GetString(), Is.EqualTo("required"), echoed.ToString());
            Assert.That(echoed.GetProperty("spread").GetProperty("domain").GetString(), Is.EqualTo("zone"));
        });
    }

    [TestCase("""{"numa":"sometimes"}""", "numa", "must be one of required, preferred, interleave, none")]
    [TestCase("""{"numa":1}""", "numa", "must be one of required, preferred, interleave, none")]
    [TestCase("""{"numa":"1"}""", "numa", "must be one of required, preferred, interleave, none")]
    [TestCase("""{"spread":{"domain":"planet","maxPerDomain":1,"mode":"hard"}}""", "spread.domain", "must be one of host, rack, zone")]
    [TestCase("""{"spread":{"domain":"host","maxPerDomain":1,"mode":"strict"}}""", "spread.mode", "must be one of hard, soft")]
    [TestCase("""{"severities":["Warning","fatal"]}""", "severities[1]", "must be one of Blocking, Warning")]
    [TestCase("""{"codes":["last-member","no-risk"]}""", "codes[1]",
        "must be one of unknown-member, primary-with-replicas, last-member, below-minimum, spread-broken, spread-reduced, replication-lag, open-connections")]
    public async Task A_name_the_field_does_not_take_is_400_naming_the_field_and_its_names(string json, string field, string message)
    {
        using var response = await PostAsync(json);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name), Is.EqualTo(new[] { field }), problem.ToString());
            Assert.That(problem.GetProperty("errors").GetProperty(field)[0].GetString(), Is.EqualTo(message));
        });
    }
}
