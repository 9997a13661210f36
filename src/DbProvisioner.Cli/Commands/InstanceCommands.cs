using System.CommandLine;
using System.Globalization;
using DbProvisioner.Api;
using DbProvisioner.Cli.Http;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace DbProvisioner.Cli.Commands;

/// <summary><c>dbprov instance create|list|show|credentials|delete</c> (delete: <see cref="ScaleDownCommands.DeleteInstance"/>).</summary>
internal static class InstanceCommands
{
    public static readonly IReadOnlyList<string> Steps = ["Requested", "Placed", "DiskAttached", "ContainerStarted", "Ready"];

    /// <summary>How long one long poll may wait when the steps are drawn as they come: the drawing lags by at most this.</summary>
    internal static TimeSpan ProgressWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one long poll may wait when nothing is drawn; under the HTTP client's 60 s timeout.</summary>
    internal static TimeSpan QuietWait { get; set; } = TimeSpan.FromSeconds(30);

    public static Command Create(CommandRunner runner) =>
        new("instance", "Request and inspect MySQL instances.")
        {
            CreateInstance(runner),
            List(runner),
            Show(runner),
            Credentials(runner),
            ScaleDownCommands.DeleteInstance(runner),
        };

    private static Command CreateInstance(CommandRunner runner)
    {
        var pool = new Option<string>("--pool") { Description = "Pool to place the instance in (e.g. general).", Required = true };
        var cpus = new Option<int>("--cpus") { Description = "Exclusive CPUs.", Required = true };
        var memory = new Option<long>("--memory-mib") { Description = "Memory in MiB (at least 512).", Required = true };
        var disk = new Option<long>("--disk-gib") { Description = "Disk size in GiB (a whole disk at least this big).", Required = true };
        var swap = new Option<long?>("--swap-mib") { Description = "Swap allowance in MiB (default 0)." };
        var swappiness = new Option<int?>("--swappiness") { Description = "0-100 (default 1)." };
        var diskClass = new Option<string?>("--disk-class") { Description = "Disk class (default standard)." };
        var numa = new Option<string?>("--numa") { Description = $"NUMA policy: {string.Join(", ", WireName.All<NumaPolicy>())} (default preferred)." };
        var cluster = new Option<string?>("--cluster") { Description = "Cluster name (default standalone)." };
        var shard = new Option<string?>("--shard") { Description = "Shard name (default: the instance id)." };
        // Not --role: that global option picks the API key.
        var role = new Option<string?>("--member-role") { Description = "primary or replica (default replica)." };
        var idempotencyKey = new Option<string?>("--idempotency-key") { Description = "Retry-safe key: the same key and request answer the same instance." };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once the request is accepted (202) instead of waiting for Ready." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for Ready.", DefaultValueFactory = _ => 600 };
        numa.AcceptOnlyFromAmong([.. WireName.All<NumaPolicy>()]);
        role.AcceptOnlyFromAmong("primary", "replica");

        var command = new Command("create", "Request one instance and follow it to Ready (requester).")
        {
            pool, cpus, memory, disk, swap, swappiness, diskClass, numa, cluster, shard, role, idempotencyKey, noWait, timeout,
        };
        runner.SetApiAction(command, "requester", async (context, cancellationToken) =>
        {
            var p = context.Parse;
            var body = new CreateInstanceRequest(
                p.GetValue(cluster), p.GetValue(shard), p.GetValue(role), p.GetValue(cpus), p.GetValue(memory), p.GetValue(swap), p.GetValue(disk),
                p.GetValue(diskClass), NumaOf(p.GetValue(numa)), p.GetValue(pool), p.GetValue(swappiness));
            var headers = p.GetValue(idempotencyKey) is { } key
                ? new Dictionary<string, string> { ["Idempotency-Key"] = key }
                : new Dictionary<string, string>();
            var accepted = await context.Client.PostAsync<CreateInstanceRequest, InstanceAccepted>("instances", body, headers, cancellationToken);
            if (p.GetValue(noWait))
            {
                context.Render(accepted, a => CommandContext.PropertyTable(("Instance", a.Id), ("State", a.State), ("Follow", $"dbprov instance show {a.Id}")));
                return ExitCodes.Ok;
            }

            if (context.Format == OutputFormat.Table)
            {
                context.Console.MarkupLine($"Instance [bold]{Markup.Escape(accepted.Id)}[/] accepted; provisioning…");
            }

            var instance = await FollowAsync(context, accepted.Id, TimeSpan.FromSeconds(p.GetValue(timeout)), cancellationToken);
            return Finish(context, instance);
        });
        return command;
    }

    private static Command List(CommandRunner runner)
    {
        var state = new Option<string?>("--state") { Description = "Only instances in this state (e.g. Ready, Failed)." };
        var cluster = new Option<string?>("--cluster") { Description = "Only instances of this cluster." };
        var command = new Command("list", "List instances.") { state, cluster };
        runner.SetApiAction(command, "viewer", async (context, cancellationToken) =>
        {
            var query = new List<string>();
            if (context.Parse.GetValue(state) is { } s)
            {
                query.Add("state=" + Uri.EscapeDataString(s));
            }

            if (context.Parse.GetValue(cluster) is { } c)
            {
                query.Add("cluster=" + Uri.EscapeDataString(c));
            }

            var path = query.Count == 0 ? "instances" : "instances?" + string.Join('&', query);
            var instances = await context.Client.GetAsync<InstanceSummary[]>(path, cancellationToken);
            context.Render(instances, list =>
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumns("Instance", "State", "Cluster", "Shard", "Host");
                foreach (var i in list)
                {
                    table.AddRow(Markup.Escape(i.Id), StateMarkup(i.State), Markup.Escape(i.Cluster), Markup.Escape(i.Shard), Markup.Escape(i.Host ?? "-"));
                }

                return list.Length == 0 ? new Text("No instances.") : table;
            });
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Instance id." };
        var command = new Command("show", "Show an instance: state, host, cpu set, NUMA node, disk, endpoint, step timings.") { id };
        runner.SetApiAction(command, "viewer", async (context, cancellationToken) =>
        {
            var instance = await context.Client.GetAsync<InstanceView>("instances/" + Uri.EscapeDataString(context.Parse.GetValue(id)!), cancellationToken);
            context.Render(instance, RenderInstance);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Credentials(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Instance id." };
        var command = new Command("credentials", "Print the instance's credentials (the key that requested it, or admin).") { id };
        runner.SetApiAction(command, "requester", async (context, cancellationToken) =>
        {
            var credentials = await context.Client.GetAsync<CredentialsView>(
                $"instances/{Uri.EscapeDataString(context.Parse.GetValue(id)!)}/credentials", cancellationToken);
            context.Render(credentials, c => CommandContext.PropertyTable(
                ("Host", c.Host),
                ("Port", c.Port.ToString(CultureInfo.InvariantCulture)),
                ("User", c.User),
                ("Password", c.Password),
                ("Connect", MySqlCommand(c.Host, c.Port, c.User))));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Follows the instance until it is Ready or Failed with long polls (<c>GET /instances/{id}?waitSeconds=N</c>: the
    /// server answers when it settles), drawing the steps live on a terminal; null when <paramref name="timeout"/> is up.
    /// </summary>
    internal static async Task<InstanceView?> FollowAsync(CommandContext context, string id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var until = DateTimeOffset.UtcNow + timeout;
        InstanceView? last = null;

        async Task<InstanceView?> PollAsync(TimeSpan round, Action<InstanceView> onChange)
        {
            try
            {
                while (true)
                {
                    var current = await WaitAsync(context.Client, id, Shortest(round, until - DateTimeOffset.UtcNow), deadline.Token);
                    if (last is null || current.State != last.State || current.Steps.Count != last.Steps.Count)
                    {
                        onChange(current);
                    }

                    last = current;
                    if (IsSettled(current.State))
                    {
                        return current;
                    }
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }

        if (context.Format == OutputFormat.Json)
        {
            return await PollAsync(QuietWait, _ => { });
        }

        if (context.Console.Profile.Capabilities.Interactive)
        {
            InstanceView? result = null;
            await context.Console.Live(RenderProgress(null)).StartAsync(async live =>
            {
                result = await PollAsync(ProgressWait, view =>
                {
                    live.UpdateTarget(RenderProgress(view));
                    live.Refresh();
                });
            });
            return result;
        }

        // Not a terminal (a log, a pipe): one line per completed step.
        var printed = 0;
        return await PollAsync(ProgressWait, view =>
        {
            var steps = view.Steps;
            for (; printed < steps.Count; printed++)
            {
                var step = steps[printed];
                context.Console.WriteLine($"  {step.Step,-17} {FormatDuration(step.DurationMs),9}  {step.Outcome}");
            }
        });
    }

    /// <summary>One long poll: the instance once it settles, or as it is after <paramref name="wait"/> (whole seconds, at least 1).</summary>
    internal static Task<InstanceView> WaitAsync(DbProvisionerClient client, string id, TimeSpan wait, CancellationToken cancellationToken)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        return client.GetAsync<InstanceView>(
            string.Create(CultureInfo.InvariantCulture, $"instances/{Uri.EscapeDataString(id)}?waitSeconds={seconds}"), cancellationToken);
    }

    private static TimeSpan Shortest(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static int Finish(CommandContext context, InstanceView? instance)
    {
        if (instance is null)
        {
            context.Environment.Error.WriteLine("error (timeout): the instance did not reach Ready in time; follow it with 'dbprov instance show <id>'.");
            return ExitCodes.Failure;
        }

        if (context.Format == OutputFormat.Json)
        {
            context.Render(instance, RenderInstance);
        }
        else if (instance.State == "Ready" && instance.Endpoint is { } endpoint)
        {
            context.Console.MarkupLine($"[green]Ready[/] on host {Markup.Escape(instance.Host ?? "?")}, CPUs {Markup.Escape(instance.CpuSet ?? "?")}, "
                + $"NUMA {Markup.Escape(string.Join(',', instance.NumaNodes))}, disk {Markup.Escape(instance.Device ?? instance.Disk ?? "?")}.");
            context.Console.MarkupLine($"Endpoint: [bold]{Markup.Escape(endpoint.Host)}:{endpoint.Port}[/]");
            context.Console.MarkupLine($"Connect:  {Markup.Escape(MySqlCommand(endpoint.Host, endpoint.Port, "root"))}");
            context.Console.MarkupLine($"Password: dbprov instance credentials {Markup.Escape(instance.Id)}");
        }

        if (instance.State == "Ready")
        {
            return ExitCodes.Ok;
        }

        context.Environment.Error.WriteLine($"error (failed): instance {instance.Id} failed: {instance.Reason ?? "no reason given"}");
        return ExitCodes.Rejected;
    }

    internal static string MySqlCommand(string host, int port, string user) =>
        $"mysql -h {host} -P {port.ToString(CultureInfo.InvariantCulture)} -u {user} -p";

    internal static IRenderable RenderProgress(InstanceView? view)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("Step", "Took", "");
        var reached = (view?.Steps ?? []).GroupBy(s => s.Step).ToDictionary(g => g.Key, g => g.Last());
        var failed = view?.State == "Failed";
        var next = true;
        foreach (var name in Steps)
        {
            if (reached.TryGetValue(name, out var step))
            {
                table.AddRow($"[green]✓[/] {name}", FormatDuration(step.DurationMs), Markup.Escape(step.Outcome == "ok" ? string.Empty : step.Outcome));
            }
            else if (next && !failed)
            {
                table.AddRow($"[yellow]…[/] {name}", string.Empty, "[grey]in progress[/]");
                next = false;
            }
            else
            {
                table.AddRow($"[grey]· {name}[/]", string.Empty, string.Empty);
            }
        }

        if (failed)
        {
            table.AddRow("[red]✗ Failed[/]", string.Empty, Markup.Escape(view?.Reason ?? string.Empty));
        }

        return table;
    }

    internal static IRenderable RenderInstance(InstanceView i)
    {
        var rows = new List<IRenderable>
        {
            CommandContext.PropertyTable(
                ("Instance", i.Id),
                ("State", i.State),
                ("Reason", i.Reason),
                ("Cluster / shard / role", $"{i.Spec.Cluster} / {i.Spec.Shard} / {i.Spec.Role}"),
                ("Pool", i.Spec.Pool),
                ("Host", i.Host),
                ("CPU set", i.CpuSet),
                // Where the runtime picks the ids (a kubelet), the CPUs read back from the container, and how they compare.
                ("CPU set observed", i.ObservedCpuSet is { } seen ? (i.CpuSetNote is { Length: > 0 } note ? $"{seen} ({note})" : seen) : null),
                ("NUMA nodes", i.NumaNodes is { Count: > 0 } n ? string.Join(',', n) : null),
                ("Disk", i.Disk is null ? null : $"{i.Disk} ({i.Device})"),
                ("Endpoint", i.Endpoint is { } e ? $"{e.Host}:{e.Port}" : null),
                ("Resources", $"{i.Spec.Cpus} CPUs, {i.Spec.MemoryMiB} MiB (+{i.Spec.SwapMiB} MiB swap, swappiness {i.Spec.Swappiness}), "
                    + $"{i.Spec.DiskGiB} GiB {i.Spec.DiskClass}, NUMA {WireName.Of(i.Spec.Numa)}"),
                ("Requested by", i.RequestedBy),
                ("Created", i.CreatedAt.ToString("u", CultureInfo.InvariantCulture))),
        };
        if (i.Steps is { Count: > 0 } steps)
        {
            var table = new Table().Border(TableBorder.Simple).Title("Steps").AddColumns("Step", "At", "Took", "Outcome");
            foreach (var s in steps)
            {
                table.AddRow(Markup.Escape(s.Step), s.At.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture), FormatDuration(s.DurationMs), Markup.Escape(s.Outcome));
            }

            rows.Add(table);
        }

        return new Rows(rows);
    }

    /// <summary>The <c>--numa</c> option (already one of the policy's names) as the request's policy; null leaves the server's default.</summary>
    internal static NumaPolicy? NumaOf(string? name) => name is null ? null : WireName.Parse<NumaPolicy>(name);

    /// <summary>Ready or Failed: provisioning is over, one way or the other.</summary>
    internal static bool IsSettled(string state) => state is "Ready" or "Failed";

    internal static string StateMarkup(string state) => state switch
    {
        "Ready" => "[green]Ready[/]",
        "Failed" => "[red]Failed[/]",
        _ => $"[yellow]{Markup.Escape(state)}[/]",
    };

    internal static string FormatDuration(double milliseconds) => milliseconds switch
    {
        < 1000 => $"{milliseconds.ToString("0", CultureInfo.InvariantCulture)} ms",
        _ => $"{(milliseconds / 1000).ToString("0.0", CultureInfo.InvariantCulture)} s",
    };
}
