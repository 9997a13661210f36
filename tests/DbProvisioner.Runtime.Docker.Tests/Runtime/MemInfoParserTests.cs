using DbProvisioner.Runtime;

namespace DbProvisioner.Runtime.Docker.Tests.Runtime;

public sealed class MemInfoParserTests
{
    [TestCase("MemTotal:       24684084 kB\nSwapCached:            0 kB\nSwapTotal:       2097148 kB\nSwapFree:        2097148 kB\n", 2047L)]
    [TestCase("MemTotal:       24684084 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n", 0L)]
    [TestCase("SwapTotal:      16777212 kB", 16383L)]
    public void SwapTotal_is_read_in_MiB(string meminfo, long expected) =>
        Assert.That(MemInfoParser.SwapTotalMiB(meminfo), Is.EqualTo(expected));

    [TestCase("MemTotal:       24684084 kB\nSwapFree:        2097148 kB\n")]
    [TestCase("")]
    public void A_meminfo_without_SwapTotal_is_a_format_error(string meminfo) =>
        Assert.That(() => MemInfoParser.SwapTotalMiB(meminfo), Throws.TypeOf<FormatException>().With.Message.Contains("SwapTotal"));
}
