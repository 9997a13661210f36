using System.Text.Json;
using System.Text.Json.Nodes;
using DbProvisioner.Cli;
using DbProvisioner.Server.Tests.Support;

namespace DbProvisioner.Server.Tests.Cli;

/// <summary><c>dbprov host|instance|cluster</c> in-process against the server with the real grains (simulated hosts).</summary>
[TestFixture]
[Category("Silo")]
public sealed class CliGrainTests
{
    private ShellApp app = null!;
    private Testing.Simulation.SimulatedHostRuntimeFactory hosts = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => (app, hosts) = await GrainApp.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    private async Task<(int ExitCode, string Out, string Error)> RunAsync(string key, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var environment = new CliEnvironment(output, error, _ => null, app.CreateHandler());
        var exitCode = await CliApp.RunAsync([.. args, "--url", "http://localhost", "--key", key], environment);
        return (exitCode, output.ToString(), error.ToString());
    }

    private async Task AddHostAsync(string id, string pool, int disks = 2, params string[] more)
    {
        var diskArgs = Enumerable.Range(0, disks).SelectMany(i => new[] { "--disk", $"/dev/sim-{id}-{i}:2" });
        var (exitCode, _, error) = await RunAsync(
            FakeApiKeyVerifier.Admin,
            ["host", "add", id, "--engine", $"tcp://{id}.sim:2375", "--zone", "z1", "--rack", "r1", "--pool", pool,
                .. diskArgs, "--ports", "3400-3409", "--topology", "1x4x1x16384", .. more]);
        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), error);
        await GrainApp.WaitDisksReadyAsync(app, id);
    }

    [Test]
    public async Task Instance_create_follows_to_Ready_and_prints_the_mysql_line_but_no_password()
    {
        await AddHostAsync("cli-h1", "cli-pool");

        var (exitCode, output, error) = await RunAsync(
            FakeApiKeyVerifier.Requester, "instance", "create", "--pool", "cli-pool", "--cpus", "1", "--memory-mib", "1024", "--disk-gib", "1");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), output + error);
        var id = System.Text.RegularExpressions.Regex.Match(output, "i-[a-z2-7]{10}").Value;
        var credentials = await RunAsync(FakeApiKeyVerifier.Requester, "instance", "credentials", id, "-o", "json");
        var password = JsonDocument.Parse(credentials.Out).RootElement.GetProperty("password").GetString()!;
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("Placed").And.Contain("ContainerStarted").And.Contain("Ready"));
            Assert.That(output, Does.Match(@"mysql -h 127\.0\.0\.1 -P 34\d\d -u root -p"));
            Assert.That(output, Does.Not.Contain(password), "the password is only printed by 'instance credentials'");
            Assert.That(credentials.ExitCode, Is.EqualTo(ExitCodes.Ok), credentials.Error);
        });
    }

    [Test]
    public async Task Instance_create_json_prints_only_the_final_instance()
    {
        await AddHostAsync("cli-h2", "cli-json");

        var (exitCode, output, error) = await RunAsync(
            FakeApiKeyVerifier.Requester, "instance", "create", "--pool", "cli-json", "--cpus", "1", "--memory-mib", "1024", "--disk-gib", "1", "-o", "json");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), error);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("state").GetString(), Is.EqualTo("Ready"));
            Assert.That(json.GetProperty("endpoint").GetProperty("port").GetInt32(), Is.InRange(3400, 3409));
        });
    }

    [Test]
    public async Task Instance_create_no_wait_returns_the_accepted_id()
    {
        await AddHostAsync("cli-h3", "cli-nowait");

        var (exitCode, output, error) = await RunAsync(
            FakeApiKeyVerifier.Requester, "instance", "create", "--pool", "cli-nowait", "--cpus", "1", "--memory-mib", "1024", "--disk-gib", "1",
            "--no-wait", "-o", "json");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), error);
        Assert.That(JsonDocument.Parse(output).RootElement.GetProperty("id").GetString(), Does.StartWith("i-"));
    }

    [Test]
    public async Task An_instance_that_cannot_be_placed_exits_4_with_the_reason()
    {
        await AddHostAsync("cli-h4", "cli-small");

        var (exitCode, _, error) = await RunAsync(
            FakeApiKeyVerifier.Requester, "instance", "create", "--pool", "cli-small", "--cpus", "64", "--memory-mib", "1024", "--disk-gib", "1");

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(ExitCodes.Rejected));
            Assert.That(error, Does.Contain("failed"));
        });
    }

    [Test]
    public async Task Bad_input_exits_4_naming_the_field()
    {
        var (exitCode, _, error) = await RunAsync(
            FakeApiKeyVerifier.Requester, "instance", "create", "--pool", "nowhere", "--cpus", "0", "--memory-mib", "1024", "--disk-gib", "1");

        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(ExitCodes.Rejected));
            Assert.That(error, Does.Contain("cpus:"));
        });
    }

    [Test]
    public async Task Host_inspect_lists_no_drift_until_a_cpuset_is_changed_by_hand_then_that_drift_with_its_fix()
    {
        await AddHostAsync("cli-h9", "cli-inspect");
        var created = await RunAsync(
            FakeApiKeyVerifier.Requester, "instance", "create", "--pool", "cli-inspect", "--cpus", "1", "--memory-mib", "1024", "--disk-gib", "1", "-o", "json");
        var id = JsonDocument.Parse(created.Out).RootElement.GetProperty("id").GetString()!;
        var ready = await GrainApp.WaitSettledAsync(app, id);
        var cpus = ready.GetProperty("cpuSet").GetString()!;

        var clean = await RunAsync(FakeApiKeyVerifier.Viewer, "host", "inspect", "cli-h9");
        var moved = cpus == "0" ? "3" : "0";
        hosts.Host("cli-h9").UpdateCpusetByHand(id, moved);
        var drifted = await RunAsync(FakeApiKeyVerifier.Viewer, "host", "inspect", "cli-h9", "-o", "json");
        var unknown = await RunAsync(FakeApiKeyVerifier.Viewer, "host", "inspect", "no-such-host");

        Assert.Multiple(() =>
        {
            Assert.That(clean.ExitCode, Is.EqualTo(ExitCodes.Ok), clean.Error);
            Assert.That(clean.Out, Does.Contain("No drift"));
            Assert.That(drifted.ExitCode, Is.EqualTo(ExitCodes.Ok), drifted.Error);
            Assert.That(unknown.ExitCode, Is.EqualTo(ExitCodes.NotFound), unknown.Out + unknown.Error);
        });
        var drifts = JsonDocument.Parse(drifted.Out).RootElement.GetProperty("drifts");
        Assert.That(drifts.GetArrayLength(), Is.EqualTo(1), drifted.Out);
        Assert.Multiple(() =>
        {
            Assert.That(drifts[0].GetProperty("kind").GetString(), Is.EqualTo("cpuset-cpus"));
            Assert.That(drifts[0].GetProperty("instance").GetString(), Is.EqualTo(id));
            Assert.That(drifts[0].GetProperty("found").GetString(), Is.EqualTo(moved));
            Assert.That(drifts[0].GetProperty("fix").GetString(), Does.Contain($"docker update --cpuset-cpus {cpus} dbprov-{id}"));
        });
    }

    [Test]
    public async Task Host_show_prints_the_cpu_map_per_numa_node_the_swap_and_the_disks()
    {
        await AddHostAsync("cli-h5", "cli-show", 2, "--swap-mib", "2048");
        var created = await RunAsync(
            FakeApiKeyVerifier.Requester, "instance", "create", "--pool", "cli-show", "--cpus", "1", "--memory-mib", "1024", "--swap-mib", "256", "--disk-gib", "1", "-o", "json");
        var id = JsonDocument.Parse(created.Out).RootElement.GetProperty("id").GetString()!;

        var (exitCode, output, error) = await RunAsync(FakeApiKeyVerifier.Viewer, "host", "show", "cli-h5");

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), error);
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("NUMA node 0"));
            Assert.That(output, Does.Contain("1792/2048 MiB free"), "the swap the instance holds is not free");
            Assert.That(output, Does.Contain(id), "the core held by the instance names it");
            Assert.That(output, Does.Contain("sim-cli-h5-0").And.Contain("Claimed"), "the disk table (device paths wrap at 80 columns)");
        });
    }

    [Test]
    public async Task Cluster_create_and_show()
    {
        // Disks and cores to spare: only the spread rule can refuse the third member.
        await AddHostAsync("cli-c1", "cli-cluster", disks: 4);
        await AddHostAsync("cli-c2", "cli-cluster", disks: 4);

        var created = await RunAsync(
            FakeApiKeyVerifier.Requester, "cluster", "create", "cli-orders", "--pool", "cli-cluster", "--replicas", "2",
            "--cpus", "1", "--memory-mib", "1024", "--disk-gib", "1", "-o", "json");
        var tooWide = await RunAsync(
            FakeApiKeyVerifier.Requester, "cluster", "create", "cli-wide", "--pool", "cli-cluster", "--replicas", "3",
            "--cpus", "1", "--memory-mib", "1024", "--disk-gib", "1");
        var shown = await RunAsync(FakeApiKeyVerifier.Viewer, "cluster", "show", "cli-orders");

        Assert.Multiple(() =>
        {
            Assert.That(created.ExitCode, Is.EqualTo(ExitCodes.Ok), created.Error);
            Assert.That(JsonDocument.Parse(created.Out).RootElement.GetProperty("state").GetString(), Is.EqualTo("Ready"));
            Assert.That(tooWide.ExitCode, Is.EqualTo(ExitCodes.Rejected));
            Assert.That(tooWide.Error, Does.Contain("422").And.Contain("spread").IgnoreCase);
            Assert.That(shown.ExitCode, Is.EqualTo(ExitCodes.Ok), shown.Error);
            Assert.That(shown.Out, Does.Contain("cli-c1").And.Contain("cli-c2"));
        });
    }

    [Test]
    public async Task Lists_print_tables()
    {
        await AddHostAsync("cli-l1", "cli-list");

        var hosts = await RunAsync(FakeApiKeyVerifier.Viewer, "host", "list");
        var instances = await RunAsync(FakeApiKeyVerifier.Viewer, "instance", "list", "--state", "Ready");

        Assert.Multiple(() =>
        {
            Assert.That(hosts.ExitCode, Is.EqualTo(ExitCodes.Ok), hosts.Error);
            Assert.That(hosts.Out, Does.Contain("cli-l1"));
            Assert.That(instances.ExitCode, Is.EqualTo(ExitCodes.Ok), instances.Error);
        });
    }

    [Test]
    public async Task Show_json_carries_every_field_the_server_sends_as_it_sends_it()
    {
        await AddHostAsync("cli-w1", "cli-wire");
        var created = await RunAsync(
            FakeApiKeyVerifier.Requester, "instance", "create", "--pool", "cli-wire", "--cpus", "1", "--memory-mib", "1024", "--disk-gib", "1",
            "--numa", "interleave", "-o", "json");
        Assert.That(created.ExitCode, Is.EqualTo(ExitCodes.Ok), created.Error);
        var id = JsonDocument.Parse(created.Out).RootElement.GetProperty("id").GetString()!;

        var shown = await RunAsync(FakeApiKeyVerifier.Viewer, "instance", "show", id, "-o", "json");
        var server = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetStringAsync($"/api/v1/instances/{id}");

        // The CLI reads the server's own record: no field dropped (version, containerMissing once were), none renamed.
        Assert.That(shown.ExitCode, Is.EqualTo(ExitCodes.Ok), shown.Error);
        Assert.That(JsonNode.Parse(shown.Out)!.ToJsonString(), Is.EqualTo(JsonNode.Parse(server)!.ToJsonString()));
    }
}
