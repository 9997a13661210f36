using System.Security.Cryptography;

namespace DbProvisioner.Runtime;

/// <summary>Random passwords from the OS's cryptographic generator.</summary>
public static class PasswordGenerator
{
    // Letters and digits only: no quoting trouble in SQL, shells, URLs or connection strings.
    private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    /// <summary>32 characters from a 57-symbol alphabet: about 186 bits.</summary>
    public static string Generate(int length = 32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 16);
        return RandomNumberGenerator.GetString(Alphabet, length);
    }
}
