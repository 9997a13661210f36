using System.Diagnostics;
using System.Globalization;
using System.Net;
using DbProvisioner.Api;
using DbProvisioner.Testing;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// Request → every member Ready for a 2×2 cluster (2 shards × 2 replicas, hard host spread) on the fleet of real
/// engines (hack/fleet.sh node-1 and node-2, mutual TLS): each node is registered as host bench-node-K with both of its
/// pool disks (disk-01, disk-02, Ready and seeded before the first request) and ports 3620–3629 on its own address, so
/// each node holds one member of each shard. Between runs every member is removed through the scale-down gate and
/// the disks are Ready and seeded again (untimed). Everything labelled dbprov.host=bench-node-K is removed before and after.
/// </summary>
internal static class ClusterDelivery
{
    private const string Pool = "bench-fleet";
    private static readonly string[] PoolFiles = ["disk-01", "disk-02"];
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    public sealed record Run(double ReadySeconds, double SlowestMemberSeconds, string Members);

    private static string HostId(int node) => $"bench-node-{node}";

    public static async Task<IReadOnlyList<Run>> MeasureAsync(int runs, Func<BenchServer, string, Task> removeAsync, Func<BenchServer, IReadOnlyList<string>, Task> waitDisksAsync)
    {
        await FleetNodes.RequireUpAsync();
        await CleanAsync();
        var results = new List<Run>();
        try
        {
            await using var server = await BenchServer.StartAsync("delivery-cluster");
            try
            {
                foreach (var node in FleetNodes.Nodes) await RegisterAsync(server, node);
                var hosts = FleetNodes.Nodes.Select(HostId).ToList();
                await waitDisksAsync(server, hosts);
                for (var n = 1; n <= runs; n++)
                {
                    var run = await MeasureOneAsync(server, n);
                    results.Add(run);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  cluster #{n}: every member Ready {run.ReadySeconds:0.00} s  {run.Members}"));
                    var members = (await server.Requester.GetAsync<ClusterView>($"clusters/bench-c{n}")).Members;
                    await Task.WhenAll(members.Select(m => removeAsync(server, m.InstanceId)));
                    if (n < runs) await waitDisksAsync(server, hosts);
                }
            }
            catch
            {
                Console.Error.WriteLine($"  server output ({server.LogFile}):\n{server.Tail()}");
                throw;
            }
        }
        finally
        {
            var removed = await CleanAsync();
            Console.Error.WriteLine($"delivery: removed {removed} containers/volumes of the fleet's bench hosts at the end");
        }
        return results;
    }

    private static async Task<Run> MeasureOneAsync(BenchServer server, int n)
    {
        var request = new CreateClusterRequest(string.Create(CultureInfo.InvariantCulture, $"bench-c{n}"), Pool, 2, 2, SpreadSpec.HostHard,
            new InstanceTemplateSpec(1, 1024, null, 1, "standard", NumaPolicy.Preferred));
        var start = Stopwatch.GetTimestamp();
        var cluster = await server.Requester.PostAsync<ClusterView>("clusters", request, HttpStatusCode.Accepted);
        var members = await Task.WhenAll(cluster.Members.Select(async m =>
        {
            var view = await Eventually.UntilAsync(() => server.Requester.GetAsync<InstanceView>($"instances/{m.InstanceId}?waitSeconds=30"),
                static v => v.State is "Ready" or "Failed", Timeout, $"member {m.InstanceId} to be Ready or Failed");
            return (View: view, Seconds: Stopwatch.GetElapsedTime(start).TotalSeconds);
        }));
        var all = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var failed = members.Where(static m => m.View.State != "Ready").ToList();
        if (failed.Count > 0)
            throw new InvalidOperationException("cluster member(s) failed: " + string.Join("; ", failed.Select(static m => $"{m.View.Id} {m.View.Reason}")));
        var described = string.Join(", ", members.Select(static m => string.Create(CultureInfo.InvariantCulture, $"{m.View.Spec.Shard}@{m.View.Host}:{m.View.Endpoint?.Port} {m.Seconds:0.00}s")));
        return new Run(all, members.Max(static m => m.Seconds), described);
    }

    private static async Task RegisterAsync(BenchServer server, int node)
    {
        var request = new RegisterHostRequest(
            HostId(node), FleetNodes.Endpoint(node).ToString().TrimEnd('/'), "z1", $"r-node-{node}", Pool,
            [.. PoolFiles.Select(f => new DiskSpec(FleetNodes.Disk(node, f), 2, "standard"))],
            null,
            new PortRangeSpec(3620, 3629),
            MySqlAddress: FleetNodes.Address(node),
            Watermarks: [new WatermarkSpec("standard", PoolFiles.Length, PoolFiles.Length)]);
        await server.Admin.PostAsync<HostView>("hosts", request, HttpStatusCode.Created);
    }

    /// <summary>Force-removes what the appliance made on each node for the bench hosts (containers, then volumes).</summary>
    private static async Task<int> CleanAsync()
    {
        var removed = 0;
        foreach (var node in FleetNodes.Nodes)
        {
            var label = $"label=dbprov.host={HostId(node)}";
            var (_, containers, _) = await FleetNodes.DockerAsync(node, "ps", "-aq", "--filter", label);
            foreach (var id in containers.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                if ((await FleetNodes.DockerAsync(node, "rm", "-f", "-v", id)).Exit == 0) removed++;
            var (_, volumes, _) = await FleetNodes.DockerAsync(node, "volume", "ls", "-q", "--filter", label);
            foreach (var name in volumes.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                if ((await FleetNodes.DockerAsync(node, "volume", "rm", "-f", name)).Exit == 0) removed++;
        }
        return removed;
    }
}
