using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DbProvisioner.Server.Tests.Support;
using static DbProvisioner.Server.Tests.Support.GrainApp;

namespace DbProvisioner.Server.Tests.Api;

/// <summary><c>POST /hosts/{id}/evacuate</c>, <c>GET /hosts/{id}/evacuation</c> and <c>GET /evacuations</c> over the real grains (in-memory storage, simulated hosts).</summary>
[TestFixture]
[Category("Silo")]
public sealed class EvacuationApiTests
{
    private ShellApp app = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => (app, _) = await GrainApp.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    [TestCase("/api/v1/hosts/no-such-host")]
    [TestCase("/api/v1/hosts/Not_An_Id")]
    public async Task Unknown_hosts_are_404(string path)
    {
        using var evacuate = await app.CreateClient(FakeApiKeyVerifier.Admin).PostAsync(path + "/evacuate", content: null);
        using var progress = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync(path + "/evacuation");

        await ProblemAssert.IsProblemAsync(evacuate, HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(progress, HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Only_an_admin_evacuates()
    {
        await RegisterHostAsync(app, "ev-roles", "ev-roles-pool");
        using var requester = await app.CreateClient(FakeApiKeyVerifier.Requester).PostAsync("/api/v1/hosts/ev-roles/evacuate", content: null);
        using var approver = await app.CreateClient(FakeApiKeyVerifier.Approver).PostAsync("/api/v1/hosts/ev-roles/evacuate", content: null);
        var host = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/hosts/ev-roles");

        Assert.Multiple(() =>
        {
            Assert.That(requester.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(approver.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(host.GetProperty("cordoned").GetBoolean(), Is.False);
        });
    }

    [Test]
    public async Task An_instance_with_no_room_elsewhere_is_409_naming_why_and_nothing_changes()
    {
        await RegisterHostAsync(app, "ev-alone", "ev-alone-pool");
        using var created = await app.CreateClient(FakeApiKeyVerifier.Requester).PostAsync("/api/v1/instances",
            Body("""{"pool":"ev-alone-pool","cpus":1,"memoryMiB":1024,"diskGiB":1}"""));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.That((await WaitSettledAsync(app, id)).GetProperty("state").GetString(), Is.EqualTo("Ready"));

        using var refused = await app.CreateClient(FakeApiKeyVerifier.Admin).PostAsync("/api/v1/hosts/ev-alone/evacuate", content: null);
        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Conflict);
        var host = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/hosts/ev-alone");
        using var progress = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetAsync("/api/v1/hosts/ev-alone/evacuation");

        Assert.Multiple(() =>
        {
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain($"instance {id} has no room elsewhere").And.Contain("pool ev-alone-pool has no other host"));
            Assert.That(host.GetProperty("cordoned").GetBoolean(), Is.False, "nothing changed: not cordoned");
            Assert.That(progress.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "nothing changed: no evacuation recorded");
        });
    }

    [Test]
    public async Task An_empty_host_is_cordoned_and_evacuated_at_once_and_asking_again_answers_the_same()
    {
        await RegisterHostAsync(app, "ev-empty", "ev-empty-pool");
        var admin = app.CreateClient(FakeApiKeyVerifier.Admin);

        using var first = await admin.PostAsync("/api/v1/hosts/ev-empty/evacuate", content: null);
        using var again = await admin.PostAsync("/api/v1/hosts/ev-empty/evacuate", content: null);
        var view = await first.Content.ReadFromJsonAsync<JsonElement>();
        var repeat = await again.Content.ReadFromJsonAsync<JsonElement>();
        var progress = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/hosts/ev-empty/evacuation");
        var host = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/hosts/ev-empty");

        Assert.Multiple(() =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(first.Headers.Location?.ToString(), Is.EqualTo("/api/v1/hosts/ev-empty/evacuation"));
            Assert.That(view.GetProperty("state").GetString(), Is.EqualTo("Evacuated"));
            Assert.That(repeat.GetProperty("startedAt").GetDateTimeOffset(), Is.EqualTo(view.GetProperty("startedAt").GetDateTimeOffset()), "asked again, the same evacuation");
            Assert.That(progress.GetProperty("instances").GetArrayLength(), Is.Zero);
            Assert.That(host.GetProperty("cordoned").GetBoolean(), Is.True);
        });
    }

    [Test]
    public async Task The_list_holds_each_evacuated_host_and_not_a_host_only_cordoned()
    {
        await RegisterHostAsync(app, "ev-listed", "ev-listed-pool");
        await RegisterHostAsync(app, "ev-cordoned", "ev-cordoned-pool");
        var admin = app.CreateClient(FakeApiKeyVerifier.Admin);
        using (var evacuate = await admin.PostAsync("/api/v1/hosts/ev-listed/evacuate", content: null))
        {
            Assert.That(evacuate.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        }

        using (var cordon = await admin.PostAsync("/api/v1/hosts/ev-cordoned/cordon", Body("""{"cordoned":true}""")))
        {
            Assert.That(cordon.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        var list = await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/evacuations");
        var hosts = list.EnumerateArray().Select(static e => e.GetProperty("hostId").GetString()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(hosts, Has.Member("ev-listed"));
            Assert.That(hosts, Has.No.Member("ev-cordoned"), "cordoned, never evacuated");
            Assert.That(list.EnumerateArray().Single(static e => e.GetProperty("hostId").GetString() == "ev-listed").GetProperty("state").GetString(), Is.EqualTo("Evacuated"));
        });
    }
}
