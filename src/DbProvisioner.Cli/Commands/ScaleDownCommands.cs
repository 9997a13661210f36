using System.CommandLine;
using System.Globalization;
using DbProvisioner.Api;
using DbProvisioner.Cli.Config;
using DbProvisioner.Cli.Http;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace DbProvisioner.Cli.Commands;

/// <summary>
/// <c>dbprov scale-down list|show|approve|reject</c> and <c>dbprov instance delete</c>: the confirmation gate before any
/// removal. Approving shows the risk report and asks the approver to type the instance's name; blocking risks are
/// acknowledged only that way, never by <c>--yes</c>.
/// </summary>
internal static class ScaleDownCommands
{
    public static Command Create(CommandRunner runner) =>
        new("scale-down", "Review, approve or reject scale-down requests (removals waiting for a second person).")
        {
            List(runner),
            Show(runner),
            Approve(runner),
            Reject(runner),
        };

    /// <summary><c>dbprov instance delete ID</c>: creates a scale-down request; nothing is removed until it is approved.</summary>
    public static Command DeleteInstance(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Instance id." };
        var command = new Command("delete", "Request the removal of an instance: creates a scale-down request for an approver (requester).") { id };
        runner.SetApiAction(command, "requester", async (context, cancellationToken) =>
        {
            var view = await context.Client.DeleteAsync<ScaleDownView>("instances/" + Uri.EscapeDataString(context.Parse.GetValue(id)!), cancellationToken);
            if (context.Format == OutputFormat.Json)
            {
                context.Render(view, RenderRequest);
                return ExitCodes.Ok;
            }

            context.Console.MarkupLine($"Scale-down request [bold]{Markup.Escape(view.Id)}[/] created for instance {Markup.Escape(view.InstanceId)}: "
                + "nothing is removed until another person approves it.");
            context.Console.Write(RenderRisks(view.Risks));
            context.Console.MarkupLine($"Approve with: dbprov scale-down approve {Markup.Escape(view.Id)}  (expires {Time(view.ExpiresAt)})");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command List(CommandRunner runner)
    {
        var state = new Option<string?>("--state") { Description = "Only requests in this state: pending, approved, draining, removed, rejected, expired, failed, superseded." };
        var command = new Command("list", "List scale-down requests.") { state };
        runner.SetApiAction(command, "viewer", async (context, cancellationToken) =>
        {
            var path = context.Parse.GetValue(state) is { } s ? "scale-downs?state=" + Uri.EscapeDataString(s) : "scale-downs";
            var requests = await context.Client.GetAsync<ScaleDownView[]>(path, cancellationToken);
            context.Render(requests, list =>
            {
                if (list.Length == 0)
                {
                    return new Text("No scale-down requests.");
                }

                var table = new Table().Border(TableBorder.Rounded).AddColumns("Request", "State", "Instance", "Cluster / shard / role", "Risks", "Requested by", "Expires");
                foreach (var r in list)
                {
                    table.AddRow(
                        Markup.Escape(r.Id),
                        StateMarkup(r.State),
                        Markup.Escape(r.InstanceId),
                        Markup.Escape($"{r.Cluster} / {r.Shard} / {r.Role}"),
                        r.Risks.Count == 0 ? "[grey]none[/]" : string.Join(' ', r.Risks.Select(RiskCodeMarkup)),
                        Markup.Escape(r.RequestedBy),
                        Time(r.ExpiresAt));
                }

                // Why a request ended goes under the table, where a long reason is not squeezed into a column.
                var reasons = list.Where(static r => r.Reason is not null && r.State is "Superseded" or "Failed")
                    .Select(static r => (IRenderable)new Markup($"[grey]{Markup.Escape(r.Id)}: {Markup.Escape(r.State.ToLowerInvariant())}, {Markup.Escape(r.Reason!)}[/]\n"))
                    .ToList();
                return reasons.Count == 0 ? table : new Rows([table, .. reasons]);
            });
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Scale-down request id (sd-…)." };
        var command = new Command("show", "Show a scale-down request: its risks, the decision and the removal's steps.") { id };
        runner.SetApiAction(command, "viewer", async (context, cancellationToken) =>
        {
            var view = await context.Client.GetAsync<ScaleDownView>(RequestPath(context.Parse.GetValue(id)!), cancellationToken);
            context.Render(view, RenderRequest);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Approve(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Scale-down request id (sd-…)." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask; refused when the request has a blocking risk (those are acknowledged only by typing the instance's name)." };
        var command = new Command("approve", "Approve a removal after reading its risk report; asks you to type the instance's name (approver).") { id, yes };
        runner.SetApiAction(command, "approver", async (context, cancellationToken) =>
        {
            var requestId = context.Parse.GetValue(id)!;
            var view = await context.Client.GetAsync<ScaleDownView>(RequestPath(requestId), cancellationToken);
            // With --output json stdout carries only the answer; the report goes to stderr.
            var report = context.Format == OutputFormat.Json ? context.Error : context.Console;
            report.Write(RenderRequest(view));
            if (view.State != "Pending")
            {
                context.Environment.Error.WriteLine(
                    $"error (not pending): scale-down request {view.Id} is {view.State}{(view.Reason is null ? "" : $" ({view.Reason})")}; nothing was approved.");
                return ExitCodes.Rejected;
            }

            var blocking = view.Risks.Where(IsBlocking).ToList();
            if (context.Parse.GetValue(yes))
            {
                if (blocking.Count > 0)
                {
                    context.Environment.Error.WriteLine(
                        $"error (blocking risks): --yes cannot approve a request with blocking risks ({string.Join(", ", blocking.Select(b => WireName.Of(b.Code)))}); "
                        + "run without --yes and type the instance's name to acknowledge them. Nothing was approved.");
                    return ExitCodes.Rejected;
                }
            }
            else
            {
                if (!context.Environment.InputIsTerminal)
                {
                    context.Environment.Error.WriteLine(
                        "error (no terminal): approving asks you to type the instance's name, and stdin is not a terminal; "
                        + "pass --yes (only when nothing is blocking). Nothing was approved.");
                    return ExitCodes.Usage;
                }

                if (blocking.Count > 0)
                {
                    report.MarkupLine($"[red bold]{blocking.Count} blocking risk(s)[/]: typing the name acknowledges {Markup.Escape(string.Join(", ", blocking.Select(b => WireName.Of(b.Code))))}.");
                }

                context.Environment.Error.Write($"Type the instance's name ({view.InstanceId}) to approve its removal: ");
                context.Environment.Error.Flush();
                var answer = await context.Environment.In.ReadLineAsync(cancellationToken);
                if (answer is null)
                {
                    context.Environment.Error.WriteLine();
                    context.Environment.Error.WriteLine("error (no answer): input ended before the confirmation; nothing was approved.");
                    return ExitCodes.Usage;
                }

                if (!string.Equals(answer.Trim(), view.InstanceId, StringComparison.Ordinal))
                {
                    context.Environment.Error.WriteLine($"error (not confirmed): '{answer.Trim()}' is not '{view.InstanceId}'; nothing was approved.");
                    return ExitCodes.Rejected;
                }
            }

            var approved = await context.Client.PostAsync<ApproveScaleDownRequest, ScaleDownView>(
                RequestPath(requestId) + "/approve", new ApproveScaleDownRequest([.. blocking.Select(b => b.Code)]), cancellationToken);
            if (context.Format == OutputFormat.Json)
            {
                context.Render(approved, RenderRequest);
            }
            else
            {
                context.Console.MarkupLine($"[green]Approved[/] by {Markup.Escape(approved.Decision?.By ?? "you")}: instance {Markup.Escape(approved.InstanceId)} is "
                    + $"{StateMarkup(approved.State)}. Follow with: dbprov scale-down show {Markup.Escape(approved.Id)}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Reject(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Scale-down request id (sd-…)." };
        var reason = new Option<string>("--reason") { Description = "Why the removal is rejected (recorded in the audit trail).", Required = true };
        var command = new Command("reject", "Reject a scale-down request; nothing is removed (approver).") { id, reason };
        runner.SetApiAction(command, "approver", async (context, cancellationToken) =>
        {
            var text = context.Parse.GetValue(reason)!;
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new CliUsageException("--reason must say why the request is rejected.");
            }

            var view = await context.Client.PostAsync<RejectScaleDownRequest, ScaleDownView>(
                RequestPath(context.Parse.GetValue(id)!) + "/reject", new RejectScaleDownRequest(text), cancellationToken);
            context.Render(view, v => new Markup($"[yellow]Rejected[/] {Markup.Escape(v.Id)} (instance {Markup.Escape(v.InstanceId)} stays).\n"));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string RequestPath(string id) => "scale-downs/" + Uri.EscapeDataString(id);

    internal static IRenderable RenderRequest(ScaleDownView v)
    {
        var rows = new List<IRenderable>
        {
            CommandContext.PropertyTable(
                ("Request", v.Id),
                ("State", v.State),
                ("Instance", v.InstanceId),
                ("Cluster / shard / role", $"{v.Cluster} / {v.Shard} / {v.Role}"),
                ("Host", v.Host),
                ("Instance version", v.InstanceVersion.ToString(CultureInfo.InvariantCulture)),
                ("Requested by", v.RequestedBy),
                ("Created", v.CreatedAt.ToString("u", CultureInfo.InvariantCulture)),
                ("Expires", v.ExpiresAt.ToString("u", CultureInfo.InvariantCulture)),
                ("Decision", v.Decision is { } d ? $"{d.Decision} by {d.By} at {d.At.ToString("u", CultureInfo.InvariantCulture)}{(d.Reason is null ? "" : ": " + d.Reason)}" : null),
                ("Reason", v.Reason)),
            RenderRisks(v.Risks),
        };
        if (v.Steps is { Count: > 0 } steps)
        {
            var table = new Table().Border(TableBorder.Simple).Title("Steps").AddColumns("Step", "At", "Outcome");
            foreach (var s in steps)
            {
                table.AddRow(Markup.Escape(s.Step), s.At.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture), Markup.Escape(s.Outcome));
            }

            rows.Add(table);
        }

        return new Rows(rows);
    }

    /// <summary>The risk report: blocking risks in red, warnings in yellow.</summary>
    internal static IRenderable RenderRisks(IReadOnlyList<RiskItemView> risks)
    {
        if (risks.Count == 0)
        {
            return new Markup("[green]Risk report: no risks found.[/]\n");
        }

        var table = new Table().Border(TableBorder.Rounded).Title("Risk report").AddColumns("Severity", "Code", "What the removal would do");
        foreach (var r in risks.OrderBy(r => IsBlocking(r) ? 0 : 1).ThenBy(r => WireName.Of(r.Code), StringComparer.Ordinal))
        {
            var colour = IsBlocking(r) ? "red" : "yellow";
            table.AddRow($"[{colour} bold]{Markup.Escape(WireName.Of(r.Severity))}[/]", $"[{colour}]{Markup.Escape(WireName.Of(r.Code))}[/]", $"[{colour}]{Markup.Escape(r.Message)}[/]");
        }

        return table;
    }

    private static bool IsBlocking(RiskItemView risk) => risk.Severity == RiskSeverity.Blocking;

    private static string RiskCodeMarkup(RiskItemView r) =>
        IsBlocking(r) ? $"[red]{Markup.Escape(WireName.Of(r.Code))}[/]" : $"[yellow]{Markup.Escape(WireName.Of(r.Code))}[/]";

    private static string StateMarkup(string state) => state switch
    {
        "Removed" => "[green]Removed[/]",
        "Rejected" or "Expired" or "Failed" => $"[red]{Markup.Escape(state)}[/]",
        // Ended without harm: another request removed the instance, or it changed; nothing left to decide.
        "Superseded" => "[grey]Superseded[/]",
        _ => $"[yellow]{Markup.Escape(state)}[/]",
    };

    private static string Time(DateTimeOffset at) => Markup.Escape(at.ToString("u", CultureInfo.InvariantCulture));
}
