using System.CommandLine;
using System.Globalization;
using DbProvisioner.Api;
using DbProvisioner.Cli.Http;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace DbProvisioner.Cli.Commands;

/// <summary><c>dbprov cluster create|show</c>.</summary>
internal static class ClusterCommands
{
    public static Command Create(CommandRunner runner) =>
        new("cluster", "Create and inspect whole clusters (shards × replicas under a spread rule).")
        {
            CreateCluster(runner),
            Show(runner),
        };

    private static Command CreateCluster(CommandRunner runner)
    {
        var name = new Argument<string>("name") { Description = "Cluster name: lowercase letters, digits and '-', at most 40." };
        var pool = new Option<string>("--pool") { Description = "Pool to place the members in.", Required = true };
        var shards = new Option<int>("--shards") { Description = "Number of shards (1-64).", DefaultValueFactory = _ => 1 };
        var replicas = new Option<int>("--replicas") { Description = "Members per shard (1-9).", DefaultValueFactory = _ => 2 };
        var spread = new Option<string>("--spread")
        {
            Description = $"Failure domain members of one shard are spread over: {string.Join(", ", WireName.All<SpreadDomain>())}.",
            DefaultValueFactory = _ => WireName.Of(SpreadDomain.Host),
        };
        var maxPerDomain = new Option<int>("--max-per-domain") { Description = "At most this many members of one shard per domain.", DefaultValueFactory = _ => 1 };
        var soft = new Option<bool>("--soft") { Description = "Prefer the spread rule instead of enforcing it." };
        var cpus = new Option<int>("--cpus") { Description = "Exclusive CPUs per member.", Required = true };
        var memory = new Option<long>("--memory-mib") { Description = "Memory per member in MiB.", Required = true };
        var disk = new Option<long>("--disk-gib") { Description = "Disk per member in GiB.", Required = true };
        var swap = new Option<long?>("--swap-mib") { Description = "Swap allowance per member in MiB." };
        var swappiness = new Option<int?>("--swappiness") { Description = "0-100 (default 1)." };
        var diskClass = new Option<string?>("--disk-class") { Description = "Disk class (default standard)." };
        var numa = new Option<string?>("--numa") { Description = $"NUMA policy: {string.Join(", ", WireName.All<NumaPolicy>())} (default preferred)." };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once the cluster is accepted (202)." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for every member to be Ready.", DefaultValueFactory = _ => 900 };
        spread.AcceptOnlyFromAmong([.. WireName.All<SpreadDomain>()]);
        numa.AcceptOnlyFromAmong([.. WireName.All<NumaPolicy>()]);

        var command = new Command("create", "Create a cluster: every member is placed, or none is (requester).")
        {
            name, pool, shards, replicas, spread, maxPerDomain, soft, cpus, memory, disk, swap, swappiness, diskClass, numa, noWait, timeout,
        };
        runner.SetApiAction(command, "requester", async (context, cancellationToken) =>
        {
            var p = context.Parse;
            var body = new CreateClusterRequest(
                p.GetValue(name)!,
                p.GetValue(pool)!,
                p.GetValue(shards),
                p.GetValue(replicas),
                new SpreadSpec(WireName.Parse<SpreadDomain>(p.GetValue(spread)!), p.GetValue(maxPerDomain), p.GetValue(soft) ? SpreadMode.Soft : SpreadMode.Hard),
                new InstanceTemplateSpec(
                    p.GetValue(cpus), p.GetValue(memory), p.GetValue(swap), p.GetValue(disk), p.GetValue(diskClass), InstanceCommands.NumaOf(p.GetValue(numa)), p.GetValue(swappiness)));
            var cluster = await context.Client.PostAsync<CreateClusterRequest, ClusterView>("clusters", body, cancellationToken);
            if (p.GetValue(noWait) || IsSettled(cluster))
            {
                context.Render(cluster, RenderCluster);
                return cluster.State == "Failed" ? Failed(context, cluster) : ExitCodes.Ok;
            }

            var settled = await FollowAsync(context, cluster, TimeSpan.FromSeconds(p.GetValue(timeout)), cancellationToken);
            if (settled is null)
            {
                context.Environment.Error.WriteLine("error (timeout): the cluster did not become Ready in time; follow it with 'dbprov cluster show <name>'.");
                return ExitCodes.Failure;
            }

            context.Render(settled, RenderCluster);
            return settled.State == "Ready" ? ExitCodes.Ok : Failed(context, settled);
        });
        return command;
    }

    private static Command Show(CommandRunner runner)
    {
        var name = new Argument<string>("name") { Description = "Cluster name." };
        var command = new Command("show", "Show a cluster: state, spread rule, members with host and state.") { name };
        runner.SetApiAction(command, "viewer", async (context, cancellationToken) =>
        {
            var cluster = await context.Client.GetAsync<ClusterView>("clusters/" + Uri.EscapeDataString(context.Parse.GetValue(name)!), cancellationToken);
            context.Render(cluster, RenderCluster);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static int Failed(CommandContext context, ClusterView cluster)
    {
        context.Environment.Error.WriteLine($"error (failed): cluster {cluster.Name} failed: {cluster.Reason ?? "a member failed"}");
        return ExitCodes.Rejected;
    }

    /// <summary>
    /// Follows the cluster until every member is Ready or Failed: a long poll on one unsettled member at a time (the
    /// server answers when that member settles), the cluster read again after each. Null when <paramref name="timeout"/> is up.
    /// </summary>
    private static async Task<ClusterView?> FollowAsync(CommandContext context, ClusterView accepted, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var until = DateTimeOffset.UtcNow + timeout;
        var path = "clusters/" + Uri.EscapeDataString(accepted.Name);
        var interactive = context.Format == OutputFormat.Table && context.Console.Profile.Capabilities.Interactive;
        var round = interactive ? InstanceCommands.ProgressWait : InstanceCommands.QuietWait;

        async Task<ClusterView> NextAsync(ClusterView current)
        {
            var waiting = current.Members.First(m => !InstanceCommands.IsSettled(m.State));
            var left = until - DateTimeOffset.UtcNow;
            try
            {
                await InstanceCommands.WaitAsync(context.Client, waiting.InstanceId, round < left ? round : left, deadline.Token);
            }
            catch (ApiProblemException e) when (e.StatusCode == StatusNotFound)
            {
                // Not handed to its instance yet (a cluster resuming after a server crash): nothing to long-poll, look again shortly.
                await Task.Delay(round, deadline.Token);
            }

            return await context.Client.GetAsync<ClusterView>(path, deadline.Token);
        }

        try
        {
            var current = accepted;
            if (!interactive)
            {
                while (!IsSettled(current))
                {
                    current = await NextAsync(current);
                }

                return current;
            }

            await context.Console.Live(RenderCluster(current)).StartAsync(async live =>
            {
                while (!IsSettled(current))
                {
                    current = await NextAsync(current);
                    live.UpdateTarget(RenderCluster(current));
                    live.Refresh();
                }
            });
            return current;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The cluster is Ready or Failed, or every member is (a Degraded cluster: some member failed).</summary>
    internal static bool IsSettled(ClusterView cluster) =>
        InstanceCommands.IsSettled(cluster.State) || cluster.Members.All(static m => InstanceCommands.IsSettled(m.State));

    private const int StatusNotFound = 404;

    internal static IRenderable RenderCluster(ClusterView c)
    {
        var members = new Table().Border(TableBorder.Simple).Title("Members").AddColumns("Shard", "Instance", "Role", "Host", "State");
        foreach (var m in c.Members.OrderBy(m => m.Shard, StringComparer.Ordinal).ThenBy(m => m.InstanceId, StringComparer.Ordinal))
        {
            members.AddRow(Markup.Escape(m.Shard), Markup.Escape(m.InstanceId), Markup.Escape(m.Role), Markup.Escape(m.Host ?? "-"), InstanceCommands.StateMarkup(m.State));
        }

        return new Rows(
            CommandContext.PropertyTable(
                ("Cluster", c.Name),
                ("State", c.State),
                ("Reason", c.Reason),
                ("Pool", c.Pool),
                ("Shape", $"{c.Shards} shards × {c.Replicas} members"),
                ("Spread", $"at most {c.Spread.MaxPerDomain} per {WireName.Of(c.Spread.Domain)} ({WireName.Of(c.Spread.Mode)})"),
                ("Created", c.CreatedAt.ToString("u", CultureInfo.InvariantCulture))),
            members);
    }
}
