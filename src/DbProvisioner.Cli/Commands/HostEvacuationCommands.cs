using System.CommandLine;
using DbProvisioner.Api;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace DbProvisioner.Cli.Commands;

/// <summary><c>dbprov host uncordon|evacuate|evacuation</c>: move every instance off a host through the scale-down gate.</summary>
internal static class HostEvacuationCommands
{
    private static readonly TimeSpan FollowPoll = TimeSpan.FromSeconds(2);

    public static Command Uncordon(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Host id." };
        var command = new Command("uncordon", "Allow new placements on a host again (admin).") { id };
        runner.SetApiAction(command, "admin", async (context, cancellationToken) =>
        {
            var host = await context.Client.PostAsync<object, HostView>(
                $"hosts/{Uri.EscapeDataString(context.Parse.GetValue(id)!)}/cordon", new { cordoned = false }, cancellationToken);
            context.Render(host, HostCommands.RenderHost);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Evacuate(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Host id." };
        var follow = new Option<bool>("--follow") { Description = "Follow the evacuation until every instance settled (approvals come from another person)." };
        var command = new Command("evacuate",
            "Cordon a host and move every instance off it: a replacement elsewhere, then a scale-down request per old instance for an approver (admin).")
        { id, follow };
        runner.SetApiAction(command, "admin", async (context, cancellationToken) =>
        {
            var hostId = context.Parse.GetValue(id)!;
            var view = await context.Client.PostAsync<object, EvacuationView>($"hosts/{Uri.EscapeDataString(hostId)}/evacuate", new { }, cancellationToken);
            if (context.Parse.GetValue(follow)) view = await FollowAsync(context, hostId, view, cancellationToken);
            context.Render(view, Render);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Evacuation(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Host id." };
        var follow = new Option<bool>("--follow") { Description = "Follow the evacuation until every instance settled." };
        var command = new Command("evacuation", "Show a host's evacuation: per instance its replacement, scale-down request and states.") { id, follow };
        runner.SetApiAction(command, "viewer", async (context, cancellationToken) =>
        {
            var hostId = context.Parse.GetValue(id)!;
            var view = await context.Client.GetAsync<EvacuationView>($"hosts/{Uri.EscapeDataString(hostId)}/evacuation", cancellationToken);
            if (context.Parse.GetValue(follow)) view = await FollowAsync(context, hostId, view, cancellationToken);
            context.Render(view, Render);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Polls until the evacuation is no longer under way, printing each instance's phase when it changes.</summary>
    private static async Task<EvacuationView> FollowAsync(CommandContext context, string hostId, EvacuationView view, CancellationToken cancellationToken)
    {
        var shown = "";
        while (view.State == "Evacuating")
        {
            var line = string.Join(", ", view.Instances.Select(static i => $"{i.InstanceId}: {i.Phase}{(i.ScaleDownId is null ? "" : " (" + i.ScaleDownId + ")")}"));
            if (line != shown)
            {
                context.Environment.Error.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss} {view.State}: {line}");
                shown = line;
            }
            await Task.Delay(FollowPoll, cancellationToken);
            view = await context.Client.GetAsync<EvacuationView>($"hosts/{Uri.EscapeDataString(hostId)}/evacuation", cancellationToken);
        }
        return view;
    }

    internal static IRenderable Render(EvacuationView view)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("Instance", "State", "Replacement", "On host", "Replacement state", "Scale-down", "Scale-down state", "Phase", "Reason");
        foreach (var i in view.Instances)
        {
            table.AddRow(Markup.Escape(i.InstanceId), Markup.Escape(i.InstanceState ?? "-"), Markup.Escape(i.ReplacementId), Markup.Escape(i.ReplacementHost),
                Markup.Escape(i.ReplacementState ?? "-"), Markup.Escape(i.ScaleDownId ?? "-"), Markup.Escape(i.ScaleDownState ?? "-"),
                Markup.Escape(i.Phase), Markup.Escape(i.Reason ?? ""));
        }
        return new Rows(
            CommandContext.PropertyTable(("Host", view.HostId), ("Evacuation", view.State), ("Requested by", view.RequestedBy),
                ("Started", view.StartedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture)),
                ("Finished", view.FinishedAt?.ToString("u", System.Globalization.CultureInfo.InvariantCulture))),
            table,
            new Markup(view.Instances.Any(static i => i.Phase == "AwaitingApproval")
                ? "[yellow]Waiting for approval:[/] dbprov scale-down approve <id> (another person)\n"
                : ""));
    }
}
