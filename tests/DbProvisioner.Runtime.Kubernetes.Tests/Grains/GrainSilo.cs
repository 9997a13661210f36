using System.Security.Cryptography;
using DbProvisioner.Contracts;
using DbProvisioner.Grains;
using DbProvisioner.Testing.Simulation;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Grains;

/// <summary>One in-process silo with the real grains on memory storage (grain tests only), the given runtimes and MySQL admin.</summary>
internal static class GrainSilo
{
    public static async Task<InProcessTestCluster> StartAsync(IHostRuntimeFactory runtimes, IMySqlAdmin mySql, Action<ProvisioningOptions> provisioning)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage("Default", options => options.Configure<Serializer>(
                (o, serializer) => o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer)));
            silo.Services.AddDbProvisionerGrains(provisioning, new AesGcmCredentialProtector(RandomNumberGenerator.GetBytes(32)));
            silo.Services.AddSingleton(runtimes);
            silo.Services.AddSingleton(mySql);
            silo.Services.AddSingleton<IAuditSink>(new RecordingAuditSink());
        });
        builder.ConfigureClient(client => client.Services.AddDomainSerialization());
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
