using DbProvisioner.Server.Api;

namespace DbProvisioner.Server.Tests.Api;

/// <summary>The API's pool check: a pool once seen is not asked about again; an unknown one is asked each time.</summary>
public sealed class KnownPoolsTests
{
    [Test]
    public async Task A_pool_that_exists_is_asked_about_once_and_one_that_does_not_each_time()
    {
        var asked = new List<string>();
        var registered = new HashSet<string> { "general" };
        var pools = new KnownPools(pool => { asked.Add(pool); return Task.FromResult(registered.Contains(pool)); });

        Assert.That(await pools.ExistsAsync("general"), Is.True);
        Assert.That(await pools.ExistsAsync("general"), Is.True);
        Assert.That(await pools.ExistsAsync("fast"), Is.False);
        registered.Add("fast"); // a host registered in it meanwhile
        Assert.That(await pools.ExistsAsync("fast"), Is.True);
        Assert.That(await pools.ExistsAsync("fast"), Is.True);

        Assert.That(asked, Is.EqualTo(new[] { "general", "fast", "fast" }), "the index is asked only until it says yes");
    }
}
