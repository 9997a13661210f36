using System.Net;
using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.Cli;
using DbProvisioner.Cli.Http;
using DbProvisioner.Contracts;
using DbProvisioner.Server.Tests.Support;

namespace DbProvisioner.Server.Tests.Cli;

/// <summary>
/// What <c>dbprov instance show</c> prints for fields only some runtimes fill (a kubelet's CPUs are read back; a Docker
/// host's are the ones given). The server's answer is a stored view served by a stub handler: no runtime here fills it.
/// </summary>
[TestFixture]
[Category("Fast")]
public sealed class CliRenderTests
{
    private sealed class OneView(InstanceView view) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(request.RequestUri!.AbsolutePath.EndsWith("/instances/i-1", StringComparison.Ordinal)
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(JsonSerializer.Serialize(view, DbProvisionerClient.Json), System.Text.Encoding.UTF8, "application/json") }
                : new HttpResponseMessage(HttpStatusCode.NotFound));
    }

    private static async Task<string> ShowAsync(InstanceView view)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await CliApp.RunAsync(["instance", "show", "i-1", "--url", "http://localhost", "--key", FakeApiKeyVerifier.Viewer], new CliEnvironment(output, error, _ => null, new OneView(view)));
        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), error.ToString());
        return output.ToString();
    }

    private static InstanceView View(string? observed, string? note) =>
        new("i-1", "Ready", null, new InstanceSpec("", "i-1", "primary", 2, 2048, 0, 1, 1, "nvme", NumaPolicy.Preferred, "pool", new SpreadSpec(SpreadDomain.Host, 1, SpreadMode.Hard)),
            "k8s://c/n1", "2-3", [0], "d01", "/dev/x", new EndpointView("10.0.0.1", 3306), [], 1, "alice", DateTimeOffset.UnixEpoch,
            ObservedCpuSet: observed, CpuSetNote: note);

    [Test]
    public async Task Instance_show_prints_the_cpus_the_kubelet_gave_beside_the_ones_reserved()
    {
        var shown = await ShowAsync(View("6-7", "other CPUs"));

        var line = shown.Split('\n').Single(static l => l.Contains("CPU set observed", StringComparison.Ordinal));
        Assert.That(line, Does.Contain("6-7 (other CPUs)"));
    }

    [Test]
    public async Task Instance_show_marks_no_observed_cpus_on_a_docker_host()
    {
        var shown = await ShowAsync(View(null, null));

        var line = shown.Split('\n').Single(static l => l.Contains("CPU set observed", StringComparison.Ordinal));
        Assert.That(line, Does.Not.Contain("6-7").And.Contains("-"));
    }
}
