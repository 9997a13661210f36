namespace DbProvisioner.Server.Auth;

/// <summary>Checks a presented API key. Implementations compare hashes only and never log the key.</summary>
public interface IApiKeyVerifier
{
    /// <returns>The key's principal, or null when the key is unknown or revoked.</returns>
    Task<ApiPrincipal?> VerifyAsync(string key, CancellationToken cancellationToken);
}

/// <summary>Creates API keys; the plain key is returned once and only its hash is stored.</summary>
public interface IApiKeyIssuer
{
    Task<bool> AnyKeyExistsAsync(CancellationToken cancellationToken);

    Task<IssuedApiKey> CreateKeyAsync(ApiRole role, string description, CancellationToken cancellationToken);
}

/// <summary>A freshly created key. <see cref="Key"/> is the secret: hand it to the user, never log it.</summary>
public sealed record IssuedApiKey(string KeyId, ApiRole Role, string Key)
{
    public override string ToString() => $"IssuedApiKey {{ KeyId = {KeyId}, Role = {Role} }}";
}
