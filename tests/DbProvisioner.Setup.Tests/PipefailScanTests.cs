using DbProvisioner.Setup.Tests.Support;

namespace DbProvisioner.Setup.Tests;

public sealed class PipefailScanTests
{
    [Test]
    public void No_set_up_script_has_a_pipeline_that_dies_of_SIGPIPE_under_pipefail()
    {
        var findings = PipefailScan.Scripts(HackScript.RepoDir)
            .SelectMany(f => PipefailScan.Scan(Path.GetRelativePath(HackScript.RepoDir, f), File.ReadAllLines(f)))
            .ToList();

        Assert.That(PipefailScan.Scripts(HackScript.RepoDir).Select(f => Path.GetRelativePath(HackScript.RepoDir, f)),
            Does.Contain("hack/meta-db.sh").And.Contain("images/mysql/docker-entrypoint.sh"), "the scan sees the scripts");
        Assert.That(findings, Is.Empty, string.Join("\n", findings));
    }

    // The lines 79e87aa replaced, and the shapes of the same mistake.
    [TestCase("(umask 077; tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 32 > \"$PW_FILE\")")]
    [TestCase("root_pw=\"$(tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 32)\"")]
    [TestCase("device_of() { losetup -j \"$1\" -O NAME -n 2>/dev/null | head -n 1 | tr -d ' '; }")]
    [TestCase("dpkg-query -W -f='${Status}' \"$p\" 2>/dev/null | grep -q 'install ok installed' || missing+=(\"$p\")")]
    [TestCase("counters=\"$(grep -o '<Counters [^>]*>' \"$trx\" | head -n 1)\"")]
    [TestCase("cat /dev/urandom | tr -dc a-z > x")]
    [TestCase("yes | apt-get install foo")]
    [TestCase("x | grep -m 1 y")]
    public void A_pipeline_that_closes_early_is_found(string line)
    {
        Assert.That(PipefailScan.Scan("x.sh", [line]).Single().Line, Is.EqualTo(1));
    }

    [TestCase("out+=\"$(LC_ALL=C tr -dc 'A-Za-z0-9' < <(head -c 512 /dev/urandom))\"")]
    [TestCase("counters=\"$(grep -o -m 1 '<Counters [^>]*>' \"$trx\" || true)\"")]
    [TestCase("[ -n \"$d\" ] || continue")]
    [TestCase("# No `tr < /dev/urandom | head`: under pipefail `tr` dies of SIGPIPE")]
    [TestCase("local n=\"${1:-32}\"; while [ \"${#out}\" -lt \"$n\" ]; do :; done  # not | head")]
    [TestCase("docker ps -a | sort")]
    public void A_bounded_read_is_not_reported(string line)
    {
        Assert.That(PipefailScan.Scan("x.sh", [line]), Is.Empty);
    }

    [Test]
    public void A_pipeline_over_two_lines_is_judged_whole_and_reported_at_its_start()
    {
        var findings = PipefailScan.Scan("x.sh", ["echo a", "tr -dc 'A-Za-z0-9' < /dev/urandom \\", "  | head -c 32"]);

        Assert.That(findings.Select(f => f.Line), Is.EqualTo(new[] { 2 }));
    }
}
