using DbProvisioner.Domain.Topology;
using DbProvisioner.Runtime.Kubernetes.Tests.Fake;
using DbProvisioner.Testing;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Runtime;

/// <summary>
/// <see cref="KubernetesAccess.Rules"/> (what the appliance's Role and ClusterRole grant) against the requests a node's whole
/// life sends to the fake API server: a call without its rule would be a 403 on a real cluster, a rule without a call is
/// more access than the runtime needs.
/// </summary>
public sealed class AccessTests
{
    private const string Device = "/dev/loop4";

    [Test]
    public async Task The_rbac_rules_are_exactly_the_calls_of_a_nodes_life()
    {
        using var cluster = new FakeCluster();
        var server = cluster.Server;
        var runtime = cluster.Runtime();
        var spec = new InstanceContainerSpec("i-access01", Device, CpuSet.Of([1]), [], 1024, 0, 1, 3310, "[mysqld]\n", InstanceCredentials.Generate("app", "app"));

        await runtime.DiscoverTopologyAsync(CancellationToken.None);
        await runtime.PingAsync(CancellationToken.None);
        // Held, so that the runtime has to watch the Job and the Pod (a quick fake could finish them before the first read).
        server.JobsHeld = _ => true;
        var format = runtime.FormatDiskAsync(Device, seed: true, CancellationToken.None);
        await Eventually.UntilAsync(() => Task.FromResult(server.Requests.Any(r => r.Contains("/jobs?", StringComparison.Ordinal) && r.Contains("watch=true", StringComparison.Ordinal))), TimeSpan.FromSeconds(10), "the format watches its Job");
        await server.FinishHeldJob("dbprov", KubernetesNames.DiskJob("node-a", Device));
        await format;
        server.JobsHeld = _ => false;
        await runtime.CheckDiskAsync(Device, CancellationToken.None);
        server.PodFates = _ => PodFate.Held;
        var handle = await runtime.StartInstanceAsync(spec, CancellationToken.None);
        var ready = runtime.WaitUntilReadyAsync(spec.InstanceId, spec.Port, spec.Credentials, TimeSpan.FromSeconds(30), CancellationToken.None);
        await Eventually.UntilAsync(() => Task.FromResult(server.Requests.Any(r => r.Contains("/pods?", StringComparison.Ordinal) && r.Contains("watch=true", StringComparison.Ordinal))), TimeSpan.FromSeconds(10), "the wait watches the pod");
        await server.StartHeldPod("dbprov", handle.ContainerName);
        await ready;
        await runtime.StartInstanceAsync(spec, CancellationToken.None); // a resumed step: each create is a 409, then a read
        await runtime.InspectInstanceAsync(spec.InstanceId, CancellationToken.None);
        await runtime.ReadCpusetAsync(spec.InstanceId, CancellationToken.None);
        await runtime.InspectEngineAsync(CancellationToken.None);
        await runtime.ListOwnedAsync(CancellationToken.None);
        await runtime.RemoveInstanceAsync(spec.InstanceId, CancellationToken.None);
        await runtime.FormatDiskAsync(Device, seed: false, CancellationToken.None); // the wipe: delete the old Job, run a new one

        var called = server.Requests.SelectMany(Access).ToHashSet();
        var granted = KubernetesAccess.Rules.SelectMany(r => r.Verbs.Select(v => (r.ApiGroup, r.Resource, r.Namespaced, Verb: v))).ToHashSet();
        Assert.Multiple(() =>
        {
            Assert.That(called.Except(granted), Is.Empty, "calls without a rule (403 on a real cluster)");
            Assert.That(granted.Except(called), Is.Empty, "rules no call needs");
        });
    }

    [Test]
    public void No_rule_is_a_wildcard_or_a_write_beyond_create_and_delete()
    {
        Assert.Multiple(() =>
        {
            foreach (var rule in KubernetesAccess.Rules)
            {
                Assert.That(rule.Resource, Does.Not.Contain("*"), rule.ToString());
                Assert.That(rule.ApiGroup, Does.Not.Contain("*"), rule.ToString());
                Assert.That(rule.Verbs, Is.SubsetOf(new[] { "get", "list", "watch", "create", "delete" }), rule.ToString());
            }
        });
    }

    /// <summary>"METHOD /api/v1/namespaces/ns/pods/name?…" as the RBAC (group, resource, namespaced, verb) it needs.</summary>
    private static IEnumerable<(string Group, string Resource, bool Namespaced, string Verb)> Access(string request)
    {
        var (method, target) = (request.Split(' ', 2)[0], request.Split(' ', 2)[1]);
        var query = target.Contains('?', StringComparison.Ordinal) ? target[(target.IndexOf('?', StringComparison.Ordinal) + 1)..] : "";
        var s = target.Split('?')[0].Trim('/').Split('/');
        var (group, rest) = s[0] == "api" ? ("", s[2..]) : (s[1], s[3..]);
        var namespaced = rest[0] == "namespaces" && rest.Length >= 3;
        var (resource, name) = namespaced ? (rest[2], rest.Length > 3 ? rest[3] : null) : (rest[0], rest.Length > 1 ? rest[1] : null);
        if (namespaced && rest.Length > 4 && rest[4] == "exec")
        {
            // A websocket exec is a GET: authorized as get before Kubernetes 1.35 and as create since (KEP-4006).
            yield return (group, "pods/exec", true, "get");
            yield return (group, "pods/exec", true, "create");
            yield break;
        }
        yield return (group, resource, namespaced, method switch
        {
            "GET" when name is not null => "get",
            "GET" when query.Split('&').Contains("watch=true") => "watch",
            "GET" => "list",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            _ => method,
        });
    }
}
