using System.Net;
using System.Text;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Tests.Support;
using DbProvisioner.Server.Validation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DbProvisioner.Server.Tests.Api;

/// <summary>Error answers of the /api/v1 group, checked on test-only endpoints mapped into the real composition.</summary>
[TestFixture]
[Category("Fast")]
public sealed class RequestErrorTests
{
    private ShellApp app = null!;

    public sealed record TestInstanceRequest(string Pool, int Cpus, long MemoryMiB, long SwapMiB = 0) : IValidatableRequest
    {
        public void Validate(RequestValidator validator) => validator
            .Required(Pool)
            .Check(Cpus > 0, Cpus, "must be at least 1")
            .Check(MemoryMiB >= 256, MemoryMiB, "must be at least 256")
            .Check(SwapMiB >= 0, SwapMiB, "must not be negative");
    }

    [OneTimeSetUp]
    public async Task StartAsync() => app = await ShellApp.StartAsync(api =>
    {
        api.MapPost("/test/instances", (TestInstanceRequest request) => TypedResults.Accepted("/api/v1/test/instances/1", request))
            .RequireAuthorization(ApiPolicies.Request)
            .WithRequestValidation<TestInstanceRequest>();
        api.MapPost("/test/approve", () => TypedResults.Ok("approved")).RequireAuthorization(ApiPolicies.Approve);
        api.MapGet("/test/admin", () => TypedResults.Ok("admin")).RequireAuthorization(ApiPolicies.Admin);
        api.MapGet("/test/boom", IResult () => throw new InvalidOperationException("secret internals: password=hunter2"));
    });

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    private Task<HttpResponseMessage> PostAsync(string json, string key = FakeApiKeyVerifier.Requester) =>
        app.CreateClient(key).PostAsync("/api/v1/test/instances", new StringContent(json, Encoding.UTF8, "application/json"));

    [Test]
    public async Task Malformed_json_is_400_problem_naming_line_and_position()
    {
        using var response = await PostAsync("{\n  \"pool\": \"general\",\n  \"cpus\": 2,,\n}");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("line").GetInt64(), Is.EqualTo(3));
            Assert.That(problem.GetProperty("position").GetInt64(), Is.GreaterThan(1));
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("line 3, position"));
        });
    }

    [Test]
    public async Task A_value_of_the_wrong_type_is_400_problem_naming_the_field()
    {
        using var response = await PostAsync("""{"pool":"general","cpus":"two","memoryMiB":1024}""");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("field").GetString(), Is.EqualTo("cpus"));
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("'cpus'"));
        });
    }

    [TestCase("""{"pool":"general","cpus":"1","memoryMiB":1024}""", "cpus", "must be a JSON number")]
    [TestCase("""{"pool":"general","cpus":1,"memoryMiB":"1024"}""", "memoryMiB", "must be a JSON number")]
    [TestCase("""{"pool":"general","cpus":4611686018427387904,"memoryMiB":1024}""", "cpus", "2147483647")]
    [TestCase("""{"pool":"general","cpus":1,"memoryMiB":1024,"swapMiB":1e3}""", "swapMiB", "whole number")]
    public async Task A_number_that_is_a_string_or_does_not_fit_its_field_is_400_keyed_by_the_field(string json, string field, string message)
    {
        using var response = await PostAsync(json);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("field").GetString(), Is.EqualTo(field));
            Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name), Is.EqualTo(new[] { field }));
            Assert.That(problem.GetProperty("errors").GetProperty(field)[0].GetString(), Does.Contain(message));
        });
    }

    [Test]
    public async Task An_unknown_field_is_400_problem_naming_it()
    {
        using var response = await PostAsync("""{"pool":"general","cpus":2,"memoryMiB":1024,"memoryMb":1}""");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("memoryMb"));
    }

    [Test]
    public async Task A_missing_required_field_is_400_problem_naming_it()
    {
        using var response = await PostAsync("""{"pool":"general","cpus":2}""");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("memoryMiB"));
    }

    [Test]
    public async Task An_empty_body_is_400_problem()
    {
        using var response = await PostAsync(string.Empty);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Test]
    public async Task Invalid_values_are_a_validation_problem_keyed_by_json_field_name()
    {
        using var response = await PostAsync("""{"pool":" ","cpus":0,"memoryMiB":64,"swapMiB":-1}""");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.Multiple(() =>
        {
            Assert.That(errors.EnumerateObject().Select(e => e.Name), Is.EquivalentTo(new[] { "pool", "cpus", "memoryMiB", "swapMiB" }));
            Assert.That(errors.GetProperty("cpus")[0].GetString(), Is.EqualTo("must be at least 1"));
            Assert.That(errors.GetProperty("memoryMiB")[0].GetString(), Is.EqualTo("must be at least 256"));
        });
    }

    [Test]
    public async Task A_valid_request_reaches_the_handler()
    {
        using var response = await PostAsync("""{"pool":"general","cpus":2,"memoryMiB":1024}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
    }

    [TestCase(FakeApiKeyVerifier.Viewer, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Approver, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Requester, HttpStatusCode.Accepted)]
    [TestCase(FakeApiKeyVerifier.Admin, HttpStatusCode.Accepted)]
    public async Task Creating_needs_the_requester_or_admin_role(string key, HttpStatusCode expected)
    {
        using var response = await PostAsync("""{"pool":"general","cpus":2,"memoryMiB":1024}""", key);

        if (expected == HttpStatusCode.Forbidden)
        {
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("role"));
        }
        else
        {
            Assert.That(response.StatusCode, Is.EqualTo(expected));
        }
    }

    [Test]
    public async Task Role_is_checked_before_the_body_is_read()
    {
        using var response = await PostAsync("{ not json", FakeApiKeyVerifier.Viewer);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
    }

    [TestCase(FakeApiKeyVerifier.Viewer, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Requester, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Approver, HttpStatusCode.OK)]
    [TestCase(FakeApiKeyVerifier.Admin, HttpStatusCode.OK)]
    public async Task Approving_needs_the_approver_or_admin_role(string key, HttpStatusCode expected)
    {
        using var response = await app.CreateClient(key).PostAsync("/api/v1/test/approve", content: null);

        Assert.That(response.StatusCode, Is.EqualTo(expected));
    }

    [TestCase(FakeApiKeyVerifier.Viewer, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Requester, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Approver, HttpStatusCode.Forbidden)]
    [TestCase(FakeApiKeyVerifier.Admin, HttpStatusCode.OK)]
    public async Task Admin_endpoints_need_the_admin_role(string key, HttpStatusCode expected)
    {
        using var response = await app.CreateClient(key).GetAsync("/api/v1/test/admin");

        Assert.That(response.StatusCode, Is.EqualTo(expected));
    }

    [Test]
    public async Task An_unhandled_exception_is_500_problem_without_internals()
    {
        using var response = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync("/api/v1/test/boom");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Multiple(() =>
        {
            Assert.That(problem.ToString(), Does.Not.Contain("hunter2"));
            Assert.That(problem.TryGetProperty("traceId", out _), Is.True);
        });
    }
}
