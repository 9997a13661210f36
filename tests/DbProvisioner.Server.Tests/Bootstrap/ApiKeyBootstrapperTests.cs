using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Bootstrap;
using DbProvisioner.Server.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DbProvisioner.Server.Tests.Bootstrap;

[TestFixture]
[Category("Fast")]
[Platform(Exclude = "Win")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ApiKeyBootstrapperTests
{
    private string folder = null!;

    /// <summary>Test issuer: random keys, keeps only their SHA-256 like the real store.</summary>
    private sealed class HashingIssuer : IApiKeyIssuer
    {
        public ConcurrentDictionary<string, (string KeyId, ApiRole Role)> Hashes { get; } = new();

        public Task<bool> AnyKeyExistsAsync(CancellationToken cancellationToken) => Task.FromResult(!Hashes.IsEmpty);

        public Task<IssuedApiKey> CreateKeyAsync(ApiRole role, string description, CancellationToken cancellationToken)
        {
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            var keyId = $"k{Hashes.Count + 1}";
            Hashes[Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))] = (keyId, role);
            return Task.FromResult(new IssuedApiKey(keyId, role, key));
        }
    }

    private sealed class CollectingLogger<T> : ILogger<T>
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception) + " " + state);
    }

    [SetUp]
    public void CreateFolder() => folder = Directory.CreateTempSubdirectory("dbprov-bootstrap-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(folder, recursive: true);

    [Test]
    public async Task First_run_creates_one_key_per_role_and_writes_an_owner_only_config()
    {
        var issuer = new HashingIssuer();
        var logger = new CollectingLogger<ApiKeyBootstrapper>();
        var bootstrapper = new ApiKeyBootstrapper(issuer, Options.Create(new ServerOptions { Url = "http://127.0.0.1:8080" }), logger);
        var path = Path.Combine(folder, "dbprov", "config.json");

        var outcome = await bootstrapper.BootstrapAsync(path, CancellationToken.None);

        Assert.That(outcome, Is.EqualTo(BootstrapOutcome.KeysCreated));
        var config = JsonDocument.Parse(await File.ReadAllTextAsync(path)).RootElement;
        var keys = config.GetProperty("keys").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Multiple(() =>
        {
            Assert.That(config.GetProperty("url").GetString(), Is.EqualTo("http://127.0.0.1:8080"));
            Assert.That(keys.Keys, Is.EquivalentTo(new[] { "viewer", "requester", "approver", "admin" }));
            Assert.That(issuer.Hashes.Values.Select(v => v.Role), Is.EquivalentTo(ApiRoles.All));
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(path)!), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Has.Length.EqualTo(1), "no temp file left behind");
            Assert.That(logger.Lines, Is.Not.Empty);
            foreach (var key in keys.Values)
            {
                Assert.That(logger.Lines, Has.None.Contains(key), "a key was logged");
            }
        });
    }

    [Test]
    public async Task When_keys_exist_nothing_is_created_or_written()
    {
        var issuer = new HashingIssuer();
        await issuer.CreateKeyAsync(ApiRole.Admin, "existing", CancellationToken.None);
        var bootstrapper = new ApiKeyBootstrapper(issuer, Options.Create(new ServerOptions()), new CollectingLogger<ApiKeyBootstrapper>());
        var path = Path.Combine(folder, "config.json");

        var outcome = await bootstrapper.BootstrapAsync(path, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(outcome, Is.EqualTo(BootstrapOutcome.KeysAlreadyExist));
            Assert.That(issuer.Hashes, Has.Count.EqualTo(1));
            Assert.That(File.Exists(path), Is.False);
        });
    }

    [Test]
    public async Task Rewriting_replaces_the_file_and_keeps_it_owner_only()
    {
        var path = Path.Combine(folder, "config.json");
        await File.WriteAllTextAsync(path, "old");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await ClientConfigFile.WriteAsync(path, new ClientConfig("http://x:1", new Dictionary<string, string> { ["viewer"] = "v" }), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(path), Does.Contain("\"viewer\": \"v\""));
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        });
    }

    [Test]
    public void Issued_keys_do_not_print_the_secret() =>
        Assert.That(new IssuedApiKey("k1", ApiRole.Admin, "s3cret-value").ToString(), Does.Not.Contain("s3cret-value"));
}
