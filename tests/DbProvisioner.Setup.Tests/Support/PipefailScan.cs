using System.Text;
using System.Text.RegularExpressions;

namespace DbProvisioner.Setup.Tests.Support;

/// <summary>
/// Pipelines that fail under <c>set -o pipefail</c> although nothing went wrong: a reader that closes early (head,
/// grep -q/-m) kills its writer with SIGPIPE, and the script exits 141. A fresh machine's first `make test` died of
/// <c>tr -dc … &lt; /dev/urandom | head -c 32</c> in hack/meta-db.sh. Conservative: any pipe into such a reader, and
/// any endless writer (/dev/urandom, /dev/zero, yes) feeding a pipe, is reported; use a bounded read instead.
/// </summary>
public static partial class PipefailScan
{
    public sealed record Finding(string File, int Line, string Text, string Why)
    {
        public override string ToString() => $"{File}:{Line}: {Text}  ({Why})";
    }

    /// <summary>The hack/*.sh and images/**/*.sh scripts of the checkout at <paramref name="repoDir"/>.</summary>
    public static IEnumerable<string> Scripts(string repoDir) =>
        Directory.EnumerateFiles(Path.Combine(repoDir, "hack"), "*.sh")
            .Concat(Directory.EnumerateFiles(Path.Combine(repoDir, "images"), "*.sh", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal);

    public static IEnumerable<Finding> Scan(string file, IReadOnlyList<string> lines)
    {
        // A pipeline may go on over several lines (a trailing \ or |): judge it as one, report its first line.
        for (var i = 0; i < lines.Count; i++)
        {
            var first = i;
            var code = new StringBuilder(StripComment(lines[i]));
            while (i + 1 < lines.Count && (code.ToString().TrimEnd().EndsWith('\\') || Regex.IsMatch(code.ToString(), @"(?<!\|)\|\s*$")))
            {
                code.Append(' ').Append(StripComment(lines[++i]));
            }

            if (Why(code.ToString()) is { } why) yield return new Finding(file, first + 1, lines[first].Trim(), why);
        }
    }

    /// <summary>Why this (comment-free) shell code dies of SIGPIPE under pipefail, or null.</summary>
    public static string? Why(string code)
    {
        code = StripComment(code);
        if (EndlessWriterIntoPipe().IsMatch(code)) return "an endless writer feeds a pipe: it dies of SIGPIPE when the reader stops";
        if (EarlyClosingReader().IsMatch(code)) return "a reader that closes early (head, grep -q/-m) kills its writer with SIGPIPE";
        return null;
    }

    /// <summary>The line without its comment: a # that starts a word outside quotes.</summary>
    private static string StripComment(string line)
    {
        char? quote = null;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote is null && c == '\\') { i++; continue; }
            if (quote is null && c is '\'' or '"') quote = c;
            else if (quote == c) quote = null;
            else if (quote is null && c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1]))) return line[..i];
        }

        return line;
    }

    [GeneratedRegex(@"(/dev/u?random|/dev/zero|(^|[;&|(]\s*)yes\b)[^|]*\|(?!\|)")]
    private static partial Regex EndlessWriterIntoPipe();

    [GeneratedRegex(@"(?<!\|)\|(?!\|)\s*(head\b|grep\s+(-[A-Za-z]*[qm]|--quiet|--silent|--max-count))")]
    private static partial Regex EarlyClosingReader();
}
