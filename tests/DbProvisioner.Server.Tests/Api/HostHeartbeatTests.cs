using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DbProvisioner.Grains;
using DbProvisioner.Server.Tests.Support;
using DbProvisioner.Testing;
using DbProvisioner.Testing.Simulation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static DbProvisioner.Server.Tests.Support.GrainApp;

namespace DbProvisioner.Server.Tests.Api;

/// <summary>
/// The server's heartbeat on a clock that moves only when the test moves it: a simulated host whose engine stops
/// answering shows unhealthy in <c>GET /hosts</c> and <c>GET /hosts/{id}</c> with a reason and its last-seen time,
/// a request for its pool is refused with that reason, and it is healthy again once the engine answers.
/// </summary>
[TestFixture]
[Category("Silo")]
public sealed class HostHeartbeatTests
{
    private const string Pool = "heartbeat-pool";
    private const string HostId = "hb-1";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    // The grains' attempts at giving back a failed instance's resources before leaving it for a resume (InstanceRetries).
    private const int GiveBackAttempts = 6;
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private ShellApp app = null!;
    private SimulatedHostRuntimeFactory hosts = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => (app, hosts) = await GrainApp.StartAsync(services =>
    {
        services.AddSingleton<TimeProvider>(clock);
        services.Configure<HostHealthOptions>(o =>
        {
            o.Interval = Interval;
            o.FailureThreshold = 2;
        });
    });

    [OneTimeTearDown]
    public async Task StopAsync() => await app.DisposeAsync();

    private Task<JsonElement> HostAsync() => app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>($"/api/v1/hosts/{HostId}");

    private async Task<JsonElement> ListedAsync() =>
        (await app.CreateClient(FakeApiKeyVerifier.Viewer).GetFromJsonAsync<JsonElement>("/api/v1/hosts")).EnumerateArray().Single(h => h.GetProperty("id").GetString() == HostId);

    /// <summary>Moves the clock a heartbeat on at a time until the host shows what the test waits for (each heartbeat is a condition, not a sleep).</summary>
    private Task<JsonElement> BeatUntilAsync(Func<JsonElement, bool> until, string what) =>
        Eventually.UntilAsync(async () =>
        {
            clock.Advance(Interval);
            return await HostAsync();
        }, until, SettleTimeout, what);

    [Test]
    public async Task A_dead_engine_is_reported_with_a_reason_refused_by_placement_and_cleared_when_it_answers()
    {
        await RegisterHostAsync(app, HostId, Pool, clock: clock);
        var seen = await BeatUntilAsync(static h => h.GetProperty("lastSeen").ValueKind == JsonValueKind.String, "a first heartbeat to set last seen");
        Assert.That(seen.GetProperty("healthy").GetBoolean(), Is.True);
        Assert.That(seen.TryGetProperty("reason", out var none) ? none.ValueKind : JsonValueKind.Null, Is.EqualTo(JsonValueKind.Null), "no reason while healthy");

        hosts.Host(HostId).EngineDown = true;
        var downAt = clock.GetUtcNow();
        var down = await BeatUntilAsync(static h => !h.GetProperty("healthy").GetBoolean(), "the host to be reported unhealthy");
        var lastSeen = down.GetProperty("lastSeen").GetDateTimeOffset();
        var reason = down.GetProperty("reason").GetString();
        TestContext.Out.WriteLine($"unhealthy after {(clock.GetUtcNow() - downAt).TotalSeconds:0} s of fake time (interval {Interval.TotalSeconds:0} s): {reason}");
        Assert.Multiple(() =>
        {
            Assert.That(reason, Does.Contain("does not answer"));
            Assert.That(lastSeen, Is.LessThanOrEqualTo(downAt), "last seen is the engine's last answer, before it went down");
            Assert.That(clock.GetUtcNow() - downAt, Is.GreaterThanOrEqualTo(2 * Interval), "two failed heartbeats, not one");
        });
        var listed = await Eventually.UntilAsync(ListedAsync, static h => !h.GetProperty("healthy").GetBoolean(), SettleTimeout, "GET /hosts to show it unhealthy");
        Assert.That(listed.GetProperty("reason").GetString(), Is.EqualTo(reason));

        var requester = app.CreateClient(FakeApiKeyVerifier.Requester);
        using var created = await requester.PostAsync("/api/v1/instances", Body($$"""{"pool":"{{Pool}}","cpus":1,"memoryMiB":1024,"diskGiB":1}"""));
        var refusal = created.StatusCode == HttpStatusCode.Accepted
            ? (await WaitSettledAsync(app, (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!)).GetProperty("reason").GetString()
            : await created.Content.ReadAsStringAsync();
        Assert.That(refusal, Does.Contain("unhealthy").And.Contain("does not answer"), "the refusal names the host's reason");

        hosts.Host(HostId).EngineDown = false;
        var back = await BeatUntilAsync(static h => h.GetProperty("healthy").GetBoolean(), "the host to be healthy again");
        Assert.That(back.GetProperty("lastSeen").GetDateTimeOffset(), Is.GreaterThan(lastSeen));
    }

    /// <summary>
    /// An instance waiting for MySQL when its engine dies fails (it never hangs) but cannot give its container and
    /// reservation back while the engine is away; when the host is healthy again it gives them back.
    /// </summary>
    [Test]
    public async Task A_request_in_flight_when_the_engine_dies_fails_and_gives_everything_back_when_the_engine_returns()
    {
        const string host = "hb-2";
        const string pool = "heartbeat-pool-2";
        await RegisterHostAsync(app, host, pool, clock: clock);
        var engine = hosts.Host(host);
        engine.ReadyHold.Hold();
        string id;
        try
        {
            using var created = await app.CreateClient(FakeApiKeyVerifier.Requester).PostAsync("/api/v1/instances", Body($$"""{"pool":"{{pool}}","cpus":1,"memoryMiB":1024,"diskGiB":1}"""));
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await created.Content.ReadAsStringAsync());
            id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            await Eventually.UntilAsync(() => Task.FromResult(engine.ReadyHold.Waiting), static w => w == 1, SettleTimeout, "the instance to wait for MySQL");
            engine.FailReadyOf(id, new DbProvisioner.Runtime.EngineUnavailableException(host));
            engine.EngineDown = true;
        }
        finally
        {
            engine.ReadyHold.Release();
        }

        var viewer = app.CreateClient(FakeApiKeyVerifier.Viewer);
        var failed = await AdvanceUntilAsync(() => viewer.GetFromJsonAsync<JsonElement>($"/api/v1/instances/{id}"),
            v => v.GetProperty("state").GetString() == "Failed" && engine.RefusedRemovals.Count(r => r == id) >= GiveBackAttempts,
            "the instance to fail and its give-back to run out of attempts");
        var held = await viewer.GetFromJsonAsync<JsonElement>($"/api/v1/hosts/{host}");
        Assert.Multiple(() =>
        {
            Assert.That(failed.GetProperty("reason").GetString(), Does.Contain("does not answer"));
            Assert.That(held.GetProperty("healthy").GetBoolean(), Is.False, "heartbeats failed meanwhile");
            Assert.That(held.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("id").GetString()), Does.Contain(id),
                "while the engine is away the reservation cannot be given back (the container may still be there)");
        });

        engine.EngineDown = false;
        var back = await AdvanceUntilAsync(() => viewer.GetFromJsonAsync<JsonElement>($"/api/v1/hosts/{host}"),
            h => h.GetProperty("healthy").GetBoolean() && h.GetProperty("instances").GetArrayLength() == 0,
            "the host to be healthy and to hold nothing for the failed instance");
        Assert.Multiple(() =>
        {
            Assert.That(engine.Removals, Does.Contain(id), "its container was removed once the engine answered");
            Assert.That(engine.Running.Keys, Has.No.Member(id));
            Assert.That(back.GetProperty("disks").EnumerateArray().Select(d => d.TryGetProperty("claimedBy", out var c) ? c.GetString() : null), Has.No.Member(id));
        });
    }

    /// <summary>Moves the clock a heartbeat on per look until <paramref name="until"/> holds (the condition is the wait, not a sleep).</summary>
    private Task<JsonElement> AdvanceUntilAsync(Func<Task<JsonElement>> look, Func<JsonElement, bool> until, string what) =>
        Eventually.UntilAsync(async () =>
        {
            clock.Advance(Interval);
            return await look();
        }, until, SettleTimeout, what);
}
