using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using DbProvisioner.Server.Tests.Support;

namespace DbProvisioner.Server.Tests.Api;

/// <summary>
/// The OpenAPI document the server generates from DbProvisioner.Api's records, against the copy checked in next to
/// these tests: a change of the wire contract is always a visible change in a commit.
/// </summary>
[TestFixture]
[Category("Fast")]
[NonParallelizable] // one server per process, as HttpShellTests says
public sealed class OpenApiContractTests
{
    public const string UpdateVariable = "DBPROV_UPDATE_OPENAPI";
    private const int MaxDiffLines = 120;

    [Test]
    public async Task The_generated_document_is_the_checked_in_copy()
    {
        await using var factory = new ServerFactory();
        using var response = await factory.CreateClient(key: null).GetAsync("/openapi/v1.json");
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var generated = Normalize(body);
        var path = CheckedInPath();

        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            await File.WriteAllTextAsync(path, generated);
            Assert.Warn($"{UpdateVariable}=1: wrote the generated document to {path}; commit it with the change that caused it.");
            return;
        }

        var checkedIn = File.Exists(path) ? (await File.ReadAllTextAsync(path)).ReplaceLineEndings("\n") : string.Empty;
        if (checkedIn != generated)
        {
            Assert.Fail(
                $"The OpenAPI document differs from the checked-in copy {path} (- checked in, + generated):\n{Diff(checkedIn, generated)}\n"
                + $"If the contract change is intended, refresh the copy and commit it: {UpdateVariable}=1 dotnet test "
                + "tests/DbProvisioner.Server.Tests -c Release --filter FullyQualifiedName~OpenApiContractTests");
        }
    }

    /// <summary>Indented, non-ASCII kept as is (the summaries use '–' and '≤'), one newline at the end.</summary>
    internal static string Normalize(string json) =>
        JsonNode.Parse(json)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping })
            .ReplaceLineEndings("\n") + "\n";

    /// <summary>The lines from the first difference to the last, with three lines of context: where the contract changed.</summary>
    internal static string Diff(string expected, string actual)
    {
        var before = expected.Split('\n');
        var after = actual.Split('\n');
        var head = 0;
        while (head < before.Length && head < after.Length && before[head] == after[head])
        {
            head++;
        }

        var tail = 0;
        while (tail < before.Length - head && tail < after.Length - head && before[^(tail + 1)] == after[^(tail + 1)])
        {
            tail++;
        }

        var text = new StringBuilder();
        var from = Math.Max(0, head - 3);
        text.Append("@@ line ").Append(from + 1).Append(" @@\n");
        foreach (var line in before[from..head])
        {
            text.Append("  ").Append(line).Append('\n');
        }

        var removed = before[head..^tail];
        var added = after[head..^tail];
        var lines = removed.Select(l => "- " + l).Concat(added.Select(l => "+ " + l)).ToList();
        foreach (var line in lines.Take(MaxDiffLines))
        {
            text.Append(line).Append('\n');
        }

        if (lines.Count > MaxDiffLines)
        {
            text.Append("  … ").Append(lines.Count - MaxDiffLines).Append(" more changed lines\n");
        }

        foreach (var line in after[^tail..].Take(3))
        {
            text.Append("  ").Append(line).Append('\n');
        }

        return text.ToString();
    }

    private static string CheckedInPath([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(thisFile)!)!, "openapi", "v1.json");
}
