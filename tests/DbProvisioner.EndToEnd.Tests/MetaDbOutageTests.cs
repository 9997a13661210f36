using System.Diagnostics;
using System.Net;
using System.Text.Json;
using DbProvisioner.EndToEnd.Tests.Support;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>
/// Issue 9: the meta database stopped for 30 s under a running server. The API answers 503 with problem details
/// (never a 500, never a hang), /healthz names the meta database as the reason, and everything resumes by itself.
/// </summary>
[TestFixture]
public sealed class MetaDbOutageTests : E2eFixture
{
    private const string MetaContainer = "dbprov-meta";
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(1000);

    [Test]
    public async Task With_the_meta_database_down_the_API_answers_503_and_resumes_by_itself()
    {
        var before = await E2eRequests.CreateInstanceAsync(E2e.Requester, E2eRequests.Instance());
        await ApiClient.WaitSettledAsync(E2e.Requester, before, E2eRequests.ReadyTimeout);

        var down = Stopwatch.StartNew();
        await DockerAsync("stop", "-t", "5", MetaContainer);
        try
        {
            var answers = new List<HttpStatusCode>();
            while (down.Elapsed < Outage)
            {
                var call = Stopwatch.StartNew();
                using var created = await E2e.Requester.PostAsync("instances", E2eRequests.Instance());
                Assert.That(call.Elapsed, Is.LessThan(AnswerWithin), "a request during the outage hung");
                answers.Add(created.StatusCode);
                Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), await created.Content.ReadAsStringAsync());
                var problem = await Problem.ReadAsync(created);
                Assert.Multiple(() =>
                {
                    Assert.That(problem.ContentType, Is.EqualTo("application/problem+json"));
                    Assert.That(problem.Title, Does.Contain("meta database"));
                    Assert.That(created.Headers.RetryAfter, Is.Not.Null, "a 503 says when to retry");
                });

                using var health = await E2e.Anonymous.GetAsync("/healthz");
                var body = await health.Content.ReadAsStringAsync();
                Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body);
                using var json = JsonDocument.Parse(body);
                var metaDb = json.RootElement.GetProperty("checks").GetProperty("metaDb");
                Assert.That(metaDb.GetProperty("status").GetString(), Is.EqualTo("Unhealthy"));
                Assert.That(metaDb.GetProperty("description").GetString(), Does.Contain("meta database"));
                using var live = await E2e.Anonymous.GetAsync("/healthz/live");
                Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK), "alive while the meta database is away: a liveness probe must not restart the silo");
                await Task.Delay(Pace); // a steady trickle of requests, not a flood
            }

            await TestContext.Progress.WriteLineAsync($"[e2e] {answers.Count} requests during a {Outage.TotalSeconds:0} s outage: all 503");
        }
        catch
        {
            await DockerAsync("start", MetaContainer);
            await MetaServer.WaitAnsweringAsync(TimeSpan.FromMinutes(2));
            throw;
        }

        // Back: time from `docker start` until the API takes a request again, from the API's view.
        var back = Stopwatch.StartNew();
        await DockerAsync("start", MetaContainer);
        string? after;
        try
        {
            after = await Eventually.UntilAsync(async () =>
                {
                    using var created = await E2e.Requester.PostAsync("instances", E2eRequests.Instance());
                    if (created.StatusCode == HttpStatusCode.Accepted)
                    {
                        using var doc = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
                        return doc.RootElement.GetProperty("id").GetString();
                    }

                    Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "while the database comes back the API answers 503, nothing else");
                    return null;
                },
                static id => id is not null, TimeSpan.FromMinutes(2), "the API to accept a request after the meta database's return",
                static _ => "503", Pace / 4);
        }
        catch (TimeoutException)
        {
            await MetaServer.WaitAnsweringAsync(TimeSpan.FromMinutes(2));
            throw;
        }

        await TestContext.Progress.WriteLineAsync($"[e2e] the API accepted a request {back.Elapsed.TotalSeconds:F1} s after the meta database was started again");
        using (var health = await E2e.Anonymous.GetAsync("/healthz"))
        {
            Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK), await health.Content.ReadAsStringAsync());
        }

        var ready = await ApiClient.WaitSettledAsync(E2e.Requester, after!, E2eRequests.ReadyTimeout);
        Assert.That(ready.State, Is.EqualTo("Ready"), E2eRequests.Describe(ready));
        var first = await E2e.Requester.GetInstanceAsync(before);
        Assert.That(first.State, Is.EqualTo("Ready"), "the instance from before the outage is untouched");
        var listed = await E2e.Requester.ListInstancesAsync();
        Assert.That(listed.Select(static i => (i.Id, i.State)), Is.SupersetOf(new[] { (before, "Ready"), (after!, "Ready") }), "list and detail agree");
    }

    private static async Task DockerAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.That(process.ExitCode, Is.EqualTo(0), $"docker {string.Join(' ', arguments)}: {error}");
    }
}
