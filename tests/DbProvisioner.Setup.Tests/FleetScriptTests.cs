using DbProvisioner.Setup.Tests.Support;

namespace DbProvisioner.Setup.Tests;

/// <summary>
/// hack/fleet.sh: its certificates made from an empty state directory, its refusals, and — on this machine after
/// `make setup` — the fleet it lists and the modes of every private key it holds.
/// </summary>
[Platform(Exclude = "Win")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FleetScriptTests
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Test]
    public async Task Listing_an_empty_state_directory_prints_nothing_and_succeeds()
    {
        var stateDir = Directory.CreateTempSubdirectory("dbprov-fleet-state-").FullName;
        try
        {
            var (exit, stdout, stderr) = await HackScript.RunAsync("fleet.sh", State(stateDir), Timeout, "list");

            Assert.That(exit, Is.Zero, stderr);
            Assert.That(stdout, Is.Empty);
        }
        finally
        {
            Directory.Delete(stateDir, recursive: true);
        }
    }

    [Test]
    public async Task Certs_from_an_empty_state_directory_make_a_ca_and_a_client_certificate_with_owner_only_keys_and_keep_them()
    {
        var stateDir = Directory.CreateTempSubdirectory("dbprov-fleet-state-").FullName;
        try
        {
            var first = await HackScript.RunAsync("fleet.sh", State(stateDir), Timeout, "certs");
            Assert.That(first.Exit, Is.Zero, first.Stderr);
            var ca = Path.Combine(stateDir, "secrets", "ca");
            var client = Path.Combine(stateDir, "secrets", "docker-client");
            var clientCert = await File.ReadAllTextAsync(Path.Combine(client, "cert.pem"));

            Assert.That(File.GetUnixFileMode(Path.Combine(ca, "ca-key.pem")), Is.EqualTo(OwnerReadWrite), "the CA key");
            Assert.That(File.GetUnixFileMode(Path.Combine(client, "key.pem")), Is.EqualTo(OwnerReadWrite), "the client key");
            Assert.That(File.GetUnixFileMode(ca), Is.EqualTo(OwnerOnlyFolder));
            Assert.That(File.GetUnixFileMode(client), Is.EqualTo(OwnerOnlyFolder));
            var verify = await OpensslAsync("verify", "-purpose", "sslclient", "-CAfile", Path.Combine(ca, "ca.pem"), Path.Combine(client, "cert.pem"));
            Assert.That(verify.Exit, Is.Zero, $"the client certificate is the CA's, for TLS clients: {verify.Stdout}{verify.Stderr}");

            var second = await HackScript.RunAsync("fleet.sh", State(stateDir), Timeout, "certs");
            Assert.That(second.Exit, Is.Zero, second.Stderr);
            Assert.That(await File.ReadAllTextAsync(Path.Combine(client, "cert.pem")), Is.EqualTo(clientCert), "a valid certificate is kept");
        }
        finally
        {
            Directory.Delete(stateDir, recursive: true);
        }
    }

    [TestCase("up", "0")]
    [TestCase("up", "two")]
    [TestCase("stop", "node-x")]
    [TestCase("start", "bogus")]
    [TestCase("frobnicate")]
    public async Task Bad_arguments_fail_with_a_message_and_change_nothing(params string[] args)
    {
        var stateDir = Directory.CreateTempSubdirectory("dbprov-fleet-state-").FullName;
        try
        {
            var (exit, _, stderr) = await HackScript.RunAsync("fleet.sh", State(stateDir), Timeout, args);

            Assert.That(exit, Is.Not.Zero);
            Assert.That(stderr, Does.Contain("fleet"));
            Assert.That(Directory.EnumerateFileSystemEntries(stateDir), Is.Empty, "nothing made");
        }
        finally
        {
            Directory.Delete(stateDir, recursive: true);
        }
    }

    [Test]
    [Category("Fleet")]
    public async Task This_machines_fleet_lists_node_1_and_node_2_up_on_their_own_addresses()
    {
        var (exit, stdout, stderr) = await HackScript.RunAsync("fleet.sh", new Dictionary<string, string>(), Timeout, "list");

        Assert.That(exit, Is.Zero, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Does.Contain("node-1\tup\ttcp://10.251.1.2:2376\t10.251.1.2"), $"run `bash hack/fleet.sh up 2`:\n{stdout}");
        Assert.That(lines, Does.Contain("node-2\tup\ttcp://10.251.2.2:2376\t10.251.2.2"), stdout);
    }

    [Test]
    [Category("Fleet")]
    public void Every_private_key_of_the_fleet_and_the_appliance_is_readable_by_its_owner_only()
    {
        var folders = new[] { "/var/lib/dbprov/secrets/ca", "/var/lib/dbprov/secrets/docker-client", "/var/lib/dbprov/fleet" };
        var keys = folders.Where(Directory.Exists)
            .SelectMany(f => Directory.EnumerateFiles(f, "*.pem", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 3 }))
            .Where(f => File.ReadAllText(f).Contains("PRIVATE KEY", StringComparison.Ordinal))
            .ToList();

        // The CA, the client, the registry and two nodes at least.
        Assert.That(keys, Has.Count.GreaterThanOrEqualTo(5), string.Join("\n", keys));
        Assert.That(keys.Where(k => File.GetUnixFileMode(k) != OwnerReadWrite), Is.Empty, "keys whose mode is not 0600");
    }

    private static Dictionary<string, string> State(string stateDir) => new() { ["DBPROV_STATE_DIR"] = stateDir };

    private static async Task<(int Exit, string Stdout, string Stderr)> OpensslAsync(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException("openssl did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }
}
