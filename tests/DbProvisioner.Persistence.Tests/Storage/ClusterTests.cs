using DbProvisioner.Contracts;
using DbProvisioner.Persistence.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;

namespace DbProvisioner.Persistence.Tests.Storage;

/// <summary>The storage as a silo uses it: registered by name, grains with <c>[PersistentState]</c>.</summary>
[Category("MetaDb")]
public sealed class ClusterTests
{
    private InProcessTestCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task StartClusterAsync() => _cluster = await StartAsync();

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [Test]
    public void TheSiloResolvesTheDefaultProviderAsMetaDbStorage()
    {
        var silo = _cluster.GetActiveSilos().First();
        var services = _cluster.GetSiloServiceProvider(silo.SiloAddress);

        Assert.That(services.GetRequiredKeyedService<IGrainStorage>("Default"), Is.TypeOf<MySqlGrainStorage>());
        Assert.That(services.GetRequiredService<IGrainStorage>(), Is.TypeOf<MySqlGrainStorage>());
    }

    [Test]
    public async Task StatePersistsAcrossDeactivation()
    {
        var grain = _cluster.Client.GetGrain<ICounterGrain>($"host-{Guid.NewGuid():N}");
        await grain.IncrementAsync("alice");
        await grain.IncrementAsync("bob");
        var firstActivation = await grain.GetActivationMarkerAsync();

        await _cluster.DeactivateAsync(grain);
        await _cluster.WaitForDeactivationAsync(grain);

        Assert.That(await grain.GetActivationMarkerAsync(), Is.Not.EqualTo(firstActivation), "a new activation");
        var state = await grain.GetAsync();
        Assert.That(state.Count, Is.EqualTo(2));
        Assert.That(state.History, Is.EqualTo(new[] { "alice", "bob" }));
    }

    [Test]
    public async Task StatePersistsAcrossAWholeClusterRestart()
    {
        var key = $"host-{Guid.NewGuid():N}";
        await _cluster.Client.GetGrain<ICounterGrain>(key).IncrementAsync("before");

        await using (var restarted = await StartAsync())
        {
            var state = await restarted.Client.GetGrain<ICounterGrain>(key).GetAsync();
            Assert.That(state.Count, Is.EqualTo(1));
            Assert.That(state.LastBy, Is.EqualTo("before"));
        }
    }

    [Test]
    public async Task AWriteBehindTheGrainsBack_FailsItsNextWrite_AndTheNextCallWorksFromFreshState()
    {
        var grain = _cluster.Client.GetGrain<ICounterGrain>($"host-{Guid.NewGuid():N}");
        await grain.IncrementAsync("grain");

        // Another writer (another silo, an operator) moves the stored version on.
        var storage = StorageHarness.Create(MetaDbTestDatabase.Connections);
        var outside = new GrainState<CounterState>();
        await storage.ReadStateAsync("counter", grain.GetGrainId(), outside, CancellationToken.None);
        outside.State = new CounterState(10, "outside", ["outside"]);
        await storage.WriteStateAsync("counter", grain.GetGrainId(), outside, CancellationToken.None);

        var error = Assert.CatchAsync(() => grain.IncrementAsync("stale-activation"));
        Assert.That(error, Is.InstanceOf<InconsistentStateException>(), error?.ToString());

        // Orleans dropped the activation; the next call re-reads and succeeds.
        var state = await grain.IncrementAsync("retry");
        Assert.That(state.Count, Is.EqualTo(11));
        Assert.That(state.History, Is.EqualTo(new[] { "outside", "retry" }));
    }

    [Test]
    public async Task ClearStateFromAGrain_LeavesATombstoneAndAFreshState()
    {
        var grain = _cluster.Client.GetGrain<ICounterGrain>($"host-{Guid.NewGuid():N}");
        await grain.IncrementAsync("one");
        await grain.ClearAsync();
        await _cluster.DeactivateAsync(grain);
        await _cluster.WaitForDeactivationAsync(grain);

        Assert.That((await grain.GetAsync()).Count, Is.Zero);
        Assert.That((await grain.IncrementAsync("two")).Count, Is.EqualTo(1));
    }

    [Test]
    public async Task ASiloStartingOnAnEmptyServer_CreatesAndMigratesTheDatabaseBeforeGrainsRun()
    {
        var database = MetaDbTestDatabase.NewDatabaseName();
        try
        {
            await using (var cluster = await StartAsync(database))
            {
                var state = await cluster.Client.GetGrain<ICounterGrain>("first-ever").IncrementAsync("boot");
                Assert.That(state.Count, Is.EqualTo(1));
            }

            await using var connections = new MetaDbConnectionFactory(MetaDbTestDatabase.OptionsFor(database));
            Assert.That(await new MetaDbMigrator(connections).GetAppliedVersionsAsync(CancellationToken.None), Is.EqualTo(MetaDbMigrator.Migrations.Select(static m => m.Version).ToArray()), "every migration the build carries");
        }
        finally
        {
            await MetaDbTestDatabase.DropDatabaseAsync(database);
        }
    }

    private static async Task<InProcessTestCluster> StartAsync(string? database = null)
    {
        var builder = new InProcessTestClusterBuilder(1);
        // The storage's exception type lives beside the grain contracts, whose Domain types travel as JSON.
        builder.ConfigureClient(client => client.Services.AddDomainSerialization());
        builder.ConfigureSilo((_, silo) => silo
            .ConfigureServices(services => services.AddDomainSerialization())
            .ConfigureMetaDb(options =>
            {
                var test = MetaDbTestDatabase.Options;
                options.Host = test.Host;
                options.Port = test.Port;
                options.Database = database ?? test.Database;
                options.User = test.User;
                options.PasswordFile = test.PasswordFile;
            })
            .AddMetaDbGrainStorageAsDefault());
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
