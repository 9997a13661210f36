using DbProvisioner.Server.Auth;

namespace DbProvisioner.Server.Tests.Support;

/// <summary>A test stand-in for the meta-DB key store: four fixed keys, one per role.</summary>
internal sealed class FakeApiKeyVerifier : IApiKeyVerifier
{
    public const string Viewer = "test-viewer-key";
    public const string Requester = "test-requester-key";
    public const string Approver = "test-approver-key";
    public const string Admin = "test-admin-key";

    private static readonly Dictionary<string, ApiPrincipal> Keys = new(StringComparer.Ordinal)
    {
        [Viewer] = new("key-viewer", ApiRole.Viewer),
        [Requester] = new("key-requester", ApiRole.Requester),
        [Approver] = new("key-approver", ApiRole.Approver),
        [Admin] = new("key-admin", ApiRole.Admin),
    };

    public Task<ApiPrincipal?> VerifyAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(Keys.GetValueOrDefault(key));
}
