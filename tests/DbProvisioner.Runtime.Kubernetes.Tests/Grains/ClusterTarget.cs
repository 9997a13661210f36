using System.Globalization;
using DbProvisioner.Runtime.Kubernetes.Tests.Fake;
using DbProvisioner.Runtime.Kubernetes.Tests.RealCluster;
using DbProvisioner.Runtime.Kubernetes.Tests.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Grains;

/// <summary>
/// What the grain suite runs against: the fake API server (always) or a real cluster (only with DBPROV_KUBECONFIG, see
/// <see cref="RealClusterEnvironment"/>). The suite names the fake's nodes (node-a, node-b, …); a real target maps them
/// in order onto its nodes and reads back what the runtime made through the same API a DBA would use.
/// </summary>
public sealed class ClusterTarget(string name, IClusterClient client, IKubernetes kube, string ns, IReadOnlyList<string>? realNodes, FakeKubernetesApiServer? fake)
{
    public const string FakeName = "fake";
    public const string RealName = "real";

    /// <summary>The targets of <c>[TestFixtureSource]</c>: the real one is ignored (one printed line) without DBPROV_KUBECONFIG.</summary>
    public static IEnumerable<TestFixtureData> Names()
    {
        yield return new TestFixtureData(FakeName).SetArgDisplayNames(FakeName);
        var real = new TestFixtureData(RealName).SetArgDisplayNames(RealName);
        real.Properties.Add(NUnit.Framework.Internal.PropertyNames.Category, "RealCluster"); // --filter TestCategory=RealCluster runs it
        yield return real;
    }

    public string Name { get; } = name;
    public IClusterClient Client { get; } = client;
    public IKubernetes Kube { get; } = kube;

    /// <summary>The fake API server, for the tests that need its powers (losing a node, choosing a kubelet's policy); null on a real cluster.</summary>
    public FakeKubernetesApiServer? Fake { get; } = fake;

    public string Cluster => Fake is null ? RealClusterEnvironment.Cluster : FakeCluster.Name;

    /// <summary>The suite's node by its fake name: itself on the fake, the real cluster's n-th node for node-a, node-b, ….</summary>
    public string Node(string fakeName)
    {
        if (realNodes is null) return fakeName;
        var index = fakeName.Length == 6 && fakeName.StartsWith("node-", StringComparison.Ordinal) ? fakeName[5] - 'a' : -1;
        if (index < 0) Assert.Ignore($"{fakeName} is a node of the fake only");
        if (index >= realNodes.Count) Assert.Ignore($"this test needs {index + 1} nodes; DBPROV_KUBE_NODES names {realNodes.Count}");
        return realNodes[index];
    }

    /// <summary>The disks a host of this target registers: made-up paths on the fake, the spare disks of DBPROV_KUBE_DEVICES on a real node.</summary>
    public IReadOnlyList<string> Devices(string hostId, int count)
    {
        if (realNodes is null) return [.. Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"/dev/{hostId}-{i}"))];
        var devices = RealClusterEnvironment.Devices;
        if (devices.Count < count) Assert.Ignore($"this test needs {count} spare disks per node; DBPROV_KUBE_DEVICES names {devices.Count}");
        return [.. devices.Take(count)];
    }

    /// <summary>Where MySQL of a pod on the node answers (host network): the fake's made-up address, else the node's InternalIP.</summary>
    public async Task<string> MySqlAddressAsync(string node)
    {
        if (Fake is not null) return "10.0.0.7";
        if (RealClusterEnvironment.MySqlAddress is { } given) return given;
        var read = await Kube.CoreV1.ReadNodeAsync(node);
        return read.Status.Addresses.First(a => a.Type == "InternalIP").Address;
    }

    /// <summary>Fake-only tests say so and are ignored on a real cluster.</summary>
    public void FakeOnly(string why)
    {
        if (Fake is null) Assert.Ignore($"fake-only: {why}");
    }

    public async Task<V1Pod?> PodAsync(string instanceId)
    {
        try
        {
            return await Kube.CoreV1.ReadNamespacedPodAsync($"dbprov-{instanceId}", ns);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<V1PersistentVolume>> VolumesAsync() => (await Kube.CoreV1.ListPersistentVolumeAsync()).Items.ToList();
    public async Task<IReadOnlyList<V1PersistentVolumeClaim>> ClaimsAsync() => (await Kube.CoreV1.ListNamespacedPersistentVolumeClaimAsync(ns)).Items.ToList();
    public async Task<IReadOnlyList<V1Secret>> SecretsAsync() => (await Kube.CoreV1.ListNamespacedSecretAsync(ns)).Items.ToList();
    public async Task<IReadOnlyList<V1Job>> JobsAsync() => (await Kube.BatchV1.ListNamespacedJobAsync(ns)).Items.ToList();

    public async Task<int> AllocatableCpusAsync(string node) => KubernetesHostRuntime.Allocatable(await Kube.CoreV1.ReadNodeAsync(node)).Cpus;
}
