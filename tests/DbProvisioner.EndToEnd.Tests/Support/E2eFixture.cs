namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// A fixture with its own deployment (server process, throwaway meta database, both logical hosts), started once for
/// its tests and removed afterwards; a failing test prints the end of the server's output.
/// </summary>
[Category("EndToEnd")]
[NonParallelizable]
public abstract class E2eFixture
{
    protected E2eDeployment E2e { get; private set; } = null!;

    /// <summary>Server settings on top of the suite's own (e.g. a shorter drain).</summary>
    protected virtual IReadOnlyDictionary<string, string>? ServerSettings => null;

    [OneTimeSetUp]
    public async Task StartDeploymentAsync() => E2e = await E2eDeployment.StartAsync(ServerSettings);

    [OneTimeTearDown]
    public async Task StopDeploymentAsync()
    {
        if (E2e is not null)
        {
            await E2e.DisposeAsync();
        }
    }

    [TearDown]
    public void ShowServerOnFailure()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            TestContext.Out.WriteLine($"server output ({E2e.Server.LogFile}):\n{E2e.Server.Tail(150)}");
        }
    }
}
