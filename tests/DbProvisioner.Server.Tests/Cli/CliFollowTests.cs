using System.Collections.Concurrent;
using System.Text.Json;
using DbProvisioner.Cli;
using DbProvisioner.Testing.Simulation;
using DbProvisioner.Server.Tests.Support;

namespace DbProvisioner.Server.Tests.Cli;

/// <summary>
/// <c>dbprov instance create</c> and <c>cluster create</c> follow with long polls (<c>?waitSeconds=N</c>, answered when
/// the instance settles), not with a request every half second. The requests are counted on the way to the server.
/// </summary>
[TestFixture]
[Category("Silo")]
public sealed class CliFollowTests
{
    private const string Pool = "follow-pool";

    private ShellApp app = null!;
    private SimulatedHostRuntimeFactory hosts = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        (app, hosts) = await GrainApp.StartAsync();
        await GrainApp.RegisterHostAsync(app, "follow-h1", Pool);
        await GrainApp.RegisterHostAsync(app, "follow-h2", Pool);
        // MySQL takes 2 s to answer: a poll every half second would ask four times per instance.
        hosts.Host("follow-h1").ReadyDelay = TimeSpan.FromSeconds(2);
        hosts.Host("follow-h2").ReadyDelay = TimeSpan.FromSeconds(2);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    private async Task<(int ExitCode, string Out, string Error, IReadOnlyList<Uri> Gets)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var recorder = new GetRecorder(app.CreateHandler());
        var environment = new CliEnvironment(output, error, _ => null, recorder);
        var exitCode = await CliApp.RunAsync([.. args, "--url", "http://localhost", "--key", FakeApiKeyVerifier.Requester, "-o", "json"], environment);
        return (exitCode, output.ToString(), error.ToString(), [.. recorder.Gets]);
    }

    [Test]
    public async Task Instance_create_waits_on_one_long_poll_until_Ready()
    {
        var (exitCode, output, error, gets) = await RunAsync("instance", "create", "--pool", Pool, "--cpus", "1", "--memory-mib", "1024", "--disk-gib", "1");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), error);
        Assert.Multiple(() =>
        {
            Assert.That(JsonDocument.Parse(output).RootElement.GetProperty("state").GetString(), Is.EqualTo("Ready"));
            Assert.That(gets.Select(g => g.PathAndQuery).ToList(), Has.Count.EqualTo(1).And.All.Contain("?waitSeconds="), "one request, answered when Ready");
        });
    }

    [Test]
    public async Task Cluster_create_long_polls_its_members_until_every_one_is_Ready()
    {
        var (exitCode, output, error, gets) = await RunAsync(
            "cluster", "create", "follow-c1", "--pool", Pool, "--shards", "1", "--replicas", "2", "--cpus", "1", "--memory-mib", "1024", "--disk-gib", "1");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), error);
        var members = JsonDocument.Parse(output).RootElement.GetProperty("members").EnumerateArray().ToList();
        var instanceGets = gets.Where(g => g.AbsolutePath.Contains("/instances/", StringComparison.Ordinal)).Select(g => g.PathAndQuery).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(members.Select(m => m.GetProperty("state").GetString()), Is.EqualTo(new[] { "Ready", "Ready" }));
            Assert.That(instanceGets, Is.Not.Empty.And.All.Contain("?waitSeconds="));
            Assert.That(instanceGets, Has.Count.LessThanOrEqualTo(members.Count), "at most one long poll per member");
        });
    }

    /// <summary>Passes every request on and records the GETs.</summary>
    private sealed class GetRecorder(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public ConcurrentQueue<Uri> Gets { get; } = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get && request.RequestUri is { } uri)
            {
                Gets.Enqueue(uri);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
