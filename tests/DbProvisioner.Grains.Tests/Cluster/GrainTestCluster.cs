using System.Security.Cryptography;
using DbProvisioner.Contracts;
using DbProvisioner.Grains.Tests.Simulation;
using DbProvisioner.Runtime;
using Microsoft.Extensions.DependencyInjection;
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
            silo.AddMemoryGrainStorageAsDefault(options => options.Configure<Serializer>(
                (o, serializer) => o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer)));
            // A key in memory: tests never write the appliance's key file.
            silo.Services.AddDbProvisionerGrains(o => o.ReadyDeadline = TimeSpan.FromSeconds(10), new AesGcmCredentialProtector(RandomNumberGenerator.GetBytes(32)));
            // Registered after the grains' defaults, so the simulations win.
            silo.Services.AddSingleton<IHostRuntimeFactory>(runtime);
            silo.Services.AddSingleton<IMySqlAdmin>(mySql);
            silo.Services.AddSingleton<IAuditSink>(audit);
        });
        builder.ConfigureClient(client => client.Services.AddDomainSerialization());
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new GrainTestCluster(cluster, runtime, mySql, audit);
    }

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();
}
