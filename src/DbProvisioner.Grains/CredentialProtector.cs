using System.Security.Cryptography;
using System.Text;

namespace DbProvisioner.Grains;

/// <summary>
/// Encrypts instance passwords before they reach grain state (and so the meta database), with
/// AES-GCM under a key that lives in a root-only file on the appliance, never in the database.
/// </summary>
public interface ICredentialProtector
{
    string Protect(string secret);
    string Unprotect(string protectedSecret);
}

public sealed class AesGcmCredentialProtector : ICredentialProtector
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int KeySize = 32;
    private readonly byte[] _key;

    public AesGcmCredentialProtector(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != KeySize) throw new ArgumentException($"the credential key must be {KeySize} bytes, not {key.Length}", nameof(key));
        _key = key;
    }

    /// <summary>
    /// Reads the key file, creating it (mode 0600) with a random key on first use. Several silos may start at once: the
    /// file is created exclusively, so one key wins, and a silo that finds it still being written reads it again.
    /// </summary>
    public static AesGcmCredentialProtector FromKeyFile(string path)
    {
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var key = RandomNumberGenerator.GetBytes(KeySize);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            try
            {
                using var stream = new FileStream(path, options);
                stream.Write(key);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first: use theirs.
            }
        }
        return new AesGcmCredentialProtector(ReadWholeKey(path));
    }

    /// <summary>The key file's bytes once whole: its creator writes the key just after creating it (at most 2 s of waiting; a wrong size is then named by the constructor).</summary>
    private static byte[] ReadWholeKey(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length >= KeySize || attempt == 100) return bytes;
            Thread.Sleep(20);
        }
    }

    public string Protect(string secret)
    {
        var plain = Encoding.UTF8.GetBytes(secret);
        var output = new byte[NonceSize + TagSize + plain.Length];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize));
        return "v1:" + Convert.ToBase64String(output);
    }

    public string Unprotect(string protectedSecret)
    {
        if (!protectedSecret.StartsWith("v1:", StringComparison.Ordinal)) throw new CryptographicException("unknown credential format");
        var data = Convert.FromBase64String(protectedSecret[3..]);
        var plain = new byte[data.Length - NonceSize - TagSize];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(data.AsSpan(0, NonceSize), data.AsSpan(NonceSize + TagSize), data.AsSpan(NonceSize, TagSize), plain);
        return Encoding.UTF8.GetString(plain);
    }
}
