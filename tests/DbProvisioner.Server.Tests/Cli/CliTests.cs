using System.Text.Json;
using DbProvisioner.Cli;
using DbProvisioner.Server.Tests.Support;

namespace DbProvisioner.Server.Tests.Cli;

/// <summary><c>dbprov</c> run in-process against the real server on a TestServer.</summary>
[TestFixture]
[Category("Fast")]
public sealed class CliTests
{
    private ServerFactory factory = null!;
    private string folder = null!;

    [OneTimeSetUp]
    public void Start()
    {
        factory = new ServerFactory();
        _ = factory.Server;
        folder = Directory.CreateTempSubdirectory("dbprov-cli-").FullName;
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await factory.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    private async Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var environment = new CliEnvironment(output, error, _ => null, factory.Server.CreateHandler());
        var exitCode = await CliApp.RunAsync(args, environment);
        return (exitCode, output.ToString(), error.ToString());
    }

    private string WriteConfig(object config)
    {
        var path = Path.Combine(folder, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config));
        return path;
    }

    [Test]
    public async Task Whoami_json_prints_the_key_id_and_role()
    {
        var (exitCode, output, error) = await RunAsync("whoami", "--url", "http://localhost", "--key", FakeApiKeyVerifier.Approver, "--output", "json");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), error);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("keyId").GetString(), Is.EqualTo("key-approver"));
            Assert.That(json.GetProperty("role").GetString(), Is.EqualTo("approver"));
        });
    }

    [Test]
    public async Task Whoami_reads_url_and_the_role_key_from_the_config_file()
    {
        var config = WriteConfig(new
        {
            url = "http://localhost",
            keys = new { viewer = FakeApiKeyVerifier.Viewer, requester = FakeApiKeyVerifier.Requester },
        });

        var viewer = await RunAsync("whoami", "--config", config);
        var requester = await RunAsync("whoami", "--config", config, "--role", "requester", "-o", "json");

        Assert.Multiple(() =>
        {
            Assert.That(viewer.ExitCode, Is.EqualTo(ExitCodes.Ok), viewer.Error);
            Assert.That(viewer.Out, Does.Contain("key-viewer"), "the table shows the key id");
            Assert.That(viewer.Out, Does.Not.Contain(FakeApiKeyVerifier.Viewer), "the key itself is never printed");
            Assert.That(requester.ExitCode, Is.EqualTo(ExitCodes.Ok), requester.Error);
            Assert.That(JsonDocument.Parse(requester.Out).RootElement.GetProperty("role").GetString(), Is.EqualTo("requester"));
        });
    }

    [Test]
    public async Task A_rejected_key_exits_5_with_the_servers_reason()
    {
        var (exitCode, _, error) = await RunAsync("whoami", "--url", "http://localhost", "--key", "wrong");

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(ExitCodes.Auth));
            Assert.That(error, Does.Contain("401").And.Contain("The API key is not valid."));
        });
    }

    [Test]
    public async Task No_key_anywhere_exits_2_without_calling_the_server()
    {
        var config = WriteConfig(new { url = "http://localhost", keys = new { } });

        var (exitCode, _, error) = await RunAsync("whoami", "--config", config);

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
            Assert.That(error, Does.Contain("No API key for role 'viewer'"));
        });
    }

    [Test]
    public async Task A_missing_explicit_config_file_exits_2()
    {
        var (exitCode, _, error) = await RunAsync("whoami", "--config", Path.Combine(folder, "absent.json"));

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
            Assert.That(error, Does.Contain("does not exist"));
        });
    }

    [TestCase("no-such-command")]
    [TestCase("whoami", "--output", "yaml")]
    [TestCase("whoami", "--role", "root")]
    public async Task A_bad_command_line_exits_2(params string[] args)
    {
        var (exitCode, _, _) = await RunAsync(args);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
    }

    [Test]
    public async Task Version_prints_client_and_server_versions_without_a_key()
    {
        var (exitCode, output, error) = await RunAsync("version", "--url", "http://localhost", "--config", WriteConfig(new { }), "-o", "json");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), error);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("client").GetString(), Is.Not.Empty);
            Assert.That(json.GetProperty("server").GetString(), Is.EqualTo(json.GetProperty("client").GetString()));
        });
    }

    [TestCase(400, ExitCodes.Rejected)]
    [TestCase(409, ExitCodes.Rejected)]
    [TestCase(422, ExitCodes.Rejected)]
    [TestCase(401, ExitCodes.Auth)]
    [TestCase(403, ExitCodes.Auth)]
    [TestCase(404, ExitCodes.NotFound)]
    [TestCase(500, ExitCodes.Failure)]
    [TestCase(503, ExitCodes.Failure)]
    public void Http_statuses_map_to_documented_exit_codes(int status, int exitCode) =>
        Assert.That(ExitCodes.FromHttpStatus(status), Is.EqualTo(exitCode));
}
