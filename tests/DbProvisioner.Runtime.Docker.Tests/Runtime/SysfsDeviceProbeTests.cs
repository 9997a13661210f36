using DbProvisioner.Domain.Disks;
using DbProvisioner.Runtime;

namespace DbProvisioner.Runtime.Docker.Tests.Runtime;

/// <summary>What the probe helper prints (number, kernel name, partition flag, backing file last) becomes facts the policy judges.</summary>
public sealed class SysfsDeviceProbeTests
{
    private const string Device = "/dev/disk/by-id/pool-disk";

    [Test]
    public void A_pool_loop_device_is_accepted()
    {
        var (number, facts) = SysfsDeviceProbe.Parse(Device, "number=7:2\nname=loop2\nbacking=/var/lib/dbprov/disks/disk-03.img\n");

        Assert.That(number, Is.EqualTo("7:2"));
        Assert.That(facts.BackingFile, Is.EqualTo("/var/lib/dbprov/disks/disk-03.img"));
        Assert.That(facts.IsPartition, Is.False);
        Assert.That(DiskDevicePolicy.Default.Refusal(facts), Is.Null, "a loop device over a pool file");
    }

    [Test]
    public void A_backing_file_is_read_to_the_end_whatever_it_holds()
    {
        var (_, facts) = SysfsDeviceProbe.Parse(Device, "number=7:9\nname=loop9\nbacking=/tmp/a\nname=sdb\npartition=1\n");

        Assert.That(facts.BackingFile, Is.EqualTo("/tmp/a\nname=sdb\npartition=1"), "a file name cannot pose as another fact");
        Assert.That(facts.IsPartition, Is.False);
        Assert.That(DiskDevicePolicy.Default.Refusal(facts), Is.EqualTo("it is a loop device over '/tmp/a\nname=sdb\npartition=1', not a plain absolute path"));
    }

    [Test]
    public void A_deleted_backing_file_keeps_the_kernel_s_suffix()
    {
        var (_, facts) = SysfsDeviceProbe.Parse(Device, "number=7:3\nname=loop3\nbacking=/var/lib/dbprov/disks/disk-04.img (deleted)\n");

        Assert.That(facts.BackingFile, Is.EqualTo("/var/lib/dbprov/disks/disk-04.img (deleted)"));
        Assert.That(DiskDevicePolicy.Default.Refusal(facts), Is.EqualTo("it is a loop device over /var/lib/dbprov/disks/disk-04.img, a file that was deleted"));
    }

    [Test]
    public void A_partition_of_a_real_disk()
    {
        var (number, facts) = SysfsDeviceProbe.Parse("/dev/sdb1", "number=8:17\r\nname=sdb1\r\npartition=1\r\n");

        Assert.That(number, Is.EqualTo("8:17"));
        Assert.That(facts, Is.EqualTo(new BlockDeviceFacts("/dev/sdb1", "sdb1", true, null)));
    }

    [TestCase("")]
    [TestCase("name=sdb\n")]
    [TestCase("number=8:16\n")]
    public void Output_without_number_or_name_is_an_error(string output)
    {
        Assert.Throws<FormatException>(() => SysfsDeviceProbe.Parse(Device, output));
    }

    [Test]
    public void The_guard_expects_what_the_probe_found()
    {
        var (number, facts) = SysfsDeviceProbe.Parse(Device, "number=7:2\nname=loop2\nbacking=/var/lib/dbprov/disks/disk-03.img\n");

        Assert.That(SysfsDeviceProbe.GuardEnvironment(number, facts),
            Is.EqualTo(new[] { "DBPROV_EXPECT_NUMBER=7:2", "DBPROV_EXPECT_BACKING=/var/lib/dbprov/disks/disk-03.img" }));
    }

    [Test]
    public void A_real_disk_expects_no_backing_file()
    {
        var (number, facts) = SysfsDeviceProbe.Parse("/dev/sdb", "number=8:16\nname=sdb\n");

        Assert.That(SysfsDeviceProbe.GuardEnvironment(number, facts), Is.EqualTo(new[] { "DBPROV_EXPECT_NUMBER=8:16", "DBPROV_EXPECT_BACKING=" }));
    }
}
