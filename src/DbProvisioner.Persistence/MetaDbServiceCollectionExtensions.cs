using DbProvisioner.Persistence.ApiKeys;
using DbProvisioner.Persistence.Audit;
using DbProvisioner.Persistence.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;

namespace DbProvisioner.Persistence;

public static class MetaDbServiceCollectionExtensions
{
    /// <summary>
    /// Registers the meta database: <see cref="MetaDbOptions"/>, one pooled <see cref="MetaDbConnectionFactory"/>,
    /// the <see cref="MetaDbMigrator"/>, <see cref="AuditLog"/> and <see cref="ApiKeyStore"/>. Safe to call more than once;
    /// every <paramref name="configure"/> is applied.
    /// </summary>
    public static IServiceCollection AddMetaDb(this IServiceCollection services, Action<MetaDbOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<MetaDbOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new MetaDbConnectionFactory(sp.GetRequiredService<IOptions<MetaDbOptions>>().Value));
        services.TryAddSingleton(sp => new MetaDbMigrator(
            sp.GetRequiredService<MetaDbConnectionFactory>(),
            sp.GetService<ILogger<MetaDbMigrator>>()));
        services.TryAddSingleton(sp => new Storage.GrainStateKeys(sp.GetRequiredService<MetaDbConnectionFactory>()));
        services.TryAddSingleton(sp => new AuditLog(sp.GetRequiredService<MetaDbConnectionFactory>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new ApiKeyStore(sp.GetRequiredService<MetaDbConnectionFactory>(), sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>Adds a named grain storage provider backed by the meta database (see <see cref="MySqlGrainStorage"/>).</summary>
    public static IServiceCollection AddMetaDbGrainStorage(
        this IServiceCollection services,
        string name,
        Action<MetaDbGrainStorageOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        services.AddMetaDb();
        var options = services.AddOptions<MetaDbGrainStorageOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // Unless the caller chose one, state is written with Orleans' own binary serializer: the Contracts' state
        // records are [GenerateSerializer] with [Id]s, which makes it version tolerant. (Orleans 10's silo-wide default,
        // Newtonsoft.Json with type names, cannot read back a collection made by a collection expression.)
        services.AddTransient<IPostConfigureOptions<MetaDbGrainStorageOptions>, OrleansBinarySerializerByDefault>();
        // The factory returns the concrete type: AddGrainStorage checks it for ILifecycleParticipant<ISiloLifecycle>.
        return services.AddGrainStorage(name, static (sp, providerName) => ActivatorUtilities.CreateInstance<MySqlGrainStorage>(
            sp,
            providerName,
            sp.GetRequiredService<IOptionsMonitor<MetaDbGrainStorageOptions>>().Get(providerName)));
    }

    public static ISiloBuilder AddMetaDbGrainStorage(this ISiloBuilder builder, string name, Action<MetaDbGrainStorageOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddMetaDbGrainStorage(name, configure);
        return builder;
    }

    public static ISiloBuilder AddMetaDbGrainStorageAsDefault(this ISiloBuilder builder, Action<MetaDbGrainStorageOptions>? configure = null)
        => builder.AddMetaDbGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configure);

    private sealed class OrleansBinarySerializerByDefault(IServiceProvider services) : IPostConfigureOptions<MetaDbGrainStorageOptions>
    {
        public void PostConfigure(string? name, MetaDbGrainStorageOptions options)
            => options.GrainStorageSerializer ??= new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>());
    }

    /// <summary>Sets the meta database connection for the silo (same as <c>Services.AddMetaDb</c>).</summary>
    public static ISiloBuilder ConfigureMetaDb(this ISiloBuilder builder, Action<MetaDbOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddMetaDb(configure);
        return builder;
    }
}
