namespace DbProvisioner.Persistence.ApiKeys;

/// <summary>What a key may do, each role including the ones before it.</summary>
public enum ApiKeyRole
{
    Viewer = 0,
    Requester = 1,
    Approver = 2,
    Admin = 3,
}

/// <summary>A key as listed: never its secret.</summary>
public sealed record ApiKeyInfo(string KeyId, ApiKeyRole Role, string Label, DateTimeOffset CreatedAt);

/// <summary>
/// A key just created. <paramref name="Key"/> is shown this once and stored nowhere;
/// <see cref="ToString"/> leaves it out so that logging the record cannot leak it.
/// </summary>
public sealed record CreatedApiKey(ApiKeyInfo Info, string Key)
{
    public override string ToString() => $"CreatedApiKey {{ Info = {Info}, Key = *** }}";
}

internal static class ApiKeyRoleNames
{
    public static string ToStorage(ApiKeyRole role) => role switch
    {
        ApiKeyRole.Viewer => "viewer",
        ApiKeyRole.Requester => "requester",
        ApiKeyRole.Approver => "approver",
        ApiKeyRole.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown API key role."),
    };

    public static ApiKeyRole FromStorage(string role) => role switch
    {
        "viewer" => ApiKeyRole.Viewer,
        "requester" => ApiKeyRole.Requester,
        "approver" => ApiKeyRole.Approver,
        "admin" => ApiKeyRole.Admin,
        _ => throw new InvalidOperationException($"api_keys holds an unknown role '{role}'."),
    };
}
