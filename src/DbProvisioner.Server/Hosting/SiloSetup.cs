using DbProvisioner.Grains;
using Orleans.Dashboard;
using DbProvisioner.Runtime;
using DbProvisioner.Runtime.Docker;
using DbProvisioner.Runtime.Kubernetes;
using DbProvisioner.Server.Metrics;
using DbProvisioner.Server.ScaleDown;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DbProvisioner.Server.Hosting;

internal static class SiloSetup
{
    /// <summary>One silo in this process; its membership (and reminders) by section <c>Cluster</c>, see <see cref="SiloClustering"/>.</summary>
    public static void ConfigureSilo(ISiloBuilder silo, SiloOptions options, IConfiguration configuration)
    {
        var clustering = configuration.GetSection(ClusteringOptions.Section).Get<ClusteringOptions>() ?? new ClusteringOptions();
        SiloClustering.Configure(silo, options, clustering, configuration);
        if (clustering.KubernetesHosting) silo.UseKubernetesHosting();
        PersistenceSetup.ConfigureGrainStorage(silo, configuration);
        // Served by this process's HTTP endpoint (ServerComposition maps it under /admin/dashboard, admin only); no trace
        // streaming, so logs leave the process only through Serilog's configured sinks.
        silo.AddDashboard(o => o.HideTrace = true);
        ConfigureGrains(silo.Services, configuration);
    }

    /// <summary>
    /// The grains (with Domain serialization), their options (section <c>Provisioning</c>), the Docker driver (section <c>Docker</c>) for every
    /// host, and the step-duration histogram as their observer. Tests replace the driver and the storage after this.
    /// </summary>
    public static void ConfigureGrains(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IProvisioningObserver, MetricsProvisioningObserver>();
        services.AddDbProvisionerGrains(o => configuration.GetSection(ProvisioningSection).Bind(o));
        services.AddOptions<HostHealthOptions>().Bind(configuration.GetSection(HostHealthOptions.SectionName));
        var docker = configuration.GetSection(DockerSection).Get<DockerRuntimeOptions>() ?? new DockerRuntimeOptions();
        var kubernetes = configuration.GetSection(KubernetesSection).Get<KubernetesRuntimeOptions>() ?? new KubernetesRuntimeOptions();
        // k8s://cluster/node hosts go to the Kubernetes driver, every other endpoint to Docker: one pool may mix both.
        services.AddSingleton(sp => new DockerHostRuntimeFactory(docker, sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(sp => new KubernetesHostRuntimeFactory(kubernetes, loggerFactory: sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IHostRuntimeFactory>(sp => new RuntimeRouter(sp.GetRequiredService<DockerHostRuntimeFactory>(),
            new Dictionary<string, IHostRuntimeFactory> { [KubernetesEndpoint.Scheme] = sp.GetRequiredService<KubernetesHostRuntimeFactory>() }));
        // The meta database's audit table as the grains' audit sink, and MySqlConnector for drains and risk probes.
        services.AddScaleDownGate();
    }

    public const string ProvisioningSection = "Provisioning";

    /// <summary>The Docker driver's <see cref="DockerRuntimeOptions"/>, e.g. <c>DiskPoolFolder</c> and <c>AllowWholeDisks</c>.</summary>
    public const string DockerSection = "Docker";

    /// <summary>The Kubernetes driver's <see cref="KubernetesRuntimeOptions"/>: <c>Clusters:&lt;name&gt;:Kubeconfig</c> per registered cluster.</summary>
    public const string KubernetesSection = "Kubernetes";
}

/// <summary>Liveness plus the local silo's membership status; Healthy only once the silo is Active.</summary>
internal sealed class SiloHealthCheck(
    IServiceProvider services,
    Microsoft.Extensions.Options.IOptions<SiloOptions> options,
    Microsoft.Extensions.Options.IOptions<ClusteringOptions> clustering,
    RecoverySweepLog sweeps) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!options.Value.Enabled)
        {
            return Task.FromResult(HealthCheckResult.Healthy("disabled", new Dictionary<string, object> { ["status"] = "Disabled" }));
        }

        var oracle = services.GetService<ISiloStatusOracle>();
        if (oracle is null)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The silo is not registered in this process."));
        }

        var status = oracle.CurrentStatus;
        var data = new Dictionary<string, object>
        {
            ["status"] = status.ToString(),
            ["silo"] = oracle.SiloAddress.ToString(),
            ["name"] = options.Value.DisplayName,
            ["clustering"] = clustering.Value.Membership.ToString(),
        };
        // This silo's view of the membership table (kept current by Orleans; no database read per probe).
        if (services.GetService<IClusterMembershipService>() is { } membership)
        {
            var active = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
            data["activeSilos"] = active.Count;
            data["members"] = active.Select(m => m.Name).ToArray();
        }

        if (sweeps.LastAt is { } lastSweep)
        {
            data["recoverySweeps"] = sweeps.Count;
            data["lastRecoverySweepAt"] = lastSweep;
        }

        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy("The silo is active.", data)
            : HealthCheckResult.Unhealthy($"The silo is {status}.", data: data));
    }
}
