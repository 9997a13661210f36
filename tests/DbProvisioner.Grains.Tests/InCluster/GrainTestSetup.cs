using DbProvisioner.Grains.Tests.Cluster;

namespace DbProvisioner.Grains.Tests.InCluster;

/// <summary>One test cluster for every grain test of the assembly: starting a silo costs seconds.</summary>
[SetUpFixture]
public sealed class GrainTestSetup
{
    private static GrainTestCluster? _cluster;

    public static GrainTestCluster Cluster => _cluster ?? throw new InvalidOperationException("the grain test cluster has not started");

    [OneTimeSetUp]
    public async Task StartClusterAsync() => _cluster = await GrainTestCluster.StartAsync();

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
        _cluster = null;
    }
}
