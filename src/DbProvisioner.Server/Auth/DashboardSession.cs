using DbProvisioner.Grains;

namespace DbProvisioner.Server.Auth;

/// <summary>
/// A browser cannot add <c>Authorization: Bearer</c> to a link it follows, nor does the Orleans Dashboard's own page add
/// it to its data requests. So an admin trades its key for a short ticket in an HttpOnly cookie scoped to the dashboard's
/// path. The ticket names the key and role, not the key itself, and is sealed (AES-GCM) with the appliance's credential
/// key, which every silo has, so any silo behind HAProxy can read it.
/// </summary>
internal sealed class DashboardSession(ICredentialProtector protector, TimeProvider clock)
{
    public const string CookieName = "dbprov-dashboard";
    public const string IssuePath = "/admin/dashboard-session";

    /// <summary>Short: a ticket cannot be revoked, so a revoked admin key sees the (read-only) dashboard at most this long.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    private const string Purpose = "dashboard-session/v1";

    public string Issue(ApiPrincipal principal) =>
        protector.Protect(string.Join('\n', Purpose, principal.KeyId, principal.Role.ToName(),
            clock.GetUtcNow().Add(Lifetime).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>The admin the ticket was issued to, or null for a ticket that is forged, altered, expired or not an admin's.</summary>
    public ApiPrincipal? Read(string ticket)
    {
        string plain;
        try
        {
            plain = protector.Unprotect(ticket);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or FormatException or ArgumentException or OverflowException)
        {
            return null;
        }
        var parts = plain.Split('\n');
        if (parts.Length != 4 || parts[0] != Purpose) return null;
        if (!long.TryParse(parts[3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var expires)
            || clock.GetUtcNow().ToUnixTimeSeconds() >= expires) return null;
        return ApiRoles.TryParse(parts[2], out var role) && role == ApiRole.Admin ? new ApiPrincipal(parts[1], role) : null;
    }
}
