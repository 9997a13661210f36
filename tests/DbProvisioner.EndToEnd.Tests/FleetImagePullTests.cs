using System.Diagnostics;
using System.Globalization;
using System.Net;
using DbProvisioner.Api;
using DbProvisioner.EndToEnd.Tests.Support;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>
/// Issue 11, hosts pull the image: node-2's engine loses dbprov/mysql (the only image its instances and helpers run), is
/// registered through the API, answers 201 at once with the image Pulling, shows the pull's progress, goes Present, formats
/// its disk and takes an instance whose MySQL answers. node-1 is registered warm for comparison. node-2 holds the image
/// again at the end, as other suites expect. The figures (cold and warm registration) go to the test log.
/// </summary>
[TestFixture]
[Category("Fleet")]
public sealed class FleetImagePullTests : E2eFixture
{
    private const string Image = "dbprov/mysql:10.11";
    private const string Registry = "10.251.0.1:5000";
    private const int Cold = 2;
    private const int Warm = 1;
    private static readonly TimeSpan PullTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DiskReadyTimeout = TimeSpan.FromMinutes(3);

    [OneTimeSetUp]
    public async Task ClearNodesAsync()
    {
        await FleetNodes.RequireUpAsync();
        foreach (var node in FleetNodes.Nodes) await E2eFleet.RemoveOwnedAsync(node);
    }

    [OneTimeTearDown]
    public async Task LeaveNodesAsTheyWereAsync()
    {
        foreach (var node in FleetNodes.Nodes) await E2eFleet.RemoveOwnedAsync(node);
        // Other suites run node-2's instances and helpers from the image: put it back if this test left it missing.
        if ((await FleetNodes.DockerAsync(Cold, "image", "inspect", "--format", "{{.Id}}", Image)).Exit == 0) return;
        var pulled = await FleetNodes.DockerAsync(Cold, PullTimeout, "pull", "-q", $"{Registry}/{Image}");
        Assert.That(pulled.Exit, Is.Zero, $"pulling {Image} back onto node-{Cold}: {pulled.Error}");
        await FleetNodes.DockerAsync(Cold, "tag", $"{Registry}/{Image}", Image);
        await FleetNodes.DockerAsync(Cold, "rmi", $"{Registry}/{Image}");
    }

    [Test]
    public async Task A_cold_node_pulls_the_image_at_registration_with_progress_then_formats_its_disk_and_takes_an_instance()
    {
        // Warm: node-1 holds the image; registration discovers its topology and answers with the image Present.
        var warm = Stopwatch.StartNew();
        var warmHost = await RegisterAsync(E2eFleet.Registration(Warm) with { Pool = "e2e-warm" });
        var warmRegistered = warm.Elapsed;
        Assert.That(warmHost.Image?.State, Is.EqualTo(ImageState.Present), "a node that holds the image is Present at once");
        await WaitDisksReadyAsync(E2eFleet.HostId(Warm));
        var warmDisksReady = warm.Elapsed;

        // Cold: node-2 without the image. Its topology is described (as the engine reports it): discovery would need the image.
        var removed = await FleetNodes.DockerAsync(Cold, "rmi", Image);
        Assert.That(removed.Exit, Is.Zero, $"removing {Image} from node-{Cold} (a container there still uses it?): {removed.Error}");
        Assert.That((await FleetNodes.DockerAsync(Cold, "image", "inspect", Image)).Exit, Is.Not.Zero, $"node-{Cold} still holds {Image}");
        var (cpus, memoryMiB) = await EngineMachineAsync(Cold);

        var cold = Stopwatch.StartNew();
        var coldHost = await RegisterAsync(E2eFleet.Registration(Cold) with { Pool = "e2e-cold", Topology = new TopologySpec(1, cpus, 1, memoryMiB) });
        var coldRegistered = cold.Elapsed;
        Assert.That(coldHost.Image?.State, Is.EqualTo(ImageState.Pulling), "registration answers at once with the image Pulling");
        Assert.That(coldRegistered, Is.LessThan(TimeSpan.FromSeconds(10)), "registration does not wait for the pull");

        // Placement skips the host while it pulls, with the reason.
        using (var early = await E2e.Requester.PostAsync("instances", E2eRequests.Instance(swapMiB: 0, pool: "e2e-cold")))
        {
            var body = await early.Content.ReadAsStringAsync();
            if (early.StatusCode == HttpStatusCode.Accepted)
            {
                var id = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
                var settled = await ApiClient.WaitSettledAsync(E2e.Requester, id, TimeSpan.FromSeconds(30));
                Assert.That(settled.State, Is.EqualTo("Failed"), E2eRequests.Describe(settled));
                body = settled.Reason ?? "";
            }
            Assert.That(body, Does.Contain("MySQL image"), "the refusal names the image");
        }

        var seen = new List<HostImageView>();
        TimeSpan? firstProgress = null;
        HostImageView image;
        do
        {
            image = (await E2e.Admin.GetHostAsync(E2eFleet.HostId(Cold))).Image!;
            if (seen.Count == 0 || seen[^1] != image) seen.Add(image);
            if (firstProgress is null && image is { State: ImageState.Pulling, BytesDone: > 0 }) firstProgress = cold.Elapsed;
            Assert.That(image.State, Is.Not.EqualTo(ImageState.Failed), $"the pull failed: {image.Error}");
            Assert.That(cold.Elapsed, Is.LessThan(PullTimeout), $"the pull did not end within {PullTimeout}: {image}");
            if (image.State == ImageState.Pulling) await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
        while (image.State != ImageState.Present);
        var imagePresent = cold.Elapsed;
        await TestContext.Progress.WriteLineAsync("[pull] node-2's image as seen: " + string.Join(" → ",
            seen.Select(i => i.State == ImageState.Pulling ? $"Pulling {i.Percent?.ToString(CultureInfo.InvariantCulture) ?? "-"}%" : i.State.ToString())));
        Assert.Multiple(() =>
        {
            Assert.That(seen.Any(static i => i is { State: ImageState.Pulling, BytesDone: > 0 } && i.BytesDone < i.BytesTotal), Is.True,
                "progress was shown while the image was pulling");
            Assert.That(image.BytesDone, Is.GreaterThan(100L * 1024 * 1024), "the pull moved the image's layers");
        });
        var (tagged, _, _) = await FleetNodes.DockerAsync(Cold, "image", "inspect", Image);
        Assert.That(tagged, Is.Zero, $"node-{Cold} holds {Image} by the name instances run");

        await WaitDisksReadyAsync(E2eFleet.HostId(Cold));
        var coldDisksReady = cold.Elapsed;

        var instanceId = await E2eRequests.CreateInstanceAsync(E2e.Requester, E2eRequests.Instance(swapMiB: 0, pool: "e2e-cold"));
        var instance = await ApiClient.WaitSettledAsync(E2e.Requester, instanceId, E2eRequests.ReadyTimeout);
        var coldInstanceReady = cold.Elapsed;
        Assert.That(instance.State, Is.EqualTo("Ready"), E2eRequests.Describe(instance));
        Assert.That(instance.Host, Is.EqualTo(E2eFleet.HostId(Cold)));
        var credentials = await E2e.Requester.GetOkAsync<CredentialsView>($"instances/{instanceId}/credentials");
        Assert.That(await E2eRequests.SelectOneAsync(credentials), Is.EqualTo(1), "MySQL answers on node-2");

        await TestContext.Progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[pull] cold registration (node-2, {image.BytesDone / (1024 * 1024)} MiB pulled from {Registry}): 201 in {coldRegistered.TotalSeconds:F2} s, " +
            $"first progress at {firstProgress?.TotalSeconds:F1} s, image Present at {imagePresent.TotalSeconds:F1} s, disk Ready at {coldDisksReady.TotalSeconds:F1} s, " +
            $"first instance Ready at {coldInstanceReady.TotalSeconds:F1} s"));
        await TestContext.Progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[pull] warm registration (node-1, image present, topology discovered): 201 in {warmRegistered.TotalSeconds:F2} s, disk Ready at {warmDisksReady.TotalSeconds:F1} s"));
    }

    private async Task<HostView> RegisterAsync(RegisterHostRequest request)
    {
        using var response = await E2e.Admin.PostAsync("hosts", request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body);
        return System.Text.Json.JsonSerializer.Deserialize<HostView>(body, ApiClient.Json)!;
    }

    private async Task WaitDisksReadyAsync(string hostId)
    {
        var ready = await DbProvisioner.Testing.Eventually.PollAsync(() => E2e.Admin.GetHostAsync(hostId),
            static h => h.Disks.Count > 0 && h.Disks.All(static d => d.State == "Ready"), DiskReadyTimeout, TimeSpan.FromMilliseconds(250));
        Assert.That(ready.Met, Is.True, $"{hostId} disks: " + string.Join(", ", ready.Last.Disks.Select(d => $"{d.Device}={d.State} {d.Error}")));
    }

    /// <summary>The node's CPUs and memory as its engine reports them (a described topology of the same machine).</summary>
    private static async Task<(int Cpus, long MemoryMiB)> EngineMachineAsync(int node)
    {
        var (exit, output, error) = await FleetNodes.DockerAsync(node, "info", "--format", "{{.NCPU}} {{.MemTotal}}");
        Assert.That(exit, Is.Zero, error);
        var parts = output.Split(' ');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture) / (1024 * 1024));
    }
}
