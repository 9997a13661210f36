using DbProvisioner.Persistence.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace DbProvisioner.Persistence.Tests.Storage;

/// <summary>A <see cref="MySqlGrainStorage"/> outside a silo, serialising with Orleans' own serializer.</summary>
internal static class StorageHarness
{
    private static readonly Lazy<ServiceProvider> s_services = new(() => new ServiceCollection()
        .AddSerializer(serializer => serializer.AddAssembly(typeof(CounterState).Assembly))
        .BuildServiceProvider());

    public static MySqlGrainStorage Create(MetaDbConnectionFactory connections, string name = "test", DbProvisioner.Runtime.Faults.ChaosOptions? chaos = null)
    {
        var services = s_services.Value;
        var options = new MetaDbGrainStorageOptions
        {
            GrainStorageSerializer = new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>()),
            Chaos = chaos ?? new(),
        };
        return new MySqlGrainStorage(
            name,
            options,
            connections,
            new MetaDbMigrator(connections),
            services.GetRequiredService<IActivatorProvider>(),
            NullLogger<MySqlGrainStorage>.Instance);
    }

    public static GrainId NewGrainId() => GrainId.Create("storagetest", $"host-{Guid.NewGuid():N}");
}
