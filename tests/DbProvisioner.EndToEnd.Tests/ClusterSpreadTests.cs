using System.Diagnostics;
using System.Net;
using DbProvisioner.Api;
using DbProvisioner.EndToEnd.Tests.Support;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>Issue 4: one shard × 2 replicas with hard host spread on two logical hosts; a third member is refused for spread.</summary>
[TestFixture]
public sealed class ClusterSpreadTests : E2eFixture
{
    private static readonly SpreadSpec HardHostSpread = new(SpreadDomain.Host, 1, SpreadMode.Hard);
    private static readonly string[] SpreadWords = ["spread", "already holds", "per host"];

    [Test, Order(1)]
    public async Task Three_members_of_one_shard_on_two_hosts_are_refused_for_spread_and_nothing_stays_reserved()
    {
        var request = new CreateClusterRequest("e2e-three", E2eLayout.Pool, 1, 3, HardHostSpread, E2eRequests.Template());
        using var response = await E2e.Requester.PostAsync("clusters", request);
        var problem = await Problem.ReadAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(problem.Status, Is.EqualTo(422), problem.Body);
            Assert.That(problem.Detail, Does.Contain("host").IgnoreCase, problem.Body);
            Assert.That(SpreadWords.Any(w => problem.Detail?.Contains(w, StringComparison.OrdinalIgnoreCase) ?? false), Is.True,
                $"the reason should name the spread rule: {problem.Detail}");
        });

        using (var cluster = await E2e.Requester.GetAsync("clusters/e2e-three"))
        {
            Assert.That(cluster.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), await cluster.Content.ReadAsStringAsync());
        }

        Assert.That(await E2e.Admin.ListInstancesAsync(), Is.Empty);
        foreach (var host in E2eLayout.Hosts)
        {
            var view = await E2e.Admin.GetHostAsync(host.Id);
            Assert.That(view.Instances, Is.Empty, $"{host.Id} holds instances");
            Assert.That(view.Disks.Where(d => d.ClaimedBy is not null || d.State == "Claimed"), Is.Empty, $"{host.Id} has claimed disks");
        }
    }

    [Test, Order(2)]
    public async Task Two_replicas_land_on_both_hosts_and_a_third_member_fails_naming_spread_with_nothing_reserved()
    {
        var watch = Stopwatch.StartNew();
        using var response = await E2e.Requester.PostAsync("clusters", new CreateClusterRequest("e2e-pair", E2eLayout.Pool, 1, 2, HardHostSpread, E2eRequests.Template()));
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body);
        var cluster = System.Text.Json.JsonSerializer.Deserialize<ClusterView>(body, ApiClient.Json)!;
        Assert.That(cluster.Members, Has.Count.EqualTo(2), body);
        Assert.That(cluster.Members.Select(m => m.Shard).Distinct().Count(), Is.EqualTo(1), "one shard");
        Assert.That(cluster.Members.Select(m => m.Host), Is.EquivalentTo(new[] { E2eLayout.HostA.Id, E2eLayout.HostB.Id }), "one member on each host");

        var members = new List<InstanceView>();
        foreach (var member in cluster.Members)
        {
            members.Add(await ApiClient.WaitSettledAsync(E2e.Requester, member.InstanceId, TimeSpan.FromSeconds(150)));
        }

        await TestContext.Progress.WriteLineAsync($"[e2e] cluster of 2 settled in {watch.Elapsed.TotalSeconds:F1} s: "
            + string.Join(" | ", members.Select(E2eRequests.Describe)));
        Assert.That(members.Select(m => m.State), Is.All.EqualTo("Ready"), string.Join("\n", members.Select(E2eRequests.Describe)));
        Assert.That(members.Select(m => m.Host), Is.Unique);

        var shown = await E2e.Requester.GetOkAsync<ClusterView>("clusters/e2e-pair");
        Assert.That(shown.State, Is.EqualTo("Ready"));

        // A third member of the same shard: refused at once (4xx) or accepted and then Failed; either way for spread.
        var shard = cluster.Members[0].Shard;
        using var third = await E2e.Requester.PostAsync("instances", E2eRequests.Instance(cluster: "e2e-pair", shard: shard));
        string reason;
        string? thirdId = null;
        if (third.StatusCode == HttpStatusCode.Accepted)
        {
            thirdId = (await ApiClient.ReadAsync<System.Text.Json.JsonElement>(third)).GetProperty("id").GetString()!;
            var failed = await ApiClient.WaitSettledAsync(E2e.Requester, thirdId, TimeSpan.FromSeconds(30));
            Assert.That(failed.State, Is.EqualTo("Failed"), E2eRequests.Describe(failed));
            reason = failed.Reason ?? "";
        }
        else
        {
            var problem = await Problem.ReadAsync(third);
            Assert.That(problem.Status, Is.InRange(400, 499), problem.Body);
            reason = problem.Detail ?? problem.Body;
        }

        await TestContext.Progress.WriteLineAsync($"[e2e] third member refused: {reason}");
        Assert.That(SpreadWords.Any(w => reason.Contains(w, StringComparison.OrdinalIgnoreCase)), Is.True,
            $"the reason should name the spread rule: {reason}");

        // Nothing stays reserved for it: the hosts hold exactly the two members.
        var memberIds = members.Select(m => m.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var host in E2eLayout.Hosts)
        {
            var view = await E2e.Admin.GetHostAsync(host.Id);
            Assert.Multiple(() =>
            {
                Assert.That(view.Instances.Select(i => i.Id), Is.SubsetOf(memberIds), $"{host.Id} instances");
                Assert.That(view.Instances, Has.Count.EqualTo(1), $"{host.Id} instances");
                Assert.That(view.Disks.Where(d => d.ClaimedBy is not null).Select(d => d.ClaimedBy), Is.SubsetOf(memberIds), $"{host.Id} disks");
                Assert.That(view.Disks.Count(d => d.State == "Claimed"), Is.EqualTo(1), $"{host.Id} claimed disks");
                Assert.That(view.NumaNodes.SelectMany(n => n.Cores).Where(c => c.Instance is not null).Select(c => c.Instance), Is.SubsetOf(memberIds), $"{host.Id} cores");
            });
        }

        Assert.That(await E2e.FindLeaksAsync(), Is.Empty);
        if (thirdId is not null)
        {
            Assert.That((await E2e.Admin.GetInstanceAsync(thirdId)).State, Is.EqualTo("Failed"));
        }
    }
}
