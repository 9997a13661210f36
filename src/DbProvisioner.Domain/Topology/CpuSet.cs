using System.Globalization;
using System.Numerics;
using System.Text;

namespace DbProvisioner.Domain.Topology;

/// <summary>
/// An immutable set of logical CPU ids, printed and parsed in the Linux list syntax ("0-3,8-11").
/// Stored as a bit mask so that set operations on a 5,000-host fleet stay cheap.
/// </summary>
public sealed class CpuSet : IEquatable<CpuSet>, IComparable<CpuSet>
{
    private const int MaxCpuId = 65_535;
    private readonly ulong[] _words; // no trailing zero words, so equal sets have equal arrays

    public static CpuSet Empty { get; } = new([]);

    private CpuSet(ulong[] words) => _words = Trim(words);

    public int Count
    {
        get
        {
            var n = 0;
            foreach (var w in _words) n += BitOperations.PopCount(w);
            return n;
        }
    }

    public bool IsEmpty => _words.Length == 0;

    public static CpuSet Of(params int[] cpus) => Of((IEnumerable<int>)cpus);

    public static CpuSet Of(IEnumerable<int> cpus)
    {
        var words = Array.Empty<ulong>();
        foreach (var cpu in cpus)
        {
            if (cpu < 0 || cpu > MaxCpuId)
                throw new ArgumentOutOfRangeException(nameof(cpus), cpu, $"CPU id must be between 0 and {MaxCpuId}");
            var index = cpu >> 6;
            if (index >= words.Length) Array.Resize(ref words, index + 1);
            words[index] |= 1UL << (cpu & 63);
        }
        return new CpuSet(words);
    }

    public static CpuSet Range(int first, int lastInclusive) =>
        lastInclusive < first ? Empty : Of(Enumerable.Range(first, lastInclusive - first + 1));

    /// <summary>Parses "0-3,8-11" (whitespace and a trailing newline allowed; "" is the empty set).</summary>
    public static CpuSet Parse(string text)
    {
        if (!TryParse(text, out var set, out var error)) throw new FormatException(error);
        return set;
    }

    public static bool TryParse(string? text, out CpuSet set, out string error)
    {
        set = Empty;
        error = "";
        if (text is null) { error = "a CPU list is required"; return false; }
        var trimmed = text.Trim();
        if (trimmed.Length == 0) return true;
        var cpus = new List<int>();
        foreach (var part in trimmed.Split(','))
        {
            var p = part.Trim();
            var dash = p.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                if (!TryCpu(p, out var cpu)) { error = $"'{p}' is not a CPU id in '{trimmed}'"; return false; }
                cpus.Add(cpu);
                continue;
            }
            if (!TryCpu(p[..dash], out var lo) || !TryCpu(p[(dash + 1)..], out var hi))
            {
                error = $"'{p}' is not a CPU range in '{trimmed}'";
                return false;
            }
            if (hi < lo) { error = $"range '{p}' ends before it starts in '{trimmed}'"; return false; }
            for (var c = lo; c <= hi; c++) cpus.Add(c);
        }
        set = Of(cpus);
        return true;
    }

    private static bool TryCpu(string s, out int cpu) =>
        int.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out cpu) && cpu <= MaxCpuId;

    public bool Contains(int cpu)
    {
        if (cpu < 0) return false;
        var index = cpu >> 6;
        return index < _words.Length && (_words[index] & (1UL << (cpu & 63))) != 0;
    }

    /// <summary>The union of many sets in one pass (one allocation instead of one per set).</summary>
    public static CpuSet UnionOf(IEnumerable<CpuSet> sets)
    {
        ArgumentNullException.ThrowIfNull(sets);
        var words = Array.Empty<ulong>();
        foreach (var set in sets)
        {
            if (set._words.Length > words.Length) Array.Resize(ref words, set._words.Length);
            for (var i = 0; i < set._words.Length; i++) words[i] |= set._words[i];
        }
        return words.Length == 0 ? Empty : new CpuSet(words);
    }

    public CpuSet Union(CpuSet other) => Combine(other, static (a, b) => a | b);
    public CpuSet Intersect(CpuSet other) => Combine(other, static (a, b) => a & b);
    public CpuSet Except(CpuSet other) => Combine(other, static (a, b) => a & ~b);

    public bool Overlaps(CpuSet other)
    {
        var n = Math.Min(_words.Length, other._words.Length);
        for (var i = 0; i < n; i++)
            if ((_words[i] & other._words[i]) != 0) return true;
        return false;
    }

    public bool IsSubsetOf(CpuSet other) => Except(other).IsEmpty;

    /// <summary>CPU ids in ascending order.</summary>
    public IEnumerable<int> Cpus()
    {
        for (var i = 0; i < _words.Length; i++)
        {
            var w = _words[i];
            while (w != 0)
            {
                var bit = BitOperations.TrailingZeroCount(w);
                yield return (i << 6) + bit;
                w &= w - 1;
            }
        }
    }

    public int[] ToArray() => [.. Cpus()];

    /// <summary>Lowest CPU id, or -1 for the empty set.</summary>
    public int Min()
    {
        for (var i = 0; i < _words.Length; i++)
            if (_words[i] != 0) return (i << 6) + BitOperations.TrailingZeroCount(_words[i]);
        return -1;
    }

    private CpuSet Combine(CpuSet other, Func<ulong, ulong, ulong> op)
    {
        var n = Math.Max(_words.Length, other._words.Length);
        var result = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            var a = i < _words.Length ? _words[i] : 0UL;
            var b = i < other._words.Length ? other._words[i] : 0UL;
            result[i] = op(a, b);
        }
        return new CpuSet(result);
    }

    private static ulong[] Trim(ulong[] words)
    {
        var n = words.Length;
        while (n > 0 && words[n - 1] == 0) n--;
        return n == words.Length ? words : words[..n];
    }

    /// <summary>The Linux list syntax: ascending, ranges of three or more collapsed ("0-2,4,5").</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        var start = -1;
        var prev = -2;
        foreach (var cpu in Cpus())
        {
            if (cpu == prev + 1) { prev = cpu; continue; }
            Flush();
            start = prev = cpu;
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (start < 0) return;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(start.ToString(CultureInfo.InvariantCulture));
            if (prev == start + 1) sb.Append(',').Append(prev.ToString(CultureInfo.InvariantCulture));
            else if (prev > start) sb.Append('-').Append(prev.ToString(CultureInfo.InvariantCulture));
        }
    }

    public bool Equals(CpuSet? other) => other is not null && _words.AsSpan().SequenceEqual(other._words);
    public override bool Equals(object? obj) => obj is CpuSet other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var w in _words) hash.Add(w);
        return hash.ToHashCode();
    }

    /// <summary>Orders by lowest CPU, then by size, then word by word: a total order for tie-breaks.</summary>
    public int CompareTo(CpuSet? other)
    {
        if (other is null) return 1;
        var c = Min().CompareTo(other.Min());
        if (c != 0) return c;
        c = Count.CompareTo(other.Count);
        if (c != 0) return c;
        var n = Math.Max(_words.Length, other._words.Length);
        for (var i = 0; i < n; i++)
        {
            var a = i < _words.Length ? _words[i] : 0UL;
            var b = i < other._words.Length ? other._words[i] : 0UL;
            c = a.CompareTo(b);
            if (c != 0) return c;
        }
        return 0;
    }

    public static bool operator ==(CpuSet? left, CpuSet? right) => Equals(left, right);
    public static bool operator !=(CpuSet? left, CpuSet? right) => !Equals(left, right);
}
