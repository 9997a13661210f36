using System.Text;

namespace DbProvisioner.Domain.Silos;

/// <summary>
/// Which active silo does the cluster-wide periodic work for a key (a host id, "fleet-metrics"): rendezvous hashing, the
/// silo with the highest score for the key wins. Every silo computes the same answer from the same membership, without
/// talking to the others; when a silo leaves, only its keys move (each to the runner-up), and a silo that joins takes
/// about 1/N of them. Silos whose membership views differ for a moment may both (or neither) do a key's work for one
/// round: the work is an idempotent probe, so a repeat or a skipped round is harmless.
/// </summary>
public static class SiloShares
{
    /// <summary>The silo that does the work for <paramref name="key"/>, or null when no silo is active.</summary>
    public static string? OwnerOf(string key, IReadOnlyCollection<string> activeSilos)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(activeSilos);
        string? owner = null;
        var best = 0UL;
        foreach (var silo in activeSilos)
        {
            var score = Score(silo, key);
            // Ties (astronomically rare) go to the ordinally smaller name, so the answer never depends on the order given.
            if (owner is null || score > best || (score == best && string.CompareOrdinal(silo, owner) < 0))
            {
                owner = silo;
                best = score;
            }
        }

        return owner;
    }

    /// <summary>True when <paramref name="silo"/> is active and owns <paramref name="key"/>.</summary>
    public static bool IsMine(string key, IReadOnlyCollection<string> activeSilos, string silo) =>
        string.Equals(OwnerOf(key, activeSilos), silo, StringComparison.Ordinal);

    /// <summary>The keys of <paramref name="keys"/> that <paramref name="silo"/> owns.</summary>
    public static IReadOnlyList<string> MineOf(IEnumerable<string> keys, IReadOnlyCollection<string> activeSilos, string silo) =>
        [.. keys.Where(k => IsMine(k, activeSilos, silo))];

    // FNV-1a over "silo\nkey", then the SplitMix64 finalizer: stable across processes and runs (string.GetHashCode is not).
    private static ulong Score(string silo, string key)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(silo + "\n" + key))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        hash ^= hash >> 30;
        hash *= 0xbf58476d1ce4e5b9UL;
        hash ^= hash >> 27;
        hash *= 0x94d049bb133111ebUL;
        return hash ^ (hash >> 31);
    }
}
