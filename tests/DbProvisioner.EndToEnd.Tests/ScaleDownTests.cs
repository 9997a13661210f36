using System.Net;
using DbProvisioner.Api;
using DbProvisioner.EndToEnd.Tests.Support;
using MySqlConnector;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>Issue 5 on the real engine: an approved removal frees everything and recycles the disk; a crash mid-removal finishes it once.</summary>
[TestFixture]
public sealed class ScaleDownTests : E2eFixture
{
    private static readonly TimeSpan RemovalTimeout = TimeSpan.FromSeconds(120);

    // A short drain: the crash test holds a client connection open so that the removal waits in Draining.
    protected override IReadOnlyDictionary<string, string>? ServerSettings { get; } = new Dictionary<string, string> { ["Provisioning:DrainTimeout"] = "00:00:15" };

    [Test, Order(1)]
    public async Task An_approved_removal_frees_the_cpus_and_recycles_the_disk_so_the_next_instance_sees_none_of_the_old_data()
    {
        var id = await E2eRequests.CreateInstanceAsync(E2e.Requester, E2eRequests.Instance());
        var ready = await ApiClient.WaitSettledAsync(E2e.Requester, id, E2eRequests.ReadyTimeout);
        Assert.That(ready.State, Is.EqualTo("Ready"), E2eRequests.Describe(ready));
        var credentials = await E2e.Requester.GetOkAsync<CredentialsView>($"instances/{id}/credentials");
        await ExecuteAsync(credentials, "CREATE DATABASE old_marker", "CREATE TABLE old_marker.t (x INT)", "INSERT INTO old_marker.t VALUES (42)");

        var request = await RequestRemovalAsync(id);
        Assert.That(await E2e.Docker.OwnedContainersAsync(), Has.Some.Matches<Docker.DotNet.Models.ContainerListResponse>(
            c => c.Names.Contains("/" + DockerEngine.ContainerName(id))), "nothing changes on the host before approval");

        var removed = await ApproveAndWaitAsync(request);
        Assert.That(removed.State, Is.EqualTo("Removed"), string.Join(" | ", removed.Steps.Select(s => $"{s.Step}: {s.Outcome}")));

        var host = await E2e.Admin.GetHostAsync(ready.Host!);
        var disk = host.Disks.Single(d => d.Device == ready.Device);
        Assert.Multiple(async () =>
        {
            Assert.That((await E2e.Docker.OwnedContainersAsync()).SelectMany(c => c.Names), Has.None.EqualTo("/" + DockerEngine.ContainerName(id)), "the container is gone");
            Assert.That(host.Instances.Select(i => i.Id), Has.No.Member(id), "CPUs, memory and port are free");
            Assert.That(host.NumaNodes.SelectMany(n => n.Cores).Select(c => c.Instance), Has.No.Member(id), "no core is held for it");
            Assert.That(disk.State, Is.EqualTo("Ready"), "the disk is back to Ready");
            Assert.That(disk.ClaimedBy, Is.Null);
            Assert.That((await E2e.Admin.GetInstanceAsync(id)).State, Is.EqualTo("Removed"));
        });

        // Before the recycled disk is handed out again (and once the pool's work is done, so nothing formats it meanwhile):
        // an operator looking into it finds none of the old data.
        await Eventually.UntilAsync(async () => (await E2e.Admin.GetHostAsync(ready.Host!)).Disks.Select(static d => $"{d.Device}:{d.State}").ToList(),
            static disks => !disks.Any(static d => d.EndsWith(":Formatting", StringComparison.Ordinal) || d.EndsWith(":Releasing", StringComparison.Ordinal)),
            E2eRequests.ReadyTimeout, $"the disk work of {ready.Host} to finish", static disks => string.Join(", ", disks));
        Assert.That(await DockerEngine.FindOnDeviceAsync(ready.Device!, "old_marker"), Is.Empty, $"old data on the recycled {ready.Device}");

        // New instances on both hosts. The recycled disk goes to one of them only when it is the host's first choice
        // (seeded first, then lowest id), which depends on whether the watermark re-seeded another disk meanwhile.
        var next = await E2eRequests.CreateInstanceAsync(E2e.Requester, E2eRequests.Instance());
        var other = await E2eRequests.CreateInstanceAsync(E2e.Requester, E2eRequests.Instance());
        var views = await Task.WhenAll(new[] { next, other }.Select(i => ApiClient.WaitSettledAsync(E2e.Requester, i, E2eRequests.ReadyTimeout)));
        Assert.That(views.Select(static v => v.State), Is.All.EqualTo("Ready"), string.Join("; ", views.Select(E2eRequests.Describe)));
        if (views.SingleOrDefault(v => v.Host == ready.Host && v.Device == ready.Device) is { } reuse)
        {
            var fresh = await E2e.Requester.GetOkAsync<CredentialsView>($"instances/{reuse.Id}/credentials");
            var databases = await QueryAsync(fresh, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'old_marker'");
            Assert.That(databases, Is.Zero, "the old instance's data is gone from the re-formatted disk");
        }
        Assert.That(await E2e.FindLeaksAsync(), Is.Empty);

        // Give both hosts back for the next test.
        foreach (var view in views)
        {
            Assert.That((await ApproveAndWaitAsync(await RequestRemovalAsync(view.Id))).State, Is.EqualTo("Removed"));
        }
    }

    [Test, Order(2)]
    public async Task Killed_during_the_drain_the_removal_finishes_exactly_once_with_nothing_leaked()
    {
        var id = await E2eRequests.CreateInstanceAsync(E2e.Requester, E2eRequests.Instance());
        var ready = await ApiClient.WaitSettledAsync(E2e.Requester, id, E2eRequests.ReadyTimeout);
        Assert.That(ready.State, Is.EqualTo("Ready"), E2eRequests.Describe(ready));
        var credentials = await E2e.Requester.GetOkAsync<CredentialsView>($"instances/{id}/credentials");

        // A client that stays connected keeps the drain waiting, so the kill lands while it drains.
        await using var client = new MySqlConnection(ConnectionString(credentials));
        await client.OpenAsync();
        var request = await RequestRemovalAsync(id);
        var blocking = request.Risks.Where(r => r.Severity == RiskSeverity.Blocking).Select(r => r.Code).ToArray();
        using (var approve = await E2e.Approver.PostAsync($"scale-downs/{request.Id}/approve", new ApproveScaleDownRequest(blocking)))
        {
            Assert.That(approve.StatusCode, Is.EqualTo(HttpStatusCode.OK), await approve.Content.ReadAsStringAsync());
        }

        var draining = await E2e.Admin.WaitForInstanceAsync(id, v => v.State != "Ready", TimeSpan.FromSeconds(20), "to leave Ready", TimeSpan.FromMilliseconds(50));
        await E2e.RestartAsync();
        await TestContext.Progress.WriteLineAsync($"[e2e] killed the server while the instance was {draining.State}");
        Assert.That(draining.State, Is.EqualTo("Draining").Or.EqualTo("Drained"), "the kill landed during the removal");

        var done = await WaitRemovedAsync(request.Id);
        Assert.That(done.State, Is.EqualTo("Removed"), string.Join(" | ", done.Steps.Select(s => $"{s.Step}: {s.Outcome}")));
        var audit = await E2e.Viewer.GetOkAsync<System.Text.Json.JsonElement>($"audit?subjectId={id}&limit=1000");
        var actions = audit.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        var host = await E2e.Admin.GetHostAsync(ready.Host!);
        Assert.Multiple(async () =>
        {
            Assert.That(actions.Count(a => a == "removal.ContainerRemoved"), Is.EqualTo(1), "the container was removed once: " + string.Join(", ", actions));
            Assert.That(actions.Count(a => a == "removal.ResourcesFreed"), Is.EqualTo(1), "resources were freed once");
            Assert.That(actions.Count(a => a == "removal.Removed"), Is.EqualTo(1), "removed once");
            Assert.That((await E2e.Docker.OwnedContainersAsync()).SelectMany(c => c.Names), Has.None.EqualTo("/" + DockerEngine.ContainerName(id)));
            Assert.That(host.Disks.Single(d => d.Device == ready.Device).State, Is.EqualTo("Ready"));
            Assert.That(await E2e.FindLeaksAsync(), Is.Empty);
        });
    }

    private async Task<ScaleDownView> RequestRemovalAsync(string instanceId)
    {
        using var response = await E2e.Requester.DeleteAsync($"instances/{instanceId}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
        var view = System.Text.Json.JsonSerializer.Deserialize<ScaleDownView>(body, ApiClient.Json)!;
        Assert.That(view.State, Is.EqualTo("Pending"));
        return view;
    }

    private async Task<ScaleDownView> ApproveAndWaitAsync(ScaleDownView request)
    {
        var blocking = request.Risks.Where(r => r.Severity == RiskSeverity.Blocking).Select(r => r.Code).ToArray();
        using var approve = await E2e.Approver.PostAsync($"scale-downs/{request.Id}/approve", new ApproveScaleDownRequest(blocking));
        Assert.That(approve.StatusCode, Is.EqualTo(HttpStatusCode.OK), await approve.Content.ReadAsStringAsync());
        return await WaitRemovedAsync(request.Id);
    }

    private async Task<ScaleDownView> WaitRemovedAsync(string requestId) =>
        await Eventually.UntilAsync(() => E2e.Viewer.GetOkAsync<ScaleDownView>($"scale-downs/{requestId}"),
            static view => view.State is "Removed" or "Failed" or "Rejected" or "Expired", RemovalTimeout, $"scale-down request {requestId} to end",
            static view => $"{view.State} {string.Join(" | ", view.Steps.Select(s => $"{s.Step}: {s.Outcome}"))}");

    private static string ConnectionString(CredentialsView c) => new MySqlConnectionStringBuilder
    {
        Server = c.Host,
        Port = (uint)c.Port,
        UserID = c.User,
        Password = c.Password,
        Pooling = false,
        ConnectionTimeout = 5,
    }.ConnectionString;

    private static async Task ExecuteAsync(CredentialsView c, params string[] statements)
    {
        await using var connection = new MySqlConnection(ConnectionString(c));
        await connection.OpenAsync();
        foreach (var sql in statements)
        {
            await using var command = new MySqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    private static async Task<long> QueryAsync(CredentialsView c, string sql)
    {
        await using var connection = new MySqlConnection(ConnectionString(c));
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
