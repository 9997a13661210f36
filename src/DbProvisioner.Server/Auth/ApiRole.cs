namespace DbProvisioner.Server.Auth;

/// <summary>What an API key may do. Every role can read; the others add one power each, admin has all.</summary>
public enum ApiRole
{
    Viewer,
    Requester,
    Approver,
    Admin,
}

public static class ApiRoles
{
    public const string Viewer = "viewer";
    public const string Requester = "requester";
    public const string Approver = "approver";
    public const string Admin = "admin";

    public static IReadOnlyList<ApiRole> All { get; } = [ApiRole.Viewer, ApiRole.Requester, ApiRole.Approver, ApiRole.Admin];

    /// <summary>The wire and claim name of a role (lower case, as in DESIGN.md).</summary>
    public static string ToName(this ApiRole role) => role switch
    {
        ApiRole.Viewer => Viewer,
        ApiRole.Requester => Requester,
        ApiRole.Approver => Approver,
        ApiRole.Admin => Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown API role."),
    };

    public static bool TryParse(string? name, out ApiRole role)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case Viewer: role = ApiRole.Viewer; return true;
            case Requester: role = ApiRole.Requester; return true;
            case Approver: role = ApiRole.Approver; return true;
            case Admin: role = ApiRole.Admin; return true;
            default: role = default; return false;
        }
    }
}

/// <summary>Who is calling: the key's id (never the key itself) and its role.</summary>
public sealed record ApiPrincipal(string KeyId, ApiRole Role);
