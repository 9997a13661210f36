using System.Collections.Concurrent;
using System.Diagnostics;
using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Grains.Tests.Cluster;
using DbProvisioner.Grains.Tests.TestData;
using DbProvisioner.Runtime;
using DbProvisioner.Testing;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>
/// Issue 11, hosts pull the image: a host registered on a simulated engine without the MySQL image is Pulling at once,
/// its progress shows and is stored every few seconds (not per message), placement skips it with the reason until the
/// image is Present, no disk is formatted before, and a failed pull shows Failed with the engine's words and is retried.
/// </summary>
public sealed class ImagePullTests : GrainTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Test]
    public async Task A_host_without_the_image_is_pulling_and_skipped_by_placement_until_the_image_is_present()
    {
        var hostId = TestFleet.NewId("host");
        var engine = Runtime.Host(hostId);
        engine.HoldsImage = false;
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reported = 0;
        engine.ImagePullScript = async (progress, _) =>
        {
            // An engine reports many messages a second; the bytes grow until the test lets the pull end.
            for (var done = 1L; !finish.Task.IsCompleted; done = Math.Min(done + 1, 999))
            {
                progress.Report(new ImagePull(done * 1000, 1_000_000));
                Interlocked.Increment(ref reported);
                await Task.WhenAny(finish.Task, Task.Delay(10));
            }
            progress.Report(new ImagePull(1_000_000, 1_000_000));
        };
        var stored = new ConcurrentQueue<HostImage>();
        using var watch = GrainTestCluster.Storage.FailWrites((id, s) =>
        {
            if (id.Key.ToString() == hostId && s is HostGrainState { Host: { } h }) stored.Enqueue(h.Image);
            return false; // only watches what is written
        });

        var registered = await RegisterAsync(TestFleet.Host(hostId, Pool, disks: 2, minSeeded: 0));
        Assert.That(registered.Image?.State, Is.EqualTo(ImageState.Pulling), "registration answers at once with Pulling");
        await HostGrain(hostId).HeartbeatAsync(); // a described host's engine is asked at its first answered heartbeat

        var pulling = await Eventually.UntilAsync(() => HostViewAsync(hostId), static h => h.Image is { State: ImageState.Pulling, BytesDone: > 0 },
            Patience, "the host view to show the pull's progress");
        Assert.That(pulling.Image!.Percent, Is.InRange(0, 99), pulling.Image.ToString());
        var listed = await Eventually.UntilAsync(async () => (await Client.ListHostsAsync()).Single(h => h.Id == hostId),
            static h => h.Image?.State == ImageState.Pulling, Patience, "the host list to show the host Pulling");
        Assert.That(listed.Image, Is.Not.Null);

        var refused = await ProvisionAndSettleAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool));
        Assert.That(refused.FailureReason, Does.Contain("its MySQL image is being pulled"), refused.ToString());
        Assert.That(engine.Formats, Is.Empty, "no disk is formatted before the engine holds the image its helpers run");

        // Progress reaches the meta database while the pull runs, a write every 2 s at most, never one per message.
        var clock = Stopwatch.StartNew();
        await Eventually.UntilAsync(() => Task.FromResult(stored.Any(static i => i is { State: ImageState.Pulling, BytesDone: > 0 })), Patience,
            "a Pulling state with progress to be stored");
        finish.SetResult();
        var present = await Eventually.UntilAsync(() => HostViewAsync(hostId), static h => h.Image?.State == ImageState.Present, Patience, "the image to be Present");
        var progressWrites = stored.Count(static i => i is { State: ImageState.Pulling, BytesDone: > 0 });
        Assert.Multiple(() =>
        {
            Assert.That(present.Image!.BytesDone, Is.EqualTo(1_000_000));
            Assert.That(engine.ImagePulls, Is.EqualTo(1));
            Assert.That(reported, Is.GreaterThan(10 * progressWrites), $"{reported} messages, {progressWrites} progress writes");
            Assert.That(progressWrites, Is.LessThanOrEqualTo(2 + (int)(clock.Elapsed.TotalSeconds / HostImagePulls.ProgressInterval.TotalSeconds)),
                $"{progressWrites} progress writes in {clock.Elapsed.TotalSeconds:F1} s");
        });

        // Disk work waited for the image; now the host formats its disks and takes instances.
        await Eventually.UntilAsync(() => HostViewAsync(hostId), static h => h.Disks.All(static d => d.State == "Ready"), Patience, "the disks to be Ready");
        var placement = Client.GetGrain<IPlacementGrain>(Pool);
        await Eventually.UntilAsync(async () => (await placement.SnapshotAsync()).Single(h => h.HostId == hostId).ImageRefusal,
            static refusal => refusal.Length == 0, Patience, "the placement index to see the image Present");
        await ProvisionReadyAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool));
        AssertNoDoubleUseOnEngines();
    }

    [Test]
    public async Task A_failed_pull_shows_failed_with_the_engines_reason_and_is_retried()
    {
        var hostId = TestFleet.NewId("host");
        var engine = Runtime.Host(hostId);
        engine.HoldsImage = false;
        var attempts = 0;
        engine.ImagePullScript = (_, _) => Interlocked.Increment(ref attempts) == 1
            ? throw new EngineRejectedException(hostId, "pull 10.251.0.1:5000/dbprov/mysql:10.11", "manifest for 10.251.0.1:5000/dbprov/mysql:10.11 not found")
            : Task.CompletedTask;

        await RegisterAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        await HostGrain(hostId).HeartbeatAsync();
        var failed = await Eventually.UntilAsync(() => HostViewAsync(hostId), static h => h.Image?.State != ImageState.Pulling, Patience, "the first pull to end");
        Assert.That(failed.Image!.State, Is.EqualTo(ImageState.Failed), failed.Image.ToString());
        Assert.That(failed.Image.Error, Does.Contain("manifest for 10.251.0.1:5000/dbprov/mysql:10.11 not found"));

        var refused = await ProvisionAndSettleAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool));
        Assert.That(refused.FailureReason, Does.Contain("pulling its MySQL image failed").And.Contain("not found"), refused.ToString());

        // The retry comes by itself after the first backoff.
        var present = await Eventually.UntilAsync(() => HostViewAsync(hostId), static h => h.Image?.State == ImageState.Present,
            HostImagePulls.FirstRetry + Patience, "the retried pull to make the image Present");
        Assert.Multiple(() =>
        {
            Assert.That(attempts, Is.EqualTo(2));
            Assert.That(present.Image!.Error, Is.Null);
        });
        await Eventually.UntilAsync(() => HostViewAsync(hostId), static h => h.Disks.All(static d => d.State == "Ready"), Patience, "the disk to be Ready");
        await Eventually.UntilAsync(async () => (await Client.GetGrain<IPlacementGrain>(Pool).SnapshotAsync()).Single(h => h.HostId == hostId).ImageRefusal,
            static refusal => refusal.Length == 0, Patience, "the placement index to see the image Present");
        await ProvisionReadyAsync(TestFleet.NewId("i"), TestFleet.Instance(Pool));
    }

    [Test]
    public async Task A_pull_cut_off_with_its_grains_resumes_when_the_host_wakes()
    {
        var hostId = TestFleet.NewId("host");
        var engine = Runtime.Host(hostId);
        engine.HoldsImage = false;
        var attempts = 0;
        var cutOff = new TaskCompletionSource(); // never completes: the first pull's engine call is lost with its activation
        engine.ImagePullScript = async (progress, _) =>
        {
            if (Interlocked.Increment(ref attempts) > 1) return;
            progress.Report(new ImagePull(100, 1000));
            await cutOff.Task;
        };

        await RegisterAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        await HostGrain(hostId).HeartbeatAsync();
        await Eventually.UntilAsync(() => Task.FromResult(Volatile.Read(ref attempts)), static a => a == 1, Patience, "the first pull to start");

        // A kill, as far as the grains know: both activations are gone; the stored state says Pulling.
        foreach (var grain in new IAddressable[] { Client.GetGrain<IImagePullGrain>(hostId), HostGrain(hostId) })
        {
            await Env.Cluster.DeactivateAsync(grain);
            await Env.Cluster.WaitForDeactivationAsync(grain);
        }
        var woken = await HostViewAsync(hostId);
        Assert.That(woken.Image?.State, Is.Not.EqualTo(ImageState.Failed), woken.Image?.ToString());
        await HostGrain(hostId).HeartbeatAsync(); // a described host resumes at its first answered heartbeat, as it started

        var present = await Eventually.UntilAsync(() => HostViewAsync(hostId), static h => h.Image?.State == ImageState.Present, Patience,
            "the pull to resume and end Present");
        Assert.Multiple(() =>
        {
            Assert.That(attempts, Is.EqualTo(2), "the host's new activation started the pull again");
            Assert.That(present.Image!.Error, Is.Null);
        });
    }

    [Test]
    public async Task A_host_to_be_discovered_on_an_engine_without_the_image_pulls_it_before_discovering_its_topology()
    {
        var hostId = TestFleet.NewId("host");
        var engine = Runtime.Host(hostId);
        engine.HoldsImage = false;
        var shape = TestFleet.SmallTopology;
        Runtime.SetTopology(hostId, Domain.Topology.TopologyBuilder.Uniform(shape.NumaNodes, shape.CoresPerNode, shape.ThreadsPerCore, shape.MemoryMiBPerNode));

        var outcome = await HostGrain(hostId).RegisterAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0) with { Topology = null });
        Assert.That(outcome.Ok, Is.True, $"{outcome.Kind} {outcome.Error}");
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Value!.Image?.State, Is.EqualTo(ImageState.Present), "discovery runs in the image: the registration pulled it first");
            Assert.That(engine.ImagePulls, Is.EqualTo(1));
            Assert.That(outcome.Value.NumaNodes, Has.Count.EqualTo(shape.NumaNodes), "the topology was discovered");
        });
    }

    [Test]
    public async Task A_host_to_be_discovered_whose_pull_fails_is_not_registered_and_says_why()
    {
        var hostId = TestFleet.NewId("host");
        var engine = Runtime.Host(hostId);
        engine.HoldsImage = false;
        engine.ImagePullScript = (_, _) => throw new EngineRejectedException(hostId, "pull dbprov/mysql:10.11", "connection refused");

        var outcome = await HostGrain(hostId).RegisterAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0) with { Topology = null });
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Ok, Is.False);
            Assert.That(outcome.Error, Does.Contain("cannot pull image").And.Contain("connection refused"));
        });
        Assert.That(await HostGrain(hostId).GetAsync(), Is.Null, "nothing is registered");
    }

    [Test]
    public async Task A_described_host_whose_engine_holds_the_image_is_present_after_its_first_heartbeat_and_pulls_nothing()
    {
        var hostId = TestFleet.NewId("host");
        var view = await RegisterAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0));
        Assert.Multiple(() =>
        {
            Assert.That(view.Image?.State, Is.EqualTo(ImageState.Present));
            Assert.That(Runtime.Host(hostId).ImagePulls, Is.Zero);
        });
    }

    [Test]
    public async Task A_described_host_whose_engine_does_not_answer_starts_no_pull_until_a_heartbeat_finds_it_answering()
    {
        var hostId = TestFleet.NewId("host");
        var engine = Runtime.Host(hostId);
        engine.EngineDown = true;
        engine.HoldsImage = false;
        var attempts = 0;
        engine.ImagePullScript = (_, _) =>
        {
            Interlocked.Increment(ref attempts);
            return Task.CompletedTask;
        };
        var stored = new ConcurrentQueue<HostImage>();
        using var watch = GrainTestCluster.Storage.FailWrites((id, s) =>
        {
            if (id.Key.ToString() == hostId && s is HostGrainState { Host: { } h }) stored.Enqueue(h.Image);
            return false;
        });
        var request = TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0);
        Runtime.SetTopology(hostId, Domain.Topology.TopologyBuilder.Uniform(request.Topology!.NumaNodes, request.Topology.CoresPerNode, request.Topology.ThreadsPerCore, request.Topology.MemoryMiBPerNode));

        var outcome = await HostGrain(hostId).RegisterAsync(request);
        Assert.That(outcome.Ok, Is.True, $"{outcome.Kind} {outcome.Error}");
        Assert.That(outcome.Value!.Image?.State, Is.EqualTo(ImageState.Pulling), "placement skips it until the image is known Present");
        await HostGrain(hostId).HeartbeatAsync(); // the engine does not answer: nothing is asked of it

        engine.EngineDown = false;
        await HostGrain(hostId).HeartbeatAsync();
        var present = await Eventually.UntilAsync(() => HostViewAsync(hostId), static h => h.Image?.State == ImageState.Present, Patience,
            "the first answered heartbeat to get the image pulled");
        Assert.Multiple(() =>
        {
            Assert.That(attempts, Is.EqualTo(1), "one pull, once the engine answered");
            Assert.That(stored.Where(static i => i.State == ImageState.Failed), Is.Empty, "no pull was tried (and failed) while the engine did not answer");
            Assert.That(present.Image!.Error, Is.Null);
        });
    }

    [Test]
    public async Task A_discovered_host_learns_its_image_at_registration_without_a_heartbeat()
    {
        var hostId = TestFleet.NewId("host");
        var shape = TestFleet.SmallTopology;
        Runtime.SetTopology(hostId, Domain.Topology.TopologyBuilder.Uniform(shape.NumaNodes, shape.CoresPerNode, shape.ThreadsPerCore, shape.MemoryMiBPerNode));

        var outcome = await HostGrain(hostId).RegisterAsync(TestFleet.Host(hostId, Pool, disks: 1, minSeeded: 0) with { Topology = null });
        Assert.That(outcome.Ok, Is.True, $"{outcome.Kind} {outcome.Error}");
        Assert.Multiple(() =>
        {
            Assert.That(outcome.Value!.Image?.State, Is.EqualTo(ImageState.Present), "the engine was asked at registration");
            Assert.That(Runtime.Host(hostId).ImagePulls, Is.Zero);
        });
    }
}
