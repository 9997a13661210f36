using System.Security.Cryptography;
using System.Text;
using MySqlConnector;

namespace DbProvisioner.Persistence.ApiKeys;

/// <summary>
/// API keys in the meta database. A key is <c>dbp_{keyId}_{secret}</c> with 256 random bits of secret; only
/// the SHA-256 of the whole key is stored (a slow hash adds nothing for a random 256-bit secret). Verification
/// looks the row up by key id and compares hashes in constant time.
/// </summary>
public sealed class ApiKeyStore(MetaDbConnectionFactory connections, TimeProvider timeProvider)
{
    private const string Prefix = "dbp_";
    private const int KeyIdBytes = 8;
    private const int SecretBytes = 32;

    private readonly MetaDbConnectionFactory _connections = connections ?? throw new ArgumentNullException(nameof(connections));
    private readonly TimeProvider _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));

    public ApiKeyStore(MetaDbConnectionFactory connections)
        : this(connections, TimeProvider.System)
    {
    }

    /// <summary>Creates a key; the returned <see cref="CreatedApiKey.Key"/> is the only copy there will ever be.</summary>
    public async Task<CreatedApiKey> CreateAsync(ApiKeyRole role, string label, CancellationToken cancellationToken)
    {
        var roleName = ApiKeyRoleNames.ToStorage(role);
        if (string.IsNullOrWhiteSpace(label) || label.Length > 200)
        {
            throw new ArgumentException("An API key label must be 1..200 characters.", nameof(label));
        }

        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(KeyIdBytes));
        var key = $"{Prefix}{keyId}_{System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes))}";
        var now = _time.GetUtcNow();
        var createdAt = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % 10), TimeSpan.Zero);

        await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO api_keys (key_id, role, key_sha256, created_at, label)
            VALUES (@keyId, @role, @hash, @createdAt, @label)
            """;
        command.Parameters.AddWithValue("@keyId", keyId);
        command.Parameters.AddWithValue("@role", roleName);
        command.Parameters.AddWithValue("@hash", Hash(key));
        command.Parameters.AddWithValue("@createdAt", createdAt.UtcDateTime);
        command.Parameters.AddWithValue("@label", label);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

        return new CreatedApiKey(new ApiKeyInfo(keyId, role, label, createdAt), key);
    }

    /// <summary>The key's id, role and label when <paramref name="presentedKey"/> is a stored key; otherwise null.</summary>
    public async Task<ApiKeyInfo?> VerifyAsync(string? presentedKey, CancellationToken cancellationToken)
    {
        if (!TryParseKeyId(presentedKey, out var keyId))
        {
            return null;
        }

        await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT key_id, role, label, created_at, key_sha256 FROM api_keys WHERE key_id = @keyId";
        command.Parameters.AddWithValue("@keyId", keyId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var presentedHash = Hash(presentedKey!);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var storedHash = (byte[])reader.GetValue(4);
        if (!CryptographicOperations.FixedTimeEquals(presentedHash, storedHash))
        {
            return null;
        }

        return ReadInfo(reader);
    }

    /// <summary>Every key, oldest first, without secrets.</summary>
    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT key_id, role, label, created_at FROM api_keys ORDER BY created_at, key_id";
        var keys = new List<ApiKeyInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(ReadInfo(reader));
        }

        return keys;
    }

    /// <summary>Removes a key so it no longer verifies; true when it existed.</summary>
    public async Task<bool> RevokeAsync(string keyId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        await using var connection = await _connections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM api_keys WHERE key_id = @keyId";
        command.Parameters.AddWithValue("@keyId", keyId);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private static ApiKeyInfo ReadInfo(MySqlDataReader reader) => new(
        reader.GetString(0),
        ApiKeyRoleNames.FromStorage(reader.GetString(1)),
        reader.GetString(2),
        new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc)));

    private static bool TryParseKeyId(string? key, out string keyId)
    {
        keyId = string.Empty;
        // dbp_ + 16 hex + _ + 43 base64url characters.
        if (key is null || key.Length != Prefix.Length + (KeyIdBytes * 2) + 1 + 43 || !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var id = key.AsSpan(Prefix.Length, KeyIdBytes * 2);
        if (key[Prefix.Length + (KeyIdBytes * 2)] != '_' || !id.ContainsOnlyHexLower())
        {
            return false;
        }

        keyId = id.ToString();
        return true;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

internal static class HexSpanExtensions
{
    public static bool ContainsOnlyHexLower(this ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }
}
