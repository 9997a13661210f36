using System.Security.Cryptography;
using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.Simulation;
using DbProvisioner.Runtime;
using DbProvisioner.Testing.Simulation;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Providers;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace DbProvisioner.Grains.Tests.Cluster;

/// <summary>
/// An in-process Orleans cluster (one silo) with the project's grains, in-memory grain storage
/// (allowed in grain unit tests only) and simulated hosts. Tests share it and stay apart by
/// unique host ids and pools.
/// </summary>
public sealed class GrainTestCluster : IAsyncDisposable
{
    private static FaultyGrainStorage? _storage;

    private GrainTestCluster(InProcessTestCluster cluster, SimulatedHostRuntimeFactory runtime, SimulatedMySqlAdmin mySql, RecordingAuditSink audit)
    {
        Cluster = cluster;
        Runtime = runtime;
        MySql = mySql;
        Audit = audit;
    }

    public InProcessTestCluster Cluster { get; }

    public SimulatedHostRuntimeFactory Runtime { get; }

    public SimulatedMySqlAdmin MySql { get; }

    public RecordingAuditSink Audit { get; }

    /// <summary>The grain storage, which a test can arm to refuse chosen reads and writes.</summary>
    public static FaultyGrainStorage Storage => _storage ?? throw new InvalidOperationException("the silo has not started");

    public IClusterClient Client => Cluster.Client;

    public static async Task<GrainTestCluster> StartAsync()
    {
        var runtime = new SimulatedHostRuntimeFactory();
        var mySql = new SimulatedMySqlAdmin();
        var audit = new RecordingAuditSink();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            // The same state serializer as the meta-database storage (Orleans binary, Domain types as JSON),
            // not the memory provider's default Newtonsoft one, which cannot read the Domain records back.
            silo.AddMemoryGrainStorage("Memory", options => options.Configure<Serializer>(
                (o, serializer) => o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer)));
            silo.Services.AddGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME,
                (sp, _) => _storage = new FaultyGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>("Memory")));
            // A key in memory: tests never write the appliance's key file.
            silo.Services.AddDbProvisionerGrains(o => o.ReadyDeadline = TimeSpan.FromSeconds(10), new AesGcmCredentialProtector(RandomNumberGenerator.GetBytes(32)));
            // Registered after the grains' defaults, so the simulations win.
            silo.Services.AddSingleton<IHostRuntimeFactory>(runtime);
            silo.Services.AddSingleton<IMySqlAdmin>(mySql);
            silo.Services.AddSingleton<IAuditSink>(audit);
            silo.AddIncomingGrainCallFilter<GrainCallRecorder>();
        });
        builder.ConfigureClient(client => client.Services.AddDomainSerialization());
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new GrainTestCluster(cluster, runtime, mySql, audit);
    }

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();
}
