using DbProvisioner.Domain.Disks;

namespace DbProvisioner.Domain.Tests.Disks;

public class DiskDevicePolicyTests
{
    private const string Pool = "/var/lib/dbprov/disks";

    private static BlockDeviceFacts Loop(string? backing, string name = "loop7") => new("/dev/" + name, name, IsPartition: false, backing);

    private static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData Case(string name, BlockDeviceFacts facts, string? refusal, bool wholeDisks = false, string pool = Pool) =>
            new TestCaseData(facts, pool, wholeDisks, refusal).SetName(name);

        yield return Case("a pool file", Loop("/var/lib/dbprov/disks/disk-03.img"), null);
        yield return Case("a pool file in a subfolder", Loop("/var/lib/dbprov/disks/run/run-01.img"), null);
        yield return Case("a pool folder given with a trailing slash", Loop("/var/lib/dbprov/disks/disk-03.img"), null, pool: Pool + "/");
        yield return Case("a file elsewhere", Loop("/tmp/other.img"),
            "it is a loop device over /tmp/other.img, outside the disk pool /var/lib/dbprov/disks");
        yield return Case("a sibling folder whose name starts like the pool's", Loop("/var/lib/dbprov/disks-evil/x.img"),
            "it is a loop device over /var/lib/dbprov/disks-evil/x.img, outside the disk pool /var/lib/dbprov/disks");
        yield return Case("a file named like the pool folder", Loop("/var/lib/dbprov/disks.img"),
            "it is a loop device over /var/lib/dbprov/disks.img, outside the disk pool /var/lib/dbprov/disks");
        yield return Case("the pool folder itself", Loop("/var/lib/dbprov/disks"),
            "it is a loop device over /var/lib/dbprov/disks, outside the disk pool /var/lib/dbprov/disks");
        yield return Case("a path climbing out with ..", Loop("/var/lib/dbprov/disks/../secrets/x.img"),
            "it is a loop device over '/var/lib/dbprov/disks/../secrets/x.img', not a plain absolute path");
        yield return Case("a path with a . segment", Loop("/var/lib/dbprov/disks/./disk-01.img"),
            "it is a loop device over '/var/lib/dbprov/disks/./disk-01.img', not a plain absolute path");
        yield return Case("a relative path", Loop("var/lib/dbprov/disks/disk-01.img"),
            "it is a loop device over 'var/lib/dbprov/disks/disk-01.img', not a plain absolute path");
        yield return Case("a path with a newline", Loop("/var/lib/dbprov/disks/a\n/tmp/b.img"),
            "it is a loop device over '/var/lib/dbprov/disks/a\n/tmp/b.img', not a plain absolute path");
        yield return Case("a pool file that was deleted", Loop("/var/lib/dbprov/disks/disk-03.img (deleted)"),
            "it is a loop device over /var/lib/dbprov/disks/disk-03.img, a file that was deleted");
        yield return Case("a loop device with no file", Loop(null), "it is a loop device with no backing file");
        yield return Case("a loop device with an empty file name", Loop(""), "it is a loop device with no backing file");
        yield return Case("a real disk", new BlockDeviceFacts("/dev/sdb", "sdb", false, null),
            "it is not a loop device of the disk pool /var/lib/dbprov/disks but a real disk (sdb), and whole real disks are not allowed on this appliance");
        yield return Case("a real disk where whole disks are allowed", new BlockDeviceFacts("/dev/sdb", "sdb", false, null), null, wholeDisks: true);
        yield return Case("a partition where whole disks are allowed", new BlockDeviceFacts("/dev/sdb1", "sdb1", true, null),
            "it is a partition (sdb1), not a whole disk", wholeDisks: true);
        yield return Case("a partition of a pool loop device", new BlockDeviceFacts("/dev/loop3p1", "loop3p1", false, null),
            "it is a partition (loop3p1), not a whole disk", wholeDisks: true);
        yield return Case("a device node under another name", new BlockDeviceFacts("/dev/disk/by-id/x", "loop2", false, "/var/lib/dbprov/disks/disk-03.img"), null);
        yield return Case("a root pool folder trusts nothing", Loop("/tmp/other.img"),
            "the disk-pool folder '/' is not a plain absolute folder, so no loop device can be trusted", pool: "/");
        yield return Case("a relative pool folder trusts nothing", Loop("disks/disk-01.img"),
            "the disk-pool folder 'disks' is not a plain absolute folder, so no loop device can be trusted", pool: "disks");
        yield return Case("a pool folder with .. trusts nothing", Loop("/var/lib/x.img"),
            "the disk-pool folder '/var/lib/dbprov/disks/../..' is not a plain absolute folder, so no loop device can be trusted", pool: Pool + "/../..");
    }

    [TestCaseSource(nameof(Cases))]
    public void Only_loop_devices_over_pool_files_are_formatted(BlockDeviceFacts facts, string pool, bool wholeDisks, string? refusal)
    {
        Assert.That(new DiskDevicePolicy(pool, wholeDisks).Refusal(facts), Is.EqualTo(refusal));
    }

    [Test]
    public void The_default_is_the_pool_folder_of_hack_disks_sh_without_whole_disks()
    {
        Assert.That(DiskDevicePolicy.Default, Is.EqualTo(new DiskDevicePolicy("/var/lib/dbprov/disks", AllowWholeDisks: false)));
    }
}
