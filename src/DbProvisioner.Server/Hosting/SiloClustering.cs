using System.Net;
using DbProvisioner.Persistence;
using MySqlConnector;
using Orleans.Configuration;

namespace DbProvisioner.Server.Hosting;

/// <summary>
/// Membership and reminders by <see cref="ClusteringOptions.Membership"/>: Localhost keeps the single process as it was;
/// AdoNet puts both in the meta database (tables and query rows made by the project's migrator, V005 and V006).
/// </summary>
internal static class SiloClustering
{
    /// <summary>The ADO.NET providers' invariant for MySqlConnector (the project's driver), not MySql.Data.</summary>
    public const string MySqlConnectorInvariant = "MySql.Data.MySqlConnector";

    public static void Configure(ISiloBuilder silo, SiloOptions options, ClusteringOptions clustering, IConfiguration configuration)
    {
        silo.Configure<Orleans.Configuration.SiloOptions>(o => o.SiloName = options.DisplayName);
        if (clustering.Membership == ClusteringMode.Localhost)
        {
            silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
            return;
        }

        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
        });
        silo.ConfigureEndpoints(IPAddress.Parse(clustering.AdvertisedAddress), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: false);
        var connectionString = ConnectionString(configuration);
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = MySqlConnectorInvariant;
            o.ConnectionString = connectionString;
        });
        silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = MySqlConnectorInvariant;
            o.ConnectionString = connectionString;
        });
        silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromTicks(Math.Min(o.MinimumReminderPeriod.Ticks, clustering.RecoverySweepPeriod.Ticks)));
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = clustering.ProbeTimeout;
            o.NumMissedProbesLimit = clustering.MissedProbesLimit;
        });
        // The membership table is read long before grain storage starts: the schema must be there first.
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => new MetaDbSchemaAtStart(
            sp.GetRequiredService<MetaDbMigrator>(), configuration.GetValue(PersistenceSetup.GrainStorageSection + ":MigrateOnStart", true)));
    }

    /// <summary>The providers take a connection string only; it is built in memory from section MetaDb and the password file.</summary>
    private static string ConnectionString(IConfiguration configuration)
    {
        var meta = configuration.GetSection(PersistenceSetup.MetaDbSection).Get<MetaDbOptions>() ?? new MetaDbOptions();
        meta.Validate();
        var builder = new MySqlConnectionStringBuilder
        {
            Server = meta.Host,
            Port = (uint)meta.Port,
            UserID = meta.User,
            Password = File.ReadAllText(meta.PasswordFile).TrimEnd('\r', '\n'),
            Database = meta.Database,
            Pooling = true,
            MaximumPoolSize = 20,
            ConnectionTimeout = (uint)Math.Max(1, (int)meta.ConnectTimeout.TotalSeconds),
            PersistSecurityInfo = false,
            CharacterSet = "utf8mb4",
            DateTimeKind = MySqlDateTimeKind.Utc,
        };
        return builder.ConnectionString;
    }

    private sealed class MetaDbSchemaAtStart(MetaDbMigrator migrator, bool migrate) : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle)
        {
            if (migrate)
            {
                lifecycle.Subscribe(nameof(MetaDbSchemaAtStart), ServiceLifecycleStage.First, async ct => await migrator.MigrateAsync(ct));
            }
        }
    }
}
