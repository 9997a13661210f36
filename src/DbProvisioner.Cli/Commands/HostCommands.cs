using System.CommandLine;
using System.Globalization;
using DbProvisioner.Api;
using DbProvisioner.Cli.Config;
using DbProvisioner.Cli.Http;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace DbProvisioner.Cli.Commands;

/// <summary><c>dbprov host add|list|show|cordon</c> (uncordon and evacuate in HostEvacuationCommands, inspect in <see cref="HostInspectCommand"/>).</summary>
internal static class HostCommands
{
    public static Command Create(CommandRunner runner) =>
        new("host", "Register and inspect hosts (the machines that run instances).")
        {
            Add(runner),
            List(runner),
            Show(runner),
            Cordon(runner),
            HostEvacuationCommands.Uncordon(runner),
            HostEvacuationCommands.Evacuate(runner),
            HostEvacuationCommands.Evacuation(runner),
            HostInspectCommand.Create(runner),
        };

    private static Command Add(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Host id: lowercase letters, digits and '-'." };
        var engine = new Option<string>("--engine") { Description = "Container engine endpoint.", DefaultValueFactory = _ => "unix:///var/run/docker.sock" };
        var zone = new Option<string>("--zone") { Description = "Failure zone.", Required = true };
        var rack = new Option<string>("--rack") { Description = "Rack.", Required = true };
        var pool = new Option<string>("--pool") { Description = "Pool the host serves (e.g. general).", Required = true };
        var disks = new Option<string[]>("--disk")
        {
            Description = "A whole disk as DEVICE:SIZE_GIB[:CLASS], e.g. /dev/sdb:500 (repeat for each disk).",
            AllowMultipleArgumentsPerToken = true,
        };
        var reserved = new Option<string?>("--reserved-cpus") { Description = "CPUs never handed out, e.g. 0-1." };
        var ports = new Option<string>("--ports") { Description = "Port range FIRST-LAST for instances.", DefaultValueFactory = _ => "3400-3499" };
        var mysqlAddress = new Option<string?>("--mysql-address") { Description = "Where the instances' ports answer (default 127.0.0.1)." };
        var topology = new Option<string?>("--topology")
        {
            Description = "Give the topology instead of discovering it: NODESxCORESxTHREADSxMEMORY_MIB_PER_NODE, e.g. 2x8x2x65536.",
        };
        var swap = new Option<long?>("--swap-mib")
        {
            Description = "Swap instances may use, in MiB (default: all the host has; with --topology, the host's swap).",
        };

        var command = new Command("add", "Register a host (admin).") { id, engine, zone, rack, pool, disks, reserved, ports, mysqlAddress, topology, swap };
        runner.SetApiAction(command, "admin", async (context, cancellationToken) =>
        {
            var body = new RegisterHostRequest(
                context.Parse.GetValue(id)!,
                context.Parse.GetValue(engine)!,
                context.Parse.GetValue(zone)!,
                context.Parse.GetValue(rack)!,
                context.Parse.GetValue(pool)!,
                [.. (context.Parse.GetValue(disks) ?? []).Select(ParseDisk)],
                context.Parse.GetValue(reserved),
                ParsePorts(context.Parse.GetValue(ports)!),
                context.Parse.GetValue(mysqlAddress),
                Topology: context.Parse.GetValue(topology) is { } t ? ParseTopology(t) : null,
                SwapMiB: context.Parse.GetValue(swap));
            var host = await context.Client.PostAsync<RegisterHostRequest, HostView>("hosts", body, cancellationToken);
            context.Render(host, RenderHost);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command List(CommandRunner runner)
    {
        var command = new Command("list", "List hosts with their free capacity.");
        runner.SetApiAction(command, "viewer", async (context, cancellationToken) =>
        {
            var hosts = await context.Client.GetAsync<HostSummary[]>("hosts", cancellationToken);
            context.Render(hosts, list =>
            {
                var table = new Table().Border(TableBorder.Rounded)
                    .AddColumns("Host", "Pool", "Zone", "Rack", "Free cores", "Ready disks", "Cordoned", "Image");
                foreach (var h in list)
                {
                    table.AddRow(
                        Markup.Escape(h.Id), Markup.Escape(h.Pool), Markup.Escape(h.Zone), Markup.Escape(h.Rack),
                        $"{h.FreeCores}/{h.TotalCores}", h.ReadyDisks.ToString(CultureInfo.InvariantCulture), h.Cordoned ? "[yellow]yes[/]" : "no",
                        Markup.Escape(DescribeImage(h.Image)));
                }

                return list.Length == 0 ? new Text("No hosts registered. Add one with: dbprov host add <id> --zone … --rack … --pool … --disk /dev/…:SIZE") : table;
            });
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Host id." };
        var command = new Command("show", "Show a host: CPU map per NUMA node, disks and their states, instances.") { id };
        runner.SetApiAction(command, "viewer", async (context, cancellationToken) =>
        {
            var host = await context.Client.GetAsync<HostView>("hosts/" + Uri.EscapeDataString(context.Parse.GetValue(id)!), cancellationToken);
            context.Render(host, RenderHost);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Cordon(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Host id." };
        var off = new Option<bool>("--off") { Description = "Uncordon: allow new placements again." };
        var command = new Command("cordon", "Stop (or with --off, allow again) new placements on a host (admin).") { id, off };
        runner.SetApiAction(command, "admin", async (context, cancellationToken) =>
        {
            var host = await context.Client.PostAsync<object, HostView>(
                $"hosts/{Uri.EscapeDataString(context.Parse.GetValue(id)!)}/cordon", new { cordoned = !context.Parse.GetValue(off) }, cancellationToken);
            context.Render(host, RenderHost);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The host's MySQL image in a few words: present, pulling with its progress, or failed with the engine's reason.</summary>
    internal static string DescribeImage(HostImageView? image) => image switch
    {
        null or { State: ImageState.Present } => "present",
        { State: ImageState.Pulling, BytesTotal: > 0 } p =>
            string.Create(CultureInfo.InvariantCulture, $"pulling {p.Percent}% ({p.BytesDone / (1024 * 1024)} of {p.BytesTotal / (1024 * 1024)} MiB)"),
        { State: ImageState.Pulling } => "pulling",
        _ => "FAILED: " + image.Error,
    };

    internal static IRenderable RenderHost(HostView host)
    {
        var rows = new List<IRenderable>
        {
            CommandContext.PropertyTable(
                ("Host", host.Id),
                ("Pool", host.Pool),
                ("Zone / rack", $"{host.Zone} / {host.Rack}"),
                ("Engine", host.EngineEndpoint),
                ("State", (host.Cordoned ? "cordoned" : "schedulable") + (host.Healthy ? ", healthy" : ", UNHEALTHY: " + host.Reason)),
                ("Image", DescribeImage(host.Image)),
                ("Last seen", host.LastSeen?.ToString("u", CultureInfo.InvariantCulture) ?? "not yet"),
                ("Free cores", host.FreeCores.ToString(CultureInfo.InvariantCulture)),
                ("Swap", DescribeSwap(host.Swap)),
                ("Reserved CPUs", host.ReservedCpus.Length == 0 ? "none" : host.ReservedCpus),
                ("Ports", $"{host.Ports.First}-{host.Ports.Last}")),
        };

        foreach (var node in host.NumaNodes)
        {
            var cores = new Table().Border(TableBorder.Simple)
                .Title($"NUMA node {node.Id}: {node.FreeMemoryMiB}/{node.MemoryMiB} MiB free")
                .AddColumns("Core", "CPUs", "Held by");
            foreach (var core in node.Cores)
            {
                var holder = core.Instance is { } instance ? $"[green]{Markup.Escape(instance)}[/]"
                    : core.Reserved ? "[grey]reserved[/]"
                    : "free";
                cores.AddRow(core.Core.ToString(CultureInfo.InvariantCulture), Markup.Escape(core.Cpus), holder);
            }

            rows.Add(cores);
        }

        var disks = new Table().Border(TableBorder.Simple).Title("Disks").AddColumns("Disk", "Device", "GiB", "Class", "State", "Seeded", "Claimed by");
        foreach (var d in host.Disks)
        {
            disks.AddRow(
                Markup.Escape(d.Id), Markup.Escape(d.Device), d.SizeGiB.ToString(CultureInfo.InvariantCulture), Markup.Escape(d.Class),
                d.Error is null ? Markup.Escape(d.State) : $"[red]{Markup.Escape(d.State)}: {Markup.Escape(d.Error)}[/]",
                d.Seeded ? "yes" : "no", Markup.Escape(d.ClaimedBy ?? "-"));
        }

        rows.Add(disks);
        if (host.Instances.Count > 0)
        {
            var instances = new Table().Border(TableBorder.Simple).Title("Instances").AddColumns("Instance", "CPUs", "Port", "Memory MiB", "Swap MiB");
            foreach (var i in host.Instances)
            {
                instances.AddRow(
                    Markup.Escape(i.Id), Markup.Escape(i.Cpus), i.Port.ToString(CultureInfo.InvariantCulture), i.MemoryMiB.ToString(CultureInfo.InvariantCulture),
                    i.SwapMiB.ToString(CultureInfo.InvariantCulture));
            }

            rows.Add(instances);
        }

        return new Rows(rows);
    }

    internal static string DescribeSwap(HostSwapView? swap) => swap switch
    {
        null => "unknown (older server)",
        { TotalMiB: 0 } => "none (the host has no swap)",
        { AllocatableMiB: 0 } => string.Create(CultureInfo.InvariantCulture, $"none for instances (the host has {swap.TotalMiB} MiB)"),
        _ => string.Create(CultureInfo.InvariantCulture,
            $"{swap.FreeMiB}/{swap.AllocatableMiB} MiB free for instances ({swap.UsedMiB} MiB used; the host has {swap.TotalMiB} MiB)"),
    };

    internal static DiskSpec ParseDisk(string text)
    {
        var parts = text.Split(':');
        if (parts.Length is < 2 or > 3 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            throw new CliUsageException($"--disk '{text}' is not DEVICE:SIZE_GIB[:CLASS] (e.g. /dev/sdb:500).");
        }

        return new DiskSpec(parts[0], size, parts.Length == 3 ? parts[2] : null);
    }

    internal static PortRangeSpec ParsePorts(string text)
    {
        var parts = text.Split('-');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last))
        {
            throw new CliUsageException($"--ports '{text}' is not FIRST-LAST (e.g. 3400-3499).");
        }

        return new PortRangeSpec(first, last);
    }

    internal static TopologySpec ParseTopology(string text)
    {
        var parts = text.Split('x');
        var numbers = parts.Select(p => long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1).ToArray();
        if (numbers.Length != 4 || numbers.Any(n => n < 1) || numbers[..3].Any(n => n > int.MaxValue))
        {
            throw new CliUsageException($"--topology '{text}' is not NODESxCORESxTHREADSxMEMORY_MIB_PER_NODE (e.g. 2x8x2x65536).");
        }

        return new TopologySpec((int)numbers[0], (int)numbers[1], (int)numbers[2], numbers[3]);
    }
}
