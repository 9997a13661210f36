using DbProvisioner.Setup.Tests.Support;

namespace DbProvisioner.Setup.Tests;

/// <summary>hack/disks.sh on a machine that has no pool yet (before `disks.sh up`, or after `purge`).</summary>
public sealed class DiskPoolScriptTests
{
    [TestCase("list")]
    [TestCase("list", "run")]
    public async Task Listing_an_empty_state_directory_prints_nothing_and_succeeds(params string[] args)
    {
        var stateDir = Directory.CreateTempSubdirectory("dbprov-setup-state-").FullName;
        try
        {
            var (exit, stdout, stderr) = await HackScript.RunAsync("disks.sh", new Dictionary<string, string> { ["DBPROV_STATE_DIR"] = stateDir },
                TimeSpan.FromSeconds(30), args);

            Assert.That(exit, Is.Zero, stderr);
            Assert.That(stdout, Is.Empty);
            Assert.That(stderr, Is.Empty);
        }
        finally
        {
            Directory.Delete(stateDir, recursive: true);
        }
    }
}
