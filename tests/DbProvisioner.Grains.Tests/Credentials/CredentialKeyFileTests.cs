namespace DbProvisioner.Grains.Tests.Credentials;

/// <summary>The credential key file shared by every silo: created once, whole, 0600, even when several silos start at once.</summary>
public sealed class CredentialKeyFileTests
{
    private string _folder = "";

    [SetUp]
    public void MakeFolder() => _folder = Directory.CreateTempSubdirectory("dbprov-key-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void Silos_starting_at_once_each_read_a_whole_key_and_it_is_the_same_key()
    {
        const int Silos = 8;
        for (var round = 0; round < 25; round++)
        {
            var path = Path.Combine(_folder, $"round-{round}", "credentials.key");
            // One thread per silo (not the thread pool, which would start them one by one), released together.
            using var start = new Barrier(Silos);
            var protectors = new AesGcmCredentialProtector[Silos];
            var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            var threads = Enumerable.Range(0, Silos).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                try { protectors[i] = AesGcmCredentialProtector.FromKeyFile(path); }
                catch (Exception e) { failures.Enqueue(e); }
            })).ToList();
            threads.ForEach(static t => t.Start());
            threads.ForEach(static t => t.Join());
            Assert.That(failures, Is.Empty, $"round {round}: a silo could not read the key");

            // A password stored by one silo is read by every other.
            var stored = protectors[0].Protect($"secret-{round}");
            Assert.That(protectors.Select(p => p.Unprotect(stored)), Has.All.EqualTo($"secret-{round}"), $"round {round}");
            Assert.That(new FileInfo(path).Length, Is.EqualTo(32));
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }), "no draft key left beside it");
            if (!OperatingSystem.IsWindows())
                Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }
    }

    [Test]
    public void A_key_file_that_exists_is_read_not_replaced()
    {
        var path = Path.Combine(_folder, "credentials.key");
        var first = AesGcmCredentialProtector.FromKeyFile(path);
        var before = File.ReadAllBytes(path);
        var second = AesGcmCredentialProtector.FromKeyFile(path);
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
            Assert.That(second.Unprotect(first.Protect("kept")), Is.EqualTo("kept"));
        });
    }
}
