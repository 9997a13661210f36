using DbProvisioner.Domain.Silos;

namespace DbProvisioner.Domain.Tests.Silos;

/// <summary>Rendezvous hashing of hosts over the active silos: one owner each, stable, balanced, and only the dead silo's hosts move.</summary>
public sealed class SiloSharesTests
{
    private static readonly string[] Three = ["127.0.0.1:11111@1", "127.0.0.1:11112@1", "127.0.0.1:11113@1"];
    private static readonly string[] Hosts = [.. Enumerable.Range(0, 3000).Select(i => $"host-{i:D4}")];

    public static IEnumerable<TestCaseData> Memberships()
    {
        yield return new TestCaseData((object)new[] { "a" }).SetName("one silo");
        yield return new TestCaseData((object)new[] { "a", "b" }).SetName("two silos");
        yield return new TestCaseData((object)Three).SetName("three silos by address");
        yield return new TestCaseData((object)new[] { "s1", "s2", "s3", "s4", "s5" }).SetName("five silos");
    }

    [TestCaseSource(nameof(Memberships))]
    public void Every_host_has_exactly_one_owner_among_the_active_silos(string[] silos)
    {
        foreach (var host in Hosts.Take(200))
        {
            var owners = silos.Where(s => SiloShares.IsMine(host, silos, s)).ToList();
            Assert.That(owners, Has.Count.EqualTo(1), host);
            Assert.That(SiloShares.OwnerOf(host, silos), Is.EqualTo(owners[0]));
        }
    }

    [TestCaseSource(nameof(Memberships))]
    public void The_owner_does_not_depend_on_the_order_the_membership_lists_the_silos(string[] silos)
    {
        var reversed = silos.Reverse().ToArray();
        Assert.That(Hosts.Select(h => SiloShares.OwnerOf(h, reversed)), Is.EqualTo(Hosts.Select(h => SiloShares.OwnerOf(h, silos))));
    }

    [TestCase(2)]
    [TestCase(3)]
    [TestCase(5)]
    public void Hosts_spread_evenly_over_the_silos(int count)
    {
        var silos = Enumerable.Range(1, count).Select(i => $"10.0.0.{i}:11111@42").ToArray();
        var shares = silos.Select(s => SiloShares.MineOf(Hosts, silos, s).Count).ToList();
        var fair = (double)Hosts.Length / count;
        Assert.That(shares.Sum(), Is.EqualTo(Hosts.Length));
        Assert.That(shares, Has.All.InRange(fair * 0.85, fair * 1.15), string.Join(", ", shares));
    }

    [Test]
    public void When_a_silo_dies_only_its_hosts_move_and_the_survivors_take_all_of_them()
    {
        var before = Hosts.ToDictionary(h => h, h => SiloShares.OwnerOf(h, Three)!);
        var dead = Three[1];
        var survivors = Three.Where(s => s != dead).ToArray();
        var after = Hosts.ToDictionary(h => h, h => SiloShares.OwnerOf(h, survivors)!);

        Assert.Multiple(() =>
        {
            Assert.That(Hosts.Where(h => before[h] != dead).Where(h => after[h] != before[h]), Is.Empty, "a survivor's host moved");
            Assert.That(after.Values, Is.All.AnyOf(survivors.Cast<object>().ToArray()), "a host left to the dead silo");
            Assert.That(Hosts.Where(h => before[h] == dead).Select(h => after[h]).Distinct().Count(), Is.EqualTo(2), "the dead silo's hosts go to both survivors");
        });
    }

    [Test]
    public void A_silo_that_is_not_active_owns_nothing_and_no_silos_means_no_owner()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SiloShares.MineOf(Hosts, Three, "127.0.0.1:11114@1"), Is.Empty);
            Assert.That(SiloShares.OwnerOf("host-1", []), Is.Null);
            Assert.That(SiloShares.IsMine("host-1", [], "a"), Is.False);
        });
    }

    [Test]
    public void The_owner_is_the_same_in_every_process_and_run()
    {
        // Pinned: string.GetHashCode would change per process, and then two silos would disagree.
        Assert.That(Hosts.Take(6).Select(h => Three.ToList().IndexOf(SiloShares.OwnerOf(h, Three)!)), Is.EqualTo(Pinned));
    }

    private static readonly int[] Pinned = [2, 1, 1, 0, 2, 2];
}
