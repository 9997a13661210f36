using MySqlConnector;

namespace DbProvisioner.Persistence;

/// <summary>
/// Pooled connections to the meta database. The password is read from <see cref="MetaDbOptions.PasswordFile"/>
/// through MySqlConnector's password provider, so it never sits in a connection string.
/// </summary>
public sealed class MetaDbConnectionFactory : IAsyncDisposable
{
    private readonly MySqlDataSource _database;
    private readonly MySqlDataSource _server;

    public MetaDbConnectionFactory(MetaDbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options.Clone();
        _database = Build(Options, Options.Database, Options.MaximumPoolSize);
        // Only the migrator uses this one (CREATE DATABASE), so it stays small.
        _server = Build(Options, database: null, maximumPoolSize: 2);
    }

    public MetaDbOptions Options { get; }

    public string DatabaseName => Options.Database;

    /// <summary>An open connection to the meta database; dispose it to return it to the pool.</summary>
    public async ValueTask<MySqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
        => await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>An open connection to the server with no default database (to create the database).</summary>
    internal async ValueTask<MySqlConnection> OpenServerConnectionAsync(CancellationToken cancellationToken)
        => await _server.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        await _database.DisposeAsync().ConfigureAwait(false);
        await _server.DisposeAsync().ConfigureAwait(false);
    }

    internal static async ValueTask<string> ReadPasswordAsync(string path, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Cannot read the meta database password file '{path}': {e.Message}", e);
        }

        var password = text.TrimEnd('\r', '\n');
        if (password.Length == 0)
        {
            throw new InvalidOperationException($"The meta database password file '{path}' is empty.");
        }

        return password;
    }

    private static MySqlDataSource Build(MetaDbOptions options, string? database, int maximumPoolSize)
    {
        var builder = new MySqlDataSourceBuilder();
        var csb = builder.ConnectionStringBuilder;
        csb.Server = options.Host;
        csb.Port = (uint)options.Port;
        csb.UserID = options.User;
        if (database is not null)
        {
            csb.Database = database;
        }

        csb.Pooling = true;
        csb.MaximumPoolSize = (uint)maximumPoolSize;
        csb.ConnectionTimeout = (uint)Math.Max(1, (int)options.ConnectTimeout.TotalSeconds);
        csb.PersistSecurityInfo = false;
        csb.AllowUserVariables = false;
        csb.CharacterSet = "utf8mb4";
        // Commands may be prepared (grain state writes are); a pooled session keeps its prepared statements.
        csb.IgnorePrepare = false;
        // No COM_RESET_CONNECTION on every open: it would drop those prepared statements and cost the meta DB a
        // round of work per grain write. Nothing here leaves session state behind (no session variables; the
        // migrator's GET_LOCK is released in a finally, and a broken session is not returned to the pool).
        csb.ConnectionReset = false;
        // DATETIME columns hold UTC; read them back as UTC.
        csb.DateTimeKind = MySqlDateTimeKind.Utc;

        var path = options.PasswordFile;
        builder.UsePeriodicPasswordProvider(
            (_, cancellationToken) => ReadPasswordAsync(path, cancellationToken),
            options.PasswordRefreshInterval,
            TimeSpan.FromSeconds(5));
        return builder.Build();
    }
}
