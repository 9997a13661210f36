using DbProvisioner.Persistence;
using DbProvisioner.Persistence.ApiKeys;

namespace DbProvisioner.Server.Auth;

/// <summary>The meta-DB <see cref="ApiKeyStore"/> as the server's key verifier and issuer (hashes only; see the store).</summary>
internal sealed class MetaDbApiKeyStore(ApiKeyStore store, MetaDbMigrator migrator) : IApiKeyVerifier, IApiKeyIssuer
{
    private readonly Lock gate = new();
    private Task? schema;

    public async Task<ApiPrincipal?> VerifyAsync(string key, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        var info = await store.VerifyAsync(key, cancellationToken);
        return info is null ? null : new ApiPrincipal(info.KeyId, ToApiRole(info.Role));
    }

    public async Task<bool> AnyKeyExistsAsync(CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        return (await store.ListAsync(cancellationToken)).Count > 0;
    }

    public async Task<IssuedApiKey> CreateKeyAsync(ApiRole role, string description, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        var created = await store.CreateAsync(ToKeyRole(role), description, cancellationToken);
        return new IssuedApiKey(created.Info.KeyId, role, created.Key);
    }

    internal static ApiRole ToApiRole(ApiKeyRole role) => role switch
    {
        ApiKeyRole.Viewer => ApiRole.Viewer,
        ApiKeyRole.Requester => ApiRole.Requester,
        ApiKeyRole.Approver => ApiRole.Approver,
        ApiKeyRole.Admin => ApiRole.Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown stored API key role."),
    };

    internal static ApiKeyRole ToKeyRole(ApiRole role) => role switch
    {
        ApiRole.Viewer => ApiKeyRole.Viewer,
        ApiRole.Requester => ApiKeyRole.Requester,
        ApiRole.Approver => ApiKeyRole.Approver,
        ApiRole.Admin => ApiKeyRole.Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown API role."),
    };

    // Keys may be checked or created before the silo's storage has migrated the schema (Kestrel and the
    // bootstrap step can run first); the migrator is idempotent and locked, so run it once here as well.
    private Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (schema is null || schema.IsFaulted || schema.IsCanceled)
            {
                schema = migrator.MigrateAsync(cancellationToken);
            }

            return schema;
        }
    }
}
