using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace DbProvisioner.Testing;

/// <summary>
/// In-memory grain storage in place of the server's meta-database storage, for tests of HTTP + grains only (the server
/// itself never runs on it). The replaced provider's silo-lifecycle hook would cast the new provider to a lifecycle
/// participant, so it goes too; state is written with the same Orleans serializer the meta-database storage uses.
/// </summary>
public static class TestGrainStorage
{
    public static void UseMemoryGrainStorage(ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var hooks = silo.Services.Where(d => d.ServiceType == typeof(ILifecycleParticipant<ISiloLifecycle>)
            && d.ImplementationFactory?.Method.DeclaringType?.FullName?.StartsWith("Orleans.Runtime.Hosting.StorageProviderExtensions", StringComparison.Ordinal) == true).ToList();
        foreach (var hook in hooks)
        {
            silo.Services.Remove(hook);
        }

        silo.AddMemoryGrainStorageAsDefault(o => o.Configure<Serializer>(
            (m, serializer) => m.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer)));
    }
}
