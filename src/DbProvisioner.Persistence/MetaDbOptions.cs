namespace DbProvisioner.Persistence;

/// <summary>Where the meta database is and how to log in. The password comes only from a file.</summary>
public sealed class MetaDbOptions
{
    public const string DefaultPasswordFile = "/var/lib/dbprov/secrets/meta-root-password";

    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 3306;

    public string Database { get; set; } = "dbprov";

    public string User { get; set; } = "root";

    /// <summary>Path of a file whose content (trailing newline ignored) is the password.</summary>
    public string PasswordFile { get; set; } = DefaultPasswordFile;

    public int MaximumPoolSize { get; set; } = 50;

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the password file is re-read, so that a rotated password is picked up.</summary>
    public TimeSpan PasswordRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Throws when a value cannot work; the message never contains the password.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
        {
            throw new ArgumentException("MetaDb host must be set.", nameof(Host));
        }

        if (Port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "MetaDb port must be 1..65535.");
        }

        MetaDbIdentifier.EnsureValid(Database, nameof(Database));

        if (string.IsNullOrWhiteSpace(User))
        {
            throw new ArgumentException("MetaDb user must be set.", nameof(User));
        }

        if (string.IsNullOrWhiteSpace(PasswordFile))
        {
            throw new ArgumentException("MetaDb password file must be set.", nameof(PasswordFile));
        }

        if (MaximumPoolSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumPoolSize), MaximumPoolSize, "Must be at least 1.");
        }

        if (ConnectTimeout <= TimeSpan.Zero || PasswordRefreshInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("MetaDb timeouts must be positive.");
        }
    }

    public MetaDbOptions Clone() => (MetaDbOptions)MemberwiseClone();
}
