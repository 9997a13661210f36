using System.Text;
using DbProvisioner.Persistence.ApiKeys;

namespace DbProvisioner.Persistence.Tests.ApiKeys;

[Category("MetaDb")]
public sealed class ApiKeyStoreTests
{
    private ApiKeyStore _keys = null!;

    [SetUp]
    public void CreateStore() => _keys = new ApiKeyStore(MetaDbTestDatabase.Connections);

    [Test]
    public async Task TheRightKeyVerifies_WithItsRole()
    {
        var created = await _keys.CreateAsync(ApiKeyRole.Approver, "ops approver", CancellationToken.None);

        var verified = await _keys.VerifyAsync(created.Key, CancellationToken.None);

        Assert.That(verified, Is.EqualTo(created.Info));
        Assert.That(verified!.Role, Is.EqualTo(ApiKeyRole.Approver));
    }

    [Test]
    public async Task AnyOtherKey_IsRejected()
    {
        var created = await _keys.CreateAsync(ApiKeyRole.Admin, "admin", CancellationToken.None);
        var other = await _keys.CreateAsync(ApiKeyRole.Viewer, "viewer", CancellationToken.None);
        var key = created.Key;
        var lastChar = key[^1] == 'A' ? 'B' : 'A';
        var secretOfOther = other.Key[(other.Key.LastIndexOf('_') + 1)..];

        string?[] wrong =
        [
            null,
            string.Empty,
            "not-a-key",
            key[..^1] + lastChar,                                   // one character off
            key[..(key.LastIndexOf('_') + 1)] + secretOfOther,      // right id, another key's secret
            key.ToUpperInvariant(),
            key + "x",
            " " + key,
        ];

        foreach (var candidate in wrong)
        {
            Assert.That(await _keys.VerifyAsync(candidate, CancellationToken.None), Is.Null, candidate);
        }

        Assert.That(await _keys.VerifyAsync(key, CancellationToken.None), Is.Not.Null, "the right key still works");
    }

    [Test]
    public async Task TheKeyItselfIsNowhereInTheTable_OnlyItsHash()
    {
        var created = await _keys.CreateAsync(ApiKeyRole.Requester, "ci", CancellationToken.None);
        var secret = created.Key[(created.Key.LastIndexOf('_') + 1)..];

        await using var connection = await MetaDbTestDatabase.Connections.OpenConnectionAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM api_keys WHERE key_id = @id";
        command.Parameters.AddWithValue("@id", created.Info.KeyId);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True);
        var cells = new List<string>();
        for (var i = 0; i < reader.FieldCount; i++)
        {
            var value = reader.GetValue(i);
            cells.Add(value is byte[] bytes ? Encoding.Latin1.GetString(bytes) + "|" + Convert.ToHexString(bytes) + "|" + Convert.ToBase64String(bytes) : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!);
        }

        Assert.That(cells, Has.None.Contains(secret));
        Assert.That(cells, Has.None.Contains(created.Key));
        Assert.That(created.ToString(), Does.Not.Contain(secret), "logging the created key does not leak it");
        var hash = (byte[])reader["key_sha256"];
        Assert.That(hash, Is.EqualTo(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(created.Key))));
    }

    [Test]
    public async Task ListShowsKeysWithoutSecrets_AndRevokedKeysStopVerifying()
    {
        var created = await _keys.CreateAsync(ApiKeyRole.Viewer, "dashboard", CancellationToken.None);

        var listed = await _keys.ListAsync(CancellationToken.None);
        Assert.That(listed, Does.Contain(created.Info));
        Assert.That(typeof(ApiKeyInfo).GetProperties().Select(p => p.Name), Is.EquivalentTo(new[] { "KeyId", "Role", "Label", "CreatedAt" }));

        Assert.That(await _keys.RevokeAsync(created.Info.KeyId, CancellationToken.None), Is.True);
        Assert.That(await _keys.VerifyAsync(created.Key, CancellationToken.None), Is.Null);
        Assert.That(await _keys.ListAsync(CancellationToken.None), Does.Not.Contain(created.Info));
    }

    [Test]
    public async Task EachKeyIsUnique()
    {
        var a = await _keys.CreateAsync(ApiKeyRole.Viewer, "a", CancellationToken.None);
        var b = await _keys.CreateAsync(ApiKeyRole.Viewer, "b", CancellationToken.None);

        Assert.That(a.Key, Is.Not.EqualTo(b.Key));
        Assert.That(a.Info.KeyId, Is.Not.EqualTo(b.Info.KeyId));
        Assert.That(a.Key, Does.StartWith("dbp_"));
    }
}
