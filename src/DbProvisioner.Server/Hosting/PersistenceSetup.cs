using DbProvisioner.Persistence;
using DbProvisioner.Server.Auth;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Server.Hosting;

internal static class PersistenceSetup
{
    public const string MetaDbSection = "MetaDb";
    public const string GrainStorageSection = "GrainStorage";

    /// <summary>The meta database (section <c>MetaDb</c>; the password only from its file) and the API key store on it.</summary>
    public static void ConfigureMetaDb(IServiceCollection services)
    {
        services.AddMetaDb();
        services.AddOptions<MetaDbOptions>().BindConfiguration(MetaDbSection).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetaDbOptions>, MetaDbOptionsValidator>();
        services.AddSingleton<MetaDbApiKeyStore>();
        services.AddSingleton<IApiKeyVerifier>(sp => sp.GetRequiredService<MetaDbApiKeyStore>());
        services.AddSingleton<IApiKeyIssuer>(sp => sp.GetRequiredService<MetaDbApiKeyStore>());
    }

    /// <summary>Grain storage is always the meta database (section <c>GrainStorage</c>), never in-memory.</summary>
    public static void ConfigureGrainStorage(ISiloBuilder silo, IConfiguration configuration) =>
        silo.AddMetaDbGrainStorageAsDefault(o => configuration.GetSection(GrainStorageSection).Bind(o));

    private sealed class MetaDbOptionsValidator : IValidateOptions<MetaDbOptions>
    {
        public ValidateOptionsResult Validate(string? name, MetaDbOptions options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail($"{MetaDbSection}: {e.Message}");
            }
        }
    }
}
