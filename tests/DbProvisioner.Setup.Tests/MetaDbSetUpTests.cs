using DbProvisioner.Setup.Tests.Support;
using DbProvisioner.Testing;
using MySqlConnector;

namespace DbProvisioner.Setup.Tests;

/// <summary>
/// A fresh machine's first set-up of the meta database, from an empty state directory: its own container (and volume,
/// named after it) on a free port, so that the machine's real meta database is never touched.
/// </summary>
[Category("Engine")]
[Platform(Exclude = "Win")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class MetaDbSetUpTests
{
    private const string NamePrefix = "dbprov-setup-test-";
    private static readonly TimeSpan UpTimeout = TimeSpan.FromMinutes(3);
    private string _stateDir = null!;
    private Dictionary<string, string> _env = null!;

    [SetUp]
    public void NewStateDirectory()
    {
        _stateDir = Directory.CreateTempSubdirectory("dbprov-setup-state-").FullName;
        _env = new Dictionary<string, string>
        {
            ["DBPROV_STATE_DIR"] = _stateDir,
            ["DBPROV_META_NAME"] = NamePrefix + Guid.NewGuid().ToString("N")[..8],
            ["DBPROV_META_PORT"] = TestPorts.NextText(),
        };
    }

    [TearDown]
    public async Task PurgeAsync()
    {
        // purge without DBPROV_META_NAME would remove the machine's meta database: never let that happen.
        Assert.That(_env["DBPROV_META_NAME"], Does.StartWith(NamePrefix));
        var (exit, _, stderr) = await HackScript.RunAsync("meta-db.sh", _env, TimeSpan.FromMinutes(1), "purge");
        Directory.Delete(_stateDir, recursive: true);
        Assert.That(exit, Is.Zero, $"meta-db.sh purge: {stderr}");
    }

    [Test]
    public async Task Up_from_an_empty_state_directory_makes_a_meta_database_that_answers_with_its_generated_password()
    {
        var (exit, _, stderr) = await HackScript.RunAsync("meta-db.sh", _env, UpTimeout, "up");

        Assert.That(exit, Is.Zero, $"meta-db.sh up exited with {exit} (141 = a writer killed by SIGPIPE under pipefail):\n{stderr}");
        var passwordFile = Path.Combine(_stateDir, "secrets", "meta-root-password");
        Assert.That(File.Exists(passwordFile), Is.True, passwordFile);
        Assert.That(File.GetUnixFileMode(passwordFile), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "mode 0600");
        var password = await File.ReadAllTextAsync(passwordFile);
        Assert.That(password, Has.Length.EqualTo(32).And.All.Matches<char>(char.IsAsciiLetterOrDigit), "32 letters and digits, nothing else (no newline)");

        await using var connection = new MySqlConnection(new MySqlConnectionStringBuilder
        {
            Server = "127.0.0.1",
            Port = uint.Parse(_env["DBPROV_META_PORT"], System.Globalization.CultureInfo.InvariantCulture),
            UserID = "root",
            Password = password,
            Database = "dbprov",
            Pooling = false,
            ConnectionTimeout = 10,
        }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new MySqlCommand("SELECT DATABASE()", connection);
        Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo("dbprov"));
    }
}
