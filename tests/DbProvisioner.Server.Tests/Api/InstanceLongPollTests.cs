using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DbProvisioner.Testing.Simulation;
using DbProvisioner.Server.Tests.Support;
using static DbProvisioner.Server.Tests.Support.GrainApp;

namespace DbProvisioner.Server.Tests.Api;

/// <summary><c>GET /instances/{id}?waitSeconds=N</c>: a long poll on the instance grain's own wait, over the real grains.</summary>
[TestFixture]
[Category("Silo")]
public sealed class InstanceLongPollTests
{
    private const string Pool = "poll-pool";
    private const string HostId = "poll-h1";
    private const string Valid = """{"pool":"poll-pool","cpus":1,"memoryMiB":1024,"diskGiB":1}""";

    private ShellApp app = null!;
    private SimulatedHostRuntimeFactory hosts = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        (app, hosts) = await GrainApp.StartAsync();
        await RegisterHostAsync(app, HostId, Pool, disks: 4);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    private async Task<string> CreateAsync()
    {
        using var response = await app.CreateClient(FakeApiKeyVerifier.Requester).PostAsync("/api/v1/instances", Body(Valid));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private async Task<(JsonElement View, TimeSpan Took)> LongPollAsync(string id, int seconds)
    {
        var watch = Stopwatch.StartNew();
        var view = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>($"/api/v1/instances/{id}?waitSeconds={seconds}");
        return (view, watch.Elapsed);
    }

    [Test]
    public async Task The_long_poll_answers_as_soon_as_the_instance_settles()
    {
        // MySQL takes 2 s to answer: without the wait the answer would be ContainerStarted, with a full wait 30 s.
        hosts.Host(HostId).ReadyDelay = TimeSpan.FromSeconds(2);
        var id = await CreateAsync();

        var (view, took) = await LongPollAsync(id, 30);

        Assert.Multiple(() =>
        {
            Assert.That(view.GetProperty("state").GetString(), Is.EqualTo("Ready"), view.ToString());
            Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(20)), "answered when the instance settled, not at the deadline");
        });
    }

    [Test]
    public async Task At_the_deadline_the_long_poll_answers_the_current_state()
    {
        // MySQL does not answer within the test: the instance stays short of Ready.
        hosts.Host(HostId).ReadyDelay = TimeSpan.FromMinutes(5);
        var id = await CreateAsync();

        var (view, took) = await LongPollAsync(id, 1);

        Assert.Multiple(() =>
        {
            Assert.That(view.GetProperty("id").GetString(), Is.EqualTo(id));
            Assert.That(view.GetProperty("state").GetString(), Is.Not.AnyOf("Ready", "Failed"), view.ToString());
            Assert.That(took, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(950)), "waited until the deadline");
        });
    }

    [TestCase("61")]
    [TestCase("-1")]
    [TestCase("soon")]
    [TestCase("1.5")]
    public async Task A_wait_out_of_bounds_is_400_naming_waitSeconds(string seconds)
    {
        using var response = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync($"/api/v1/instances/i-nonesuch?waitSeconds={seconds}");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name), Is.EqualTo(new[] { "waitSeconds" }));
    }

    [Test]
    public async Task An_unknown_instance_is_404_at_once_even_with_a_wait()
    {
        var watch = Stopwatch.StartNew();
        using var response = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync("/api/v1/instances/i-nonesuch?waitSeconds=30");

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)));
    }
}
