using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DbProvisioner.Benchmarks;

/// <summary>
/// `dotnet run -c Release --project tests/DbProvisioner.Benchmarks -- [scheduler ...]`: runs the
/// named suites (all when none is named), prints a table per suite and merges each suite's section
/// into artifacts/bench/results.json, leaving other suites' sections as they were.
/// </summary>
internal static class Program
{
    private static readonly Dictionary<string, Func<BenchSection>> Suites = new(StringComparer.Ordinal)
    {
        ["scheduler"] = SchedulerBenchmark.Run,
        ["grains"] = GrainBenchmark.Run,
        ["silos"] = SiloBenchmark.Run,
        ["delivery"] = DeliveryBenchmark.Run,
        ["memory"] = MemoryBenchmark.Run,
        ["machine"] = MachineSection.Run,
    };

    private static int Main(string[] args)
    {
        var names = args.Length == 0 ? [.. Suites.Keys] : args;
        var unknown = names.Where(n => !Suites.ContainsKey(n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"unknown suite(s): {string.Join(", ", unknown)}; known: {string.Join(", ", Suites.Keys)}");
            return 2;
        }
        foreach (var name in names)
        {
            var section = Suites[name]();
            section.Print(Console.Out);
            var path = ResultsFile.Merge(name, section);
            Console.WriteLine($"wrote section \"{name}\" to {path}");
        }
        return 0;
    }
}

/// <summary>One metric, what it is held against, and whether it met that.</summary>
internal sealed record BenchMetric(string Name, double Value, string Unit, string ComparedWith, bool? Met);

/// <summary>A suite's figures and the settings they were measured with.</summary>
/// <param name="Extra">Structured figures beside the metrics (e.g. the scheduler's scale curve), written under their own keys.</param>
internal sealed record BenchSection(string Title, IReadOnlyList<BenchMetric> Metrics, IReadOnlyDictionary<string, string> Settings, JsonObject? Extra = null)
{
    public void Print(TextWriter o)
    {
        var ci = CultureInfo.InvariantCulture;
        o.WriteLine();
        o.WriteLine(Title);
        foreach (var (k, v) in Settings) o.WriteLine($"  {k}: {v}");
        var w = Math.Max(6, Metrics.Max(static m => m.Name.Length));
        o.WriteLine($"  {"metric".PadRight(w)}  {"value",14}  {"unit",-12}  {"met",-4}  compared with");
        foreach (var m in Metrics)
        {
            var value = m.Value >= 100 ? m.Value.ToString("N0", ci) : m.Value.ToString("0.###", ci);
            var met = m.Met switch { true => "yes", false => "NO", null => "-" };
            o.WriteLine($"  {m.Name.PadRight(w)}  {value,14}  {m.Unit,-12}  {met,-4}  {m.ComparedWith}");
        }
    }

    public JsonObject ToJson()
    {
        var metrics = new JsonObject();
        foreach (var m in Metrics)
        {
            metrics[m.Name] = new JsonObject
            {
                ["value"] = m.Value,
                ["unit"] = m.Unit,
                ["compared_with"] = m.ComparedWith,
                ["met"] = m.Met is null ? null : JsonValue.Create(m.Met.Value),
            };
        }
        var settings = new JsonObject();
        foreach (var (k, v) in Settings) settings[k] = v;
        var section = new JsonObject
        {
            ["measured_at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["settings"] = settings,
            ["metrics"] = metrics,
        };
        foreach (var (k, v) in Extra ?? []) section[k] = v?.DeepClone();
        return section;
    }
}

/// <summary>artifacts/bench/results.json at the repository root: one section per suite, merged.</summary>
internal static class ResultsFile
{
    public static string Merge(string suite, BenchSection section)
    {
        var dir = Path.Combine(RepoRoot(), "artifacts", "bench");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "results.json");
        JsonObject root;
        try
        {
            root = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? [] : [];
        }
        catch (JsonException)
        {
            root = []; // a broken file from an interrupted run is replaced, not merged
        }
        root[suite] = section.ToJson();
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(tmp, path, overwrite: true);
        return path;
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "DbProvisioner.sln"))) return d.FullName;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "DbProvisioner.sln"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }
}
