using System.Text.Json;
using DbProvisioner.Cli;
using DbProvisioner.Server.Tests.Support;
using static DbProvisioner.Server.Tests.Support.FakeApiKeyVerifier;

namespace DbProvisioner.Server.Tests.ScaleDown;

/// <summary><c>dbprov instance delete</c> and <c>dbprov scale-down …</c> against the in-process server.</summary>
[TestFixture]
[Category("Silo")]
[Category("MetaDb")]
public sealed class ScaleDownCliTests
{
    private const string Pool = "sd-cli-pool";
    private ScaleDownApp sd = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        sd = await ScaleDownApp.StartAsync();
        await sd.RegisterHostAsync("sdc", Pool, disks: 4);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await sd.DisposeAsync();

    private async Task<(int ExitCode, string Out, string Error)> RunAsync(string key, string? input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var environment = new CliEnvironment(output, error, _ => null, sd.App.CreateHandler())
        {
            In = input is null ? TextReader.Null : new StringReader(input),
            InputIsTerminal = input is not null,
        };
        var exitCode = await CliApp.RunAsync([.. args, "--url", "http://localhost", "--key", key], environment);
        return (exitCode, output.ToString(), error.ToString());
    }

    private async Task<string> StateOfAsync(string requestId) =>
        (await sd.GetJsonAsync($"/api/v1/scale-downs/{requestId}")).GetProperty("state").GetString()!;

    [Test]
    public async Task Instance_delete_creates_a_request_and_prints_its_id_and_risks()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);

        var (exitCode, output, error) = await RunAsync(Requester, null, "instance", "delete", instance);

        Assert.That(exitCode, Is.EqualTo(ExitCodes.Ok), error);
        Assert.That(output, Does.Match("sd-[a-z2-7]{12}").And.Contain("last-member").And.Contain("Blocking"));
        var listed = await RunAsync(Viewer, null, "scale-down", "list", "--state", "pending", "--output", "json");
        var ids = JsonDocument.Parse(listed.Out).RootElement.EnumerateArray().Select(r => r.GetProperty("instanceId").GetString());
        Assert.That(ids, Does.Contain(instance));
    }

    [Test]
    public async Task Approve_with_yes_is_refused_while_a_risk_is_blocking_and_without_a_terminal_it_never_asks()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var id = (await sd.RequestRemovalAsync(instance)).GetProperty("id").GetString()!;

        var yes = await RunAsync(Approver, null, "scale-down", "approve", id, "--yes");
        var noTerminal = await RunAsync(Approver, null, "scale-down", "approve", id);

        Assert.Multiple(async () =>
        {
            Assert.That(yes.ExitCode, Is.EqualTo(ExitCodes.Rejected), yes.Error);
            Assert.That(yes.Error, Does.Contain("blocking").And.Contain("last-member"));
            Assert.That(noTerminal.ExitCode, Is.EqualTo(ExitCodes.Usage), noTerminal.Error);
            Assert.That(noTerminal.Error, Does.Contain("not a terminal"));
            Assert.That(await StateOfAsync(id), Is.EqualTo("Pending"));
        });
    }

    [Test]
    public async Task Approve_asks_for_the_instance_name_and_acknowledges_the_blocking_risks_only_when_it_matches()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var id = (await sd.RequestRemovalAsync(instance)).GetProperty("id").GetString()!;

        var wrong = await RunAsync(Approver, "i-someoneelse\n", "scale-down", "approve", id);
        Assert.That(wrong.ExitCode, Is.EqualTo(ExitCodes.Rejected), wrong.Error);
        Assert.That(await StateOfAsync(id), Is.EqualTo("Pending"));

        var right = await RunAsync(Approver, instance + "\n", "scale-down", "approve", id);

        Assert.That(right.ExitCode, Is.EqualTo(ExitCodes.Ok), right.Error);
        Assert.That(right.Out, Does.Contain("Risk report").And.Contain("last-member").And.Contain("Approved"));
        Assert.That(right.Error, Does.Contain($"Type the instance's name ({instance})"));
        var settled = await sd.WaitRequestSettledAsync(id);
        Assert.That(settled.GetProperty("state").GetString(), Is.EqualTo("Removed"));
        Assert.That(settled.GetProperty("decision").GetProperty("acknowledged").EnumerateArray().Select(a => a.GetString()), Does.Contain("last-member"));
    }

    [Test]
    public async Task The_requester_approving_their_own_request_exits_5_and_reject_needs_a_reason()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var id = (await sd.RequestRemovalAsync(instance, Admin)).GetProperty("id").GetString()!;

        var own = await RunAsync(Admin, instance + "\n", "scale-down", "approve", id);
        var noReason = await RunAsync(Approver, null, "scale-down", "reject", id);
        var rejected = await RunAsync(Approver, null, "scale-down", "reject", id, "--reason", "primary of a busy shard");

        Assert.Multiple(async () =>
        {
            Assert.That(own.ExitCode, Is.EqualTo(ExitCodes.Auth), own.Error);
            Assert.That(own.Error, Does.Contain("requester"));
            Assert.That(noReason.ExitCode, Is.EqualTo(ExitCodes.Usage));
            Assert.That(rejected.ExitCode, Is.EqualTo(ExitCodes.Ok), rejected.Error);
            Assert.That(await StateOfAsync(id), Is.EqualTo("Rejected"));
        });
    }

    [Test]
    public async Task A_superseded_request_is_listed_as_such_and_approve_refuses_it_saying_why()
    {
        var instance = await sd.CreateReadyInstanceAsync(Pool);
        var first = await sd.RequestRemovalAsync(instance);
        var firstId = first.GetProperty("id").GetString()!;
        var secondId = (await sd.RequestRemovalAsync(instance)).GetProperty("id").GetString()!;
        using (await sd.ApproveAsync(firstId, Approver, ScaleDownApp.BlockingCodes(first))) { }
        Assert.That((await sd.WaitRequestSettledAsync(firstId)).GetProperty("state").GetString(), Is.EqualTo("Removed"));

        var list = await RunAsync(Viewer, null, "scale-down", "list", "--state", "superseded");
        var json = await RunAsync(Viewer, null, "scale-down", "list", "--state", "superseded", "--output", "json");
        var show = await RunAsync(Viewer, null, "scale-down", "show", secondId);
        var approve = await RunAsync(Approver, null, "scale-down", "approve", secondId, "--yes");

        Assert.Multiple(async () =>
        {
            Assert.That(list.ExitCode, Is.EqualTo(ExitCodes.Ok), list.Error);
            Assert.That(list.Out, Does.Contain($"{secondId}: superseded, instance").And.Contain(firstId), list.Out);
            var listed = JsonDocument.Parse(json.Out).RootElement.EnumerateArray().Single(r => r.GetProperty("id").GetString() == secondId);
            Assert.That(listed.GetProperty("state").GetString(), Is.EqualTo("Superseded"));
            Assert.That(listed.GetProperty("reason").GetString(), Is.EqualTo($"instance {instance} was removed by request {firstId}"));
            Assert.That(show.Out, Does.Contain("Superseded").And.Contain(firstId), show.Out);
            Assert.That(approve.ExitCode, Is.EqualTo(ExitCodes.Rejected), approve.Error);
            Assert.That(approve.Error, Does.Contain($"is Superseded (instance {instance} was removed by request {firstId})"));
            Assert.That(await StateOfAsync(secondId), Is.EqualTo("Superseded"));
        });
    }
}
