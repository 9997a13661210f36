using DbProvisioner.EndToEnd.Tests.Support;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>Before anything: remove what an earlier, killed run left on our hosts and in the meta server.</summary>
[SetUpFixture]
public sealed class E2eSuite
{
    [OneTimeSetUp]
    public async Task RemoveLeftoversAsync()
    {
        using var docker = new DockerEngine();
        var removed = await docker.RemoveOwnedAsync();
        var databases = await MetaDatabase.LeftoversAsync();
        foreach (var database in databases)
        {
            await MetaDatabase.DropAsync(database);
        }

        await TestContext.Progress.WriteLineAsync(
            $"[e2e] leftovers: {removed.Count} containers/volumes ({string.Join(", ", removed)}), {databases.Count} databases ({string.Join(", ", databases)})");
    }
}
