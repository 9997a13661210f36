using DbProvisioner.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Grains;

public static class ServiceRegistration
{
    /// <summary>
    /// What the grains need besides Orleans and grain storage: Domain serialization, provisioning
    /// options and the credential protector. The runtime driver (<see cref="Runtime.IHostRuntimeFactory"/>)
    /// is registered by the host: Docker in the server, a simulation in logic tests.
    /// </summary>
    public static IServiceCollection AddDbProvisionerGrains(this IServiceCollection services, Action<ProvisioningOptions>? configure = null,
        ICredentialProtector? protector = null)
    {
        services.AddDomainSerialization();
        services.AddOptions<ProvisioningOptions>().Configure(o => configure?.Invoke(o));
        services.AddOptions<HostHealthOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IProvisioningObserver, NoProvisioningObserver>();
        if (protector is not null) services.AddSingleton(protector);
        else services.TryAddSingleton<ICredentialProtector>(sp =>
            AesGcmCredentialProtector.FromKeyFile(sp.GetRequiredService<IOptions<ProvisioningOptions>>().Value.CredentialKeyFile));
        return services;
    }
}
