using System.Collections.Concurrent;

namespace DbProvisioner.Server.Api;

/// <summary>
/// The pools this server has seen exist. A pool exists once a host is registered in it and hosts never leave their pool,
/// so a "yes" from the pool's placement index is kept and later requests skip that call; a "no" is asked again each time
/// (a host may be registered meanwhile). A pool that loses every host still gets a placement refusal naming the pool.
/// Made with the grain factory's <c>PoolExistsAsync</c>: one call to the pool's placement index.
/// </summary>
public sealed class KnownPools(Func<string, Task<bool>> askIndex)
{
    private const int MaxRemembered = 4096;
    private readonly ConcurrentDictionary<string, byte> _known = new(StringComparer.Ordinal);

    public async Task<bool> ExistsAsync(string pool)
    {
        if (_known.ContainsKey(pool)) return true;
        if (!await askIndex(pool)) return false;
        if (_known.Count < MaxRemembered) _known.TryAdd(pool, 0);
        return true;
    }
}
