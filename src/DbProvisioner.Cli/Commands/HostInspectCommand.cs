using System.CommandLine;
using System.Globalization;
using DbProvisioner.Api;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace DbProvisioner.Cli.Commands;

/// <summary><c>dbprov host inspect ID</c>: the host's engine against the appliance's books, every drift with its fix.</summary>
internal static class HostInspectCommand
{
    public static Command Create(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Host id." };
        var command = new Command("inspect", "Compare what the host's engine runs (cpusets, memory and swap limits, restart policy, volumes, disks) with what the appliance holds.") { id };
        runner.SetApiAction(command, "viewer", async (context, cancellationToken) =>
        {
            var report = await context.Client.GetAsync<HostInspectionView>(
                $"hosts/{Uri.EscapeDataString(context.Parse.GetValue(id)!)}/inspection", cancellationToken);
            context.Render(report, Render);
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static IRenderable Render(HostInspectionView report)
    {
        var summary = CommandContext.PropertyTable(
            ("Host", report.HostId),
            ("Inspected at", report.At.ToString("u", CultureInfo.InvariantCulture)),
            ("Held instances", report.Instances.ToString(CultureInfo.InvariantCulture)),
            ("Engine", string.Create(CultureInfo.InvariantCulture, $"{report.Containers} instance containers, {report.Volumes} data volumes")),
            ("Drifts", report.Error is null ? report.Drifts.Count.ToString(CultureInfo.InvariantCulture) : "unknown"));
        if (report.Error is { } error) return new Rows(summary, new Markup($"[red]The engine could not be read:[/] {Markup.Escape(error)}"));
        if (report.Drifts.Count == 0) return new Rows(summary, new Markup("[green]No drift: the engine runs what the appliance holds.[/]"));

        var drifts = new Table().Border(TableBorder.Simple).Title("Drifts").AddColumns("Instance", "Kind", "Subject", "Found", "Expected", "Fix");
        foreach (var d in report.Drifts)
        {
            drifts.AddRow(Markup.Escape(d.Instance), Markup.Escape(WireName.Of(d.Kind)), Markup.Escape(d.Subject),
                $"[yellow]{Markup.Escape(d.Found)}[/]", Markup.Escape(d.Expected), Markup.Escape(d.Fix));
        }

        return new Rows(summary, drifts);
    }
}
