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

    /// <summary>A line diff (longest common subsequence) with two lines of context around each change.</summary>
    internal static string Diff(string expected, string actual)
    {
        var before = expected.Split('\n');
        var after = actual.Split('\n');
        var lines = new List<(char Mark, string Text)>();
        // The document is a few thousand lines; the table is only built for the part between the common head and tail.
        var head = 0;
        while (head < before.Length && head < after.Length && before[head] == after[head])
        {
            lines.Add((' ', before[head++]));
        }

        var tail = 0;
        while (tail < before.Length - head && tail < after.Length - head && before[^(tail + 1)] == after[^(tail + 1)])
        {
            tail++;
        }

        var a = before[head..^tail];
        var b = after[head..^tail];
        var common = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                common[i, j] = a[i] == b[j] ? common[i + 1, j + 1] + 1 : Math.Max(common[i + 1, j], common[i, j + 1]);
            }
        }

        for (int i = 0, j = 0; i < a.Length || j < b.Length;)
        {
            if (i < a.Length && j < b.Length && a[i] == b[j])
            {
                lines.Add((' ', a[i++]));
                j++;
            }
            else if (i < a.Length && (j == b.Length || common[i + 1, j] >= common[i, j + 1]))
            {
                lines.Add(('-', a[i++]));
            }
            else
            {
                lines.Add(('+', b[j++]));
            }
        }

        lines.AddRange(before[^tail..].Select(l => (' ', l)));
        var shown = lines.Select((l, n) => (l, n)).Where(x => lines.Skip(Math.Max(0, x.n - 2)).Take(5).Any(c => c.Mark != ' ')).ToList();
        var text = new StringBuilder();
        var last = -1;
        foreach (var (line, n) in shown.Take(MaxDiffLines))
        {
            if (n != last + 1)
            {
                text.Append("@@ line ").Append(n + 1).Append(" @@\n");
            }

            text.Append(line.Mark).Append(' ').Append(line.Text).Append('\n');
            last = n;
        }

        return shown.Count > MaxDiffLines ? text.Append("… ").Append(shown.Count - MaxDiffLines).Append(" more lines\n").ToString() : text.ToString();
    }

    private static string CheckedInPath([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(thisFile)!)!, "openapi", "v1.json");
}
