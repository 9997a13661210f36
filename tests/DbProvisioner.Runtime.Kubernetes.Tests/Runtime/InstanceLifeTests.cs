using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime.Kubernetes.Tests.Fake;
using DbProvisioner.Testing;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Runtime;

/// <summary>The runtime against the fake API server: an instance's pod from start to Ready, its removal, and what fails on the way.</summary>
public sealed class InstanceLifeTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static InstanceContainerSpec Spec(string id = "i-0a1b2c3d4e", string device = "/dev/loop3", int port = 3310) =>
        new(id, device, CpuSet.Of([1, 2]), [], 2048, 0, 1, port, "[mysqld]\n", InstanceCredentials.Generate("app", "app"));

    [Test]
    public async Task A_started_instance_is_a_pod_bound_to_its_node_on_its_disk_and_answers_once_ready()
    {
        using var cluster = new FakeCluster();
        cluster.Server.PodFates = _ => PodFate.Held;
        var runtime = cluster.Runtime();
        var spec = Spec();

        var handle = await runtime.StartInstanceAsync(spec, CancellationToken.None);
        var wait = runtime.WaitUntilReadyAsync(spec.InstanceId, spec.Port, spec.Credentials, Deadline, CancellationToken.None);
        await Eventually.UntilAsync(() => Task.FromResult(cluster.Server.Requests.Any(r => r.Contains("watch=true"))), TimeSpan.FromSeconds(10), "the wait watches the pod");
        Assert.That(wait.IsCompleted, Is.False, "a Pending pod is not Ready");
        await cluster.Server.StartHeldPod("dbprov", handle.ContainerName);
        await wait;

        var pod = cluster.Server.Objects<V1Pod>("pods").Single();
        var claim = cluster.Server.Objects<V1PersistentVolumeClaim>("persistentvolumeclaims").Single();
        var pv = cluster.Server.Objects<V1PersistentVolume>("persistentvolumes").Single();
        var status = await runtime.InspectInstanceAsync(spec.InstanceId, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(handle.ContainerName, Is.EqualTo("dbprov-i-0a1b2c3d4e"));
            Assert.That(handle.Address, Is.EqualTo("10.0.0.7"));
            Assert.That(pod.Spec.NodeName, Is.EqualTo("node-a"));
            Assert.That(claim.Spec.VolumeName, Is.EqualTo(pv.Metadata.Name));
            Assert.That(pv.Spec.Local.Path, Is.EqualTo("/dev/loop3"));
            Assert.That(pv.Spec.NodeAffinity.Required.NodeSelectorTerms.Single().MatchExpressions.Single().Values, Is.EqualTo(new[] { "node-a" }));
            Assert.That(status!.Running, Is.True);
            Assert.That(status.Labels[OwnershipLabels.Instance], Is.EqualTo(spec.InstanceId));
            Assert.That(cluster.Server.Requests, Has.Some.Matches<string>(r => r.StartsWith("GET /api/v1/namespaces/dbprov/pods?", StringComparison.Ordinal) && r.Contains("watch=true") && r.Contains("resourceVersion=")),
                "readiness is watched from the resourceVersion of a read");
        });
    }

    [Test]
    public async Task Starting_again_finds_what_the_first_start_made()
    {
        using var cluster = new FakeCluster();
        var runtime = cluster.Runtime();
        var spec = Spec();

        var first = await runtime.StartInstanceAsync(spec, CancellationToken.None);
        var second = await runtime.StartInstanceAsync(spec, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(second, Is.EqualTo(first));
            Assert.That(cluster.Server.Objects<V1Pod>("pods"), Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task Another_instance_on_a_claimed_disk_is_refused_and_leaves_nothing_behind()
    {
        using var cluster = new FakeCluster();
        var runtime = cluster.Runtime();
        await runtime.StartInstanceAsync(Spec("i-first"), CancellationToken.None);

        var e = Assert.ThrowsAsync<InstanceException>(() => runtime.StartInstanceAsync(Spec("i-second", port: 3311), CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Kind, Is.EqualTo(HostRuntimeErrorKind.InstanceConflict));
            Assert.That(e.Message, Does.Contain("/dev/loop3 is claimed by dbprov-data-i-first"));
            Assert.That(cluster.Server.Objects<V1Pod>("pods").Select(p => p.Metadata.Name), Is.EqualTo(new[] { "dbprov-i-first" }));
            Assert.That(cluster.Server.Objects<V1Secret>("secrets").Select(p => p.Metadata.Name), Is.EqualTo(new[] { "dbprov-secret-i-first" }));
        });
    }

    [Test]
    public async Task A_mysqld_that_crashes_fails_the_wait_at_once_with_its_reason()
    {
        using var cluster = new FakeCluster();
        cluster.Server.PodFates = _ => PodFate.CrashLoop;
        var runtime = cluster.Runtime();
        var spec = Spec();
        await runtime.StartInstanceAsync(spec, CancellationToken.None);

        var e = Assert.ThrowsAsync<InstanceException>(() => runtime.WaitUntilReadyAsync(spec.InstanceId, spec.Port, spec.Credentials, TimeSpan.FromHours(1), CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Kind, Is.EqualTo(HostRuntimeErrorKind.InstanceFailed));
            Assert.That(e.Message, Does.Contain("Address already in use"));
        });
    }

    [Test]
    public async Task On_a_lost_node_the_pod_never_gets_ready_the_wait_ends_at_its_deadline_and_the_ping_fails()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var cluster = new FakeCluster(time);
        var runtime = cluster.Runtime();
        var spec = Spec();
        cluster.Server.LoseNode("node-a");
        await runtime.StartInstanceAsync(spec, CancellationToken.None);

        var wait = runtime.WaitUntilReadyAsync(spec.InstanceId, spec.Port, spec.Credentials, Deadline, CancellationToken.None);
        await Eventually.UntilAsync(() => Task.FromResult(cluster.Server.Requests.Any(r => r.Contains("watch=true"))), TimeSpan.FromSeconds(10), "the wait watches the pod");
        time.Advance(Deadline + TimeSpan.FromSeconds(1));

        var e = Assert.ThrowsAsync<InstanceException>(() => wait);
        var ping = Assert.ThrowsAsync<EngineUnavailableException>(() => runtime.PingAsync(CancellationToken.None));
        Assert.Multiple(() =>
        {
            Assert.That(e!.Kind, Is.EqualTo(HostRuntimeErrorKind.InstanceNotReady));
            Assert.That(e.Message, Does.Contain("Pending"));
            Assert.That(ping!.InnerException!.Message, Does.Contain("node node-a is not Ready: NodeStatusUnknown"));
        });
    }

    [Test]
    public async Task Removal_deletes_the_pod_claim_pv_config_and_secret_and_is_idempotent()
    {
        using var cluster = new FakeCluster();
        var runtime = cluster.Runtime();
        var spec = Spec();
        await runtime.StartInstanceAsync(spec, CancellationToken.None);

        await runtime.RemoveInstanceAsync(spec.InstanceId, CancellationToken.None);
        await runtime.RemoveInstanceAsync(spec.InstanceId, CancellationToken.None);

        Assert.Multiple(() =>
        {
            foreach (var kind in new[] { "pods", "persistentvolumeclaims", "persistentvolumes", "configmaps", "secrets" })
                Assert.That(cluster.Server.Objects<object>(kind), Is.Empty, kind);
        });
        Assert.That(await runtime.InspectInstanceAsync(spec.InstanceId, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task The_appliances_pods_and_claims_on_the_node_are_listed_as_owned()
    {
        using var cluster = new FakeCluster(null, "node-a", "node-b");
        await cluster.Runtime("node-a").StartInstanceAsync(Spec("i-on-a"), CancellationToken.None);
        await cluster.Runtime("node-b").StartInstanceAsync(Spec("i-on-b"), CancellationToken.None);

        var owned = await cluster.Runtime("node-a").ListOwnedAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(owned.Containers.Select(c => c.InstanceId), Is.EqualTo(new[] { "i-on-a" }));
            Assert.That(owned.Volumes.Select(v => v.Name), Is.EqualTo(new[] { "dbprov-data-i-on-a" }));
        });
    }
}
