using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Domain.Tests.Topology;

public class CpuSetTests
{
    private static IEnumerable<TestCaseData> RoundTrips()
    {
        yield return new TestCaseData("", "", 0).SetName("empty");
        yield return new TestCaseData("0", "0", 1).SetName("single");
        yield return new TestCaseData("0-3,8-11", "0-3,8-11", 8).SetName("two ranges");
        yield return new TestCaseData("3,1,2,0", "0-3", 4).SetName("unordered collapses");
        yield return new TestCaseData("4,5", "4,5", 2).SetName("pair stays a list");
        yield return new TestCaseData(" 0-1 , 63-64\n", "0,1,63,64", 4).SetName("whitespace and word boundary");
        yield return new TestCaseData("1,1,1", "1", 1).SetName("duplicates");
        yield return new TestCaseData("127", "127", 1).SetName("third word");
    }

    [TestCaseSource(nameof(RoundTrips))]
    public void Parses_and_prints_the_linux_list_syntax(string text, string printed, int count)
    {
        var set = CpuSet.Parse(text);
        Assert.Multiple(() =>
        {
            Assert.That(set.ToString(), Is.EqualTo(printed));
            Assert.That(set.Count, Is.EqualTo(count));
            Assert.That(CpuSet.Parse(set.ToString()), Is.EqualTo(set));
        });
    }

    private static IEnumerable<TestCaseData> BadLists()
    {
        yield return new TestCaseData("a").SetName("letters");
        yield return new TestCaseData("3-1").SetName("backwards range");
        yield return new TestCaseData("1,,2").SetName("empty item");
        yield return new TestCaseData("-1").SetName("negative");
        yield return new TestCaseData("70000").SetName("too large");
    }

    [TestCaseSource(nameof(BadLists))]
    public void Rejects_malformed_lists_with_a_reason(string text)
    {
        Assert.Multiple(() =>
        {
            Assert.That(CpuSet.TryParse(text, out _, out var error), Is.False);
            Assert.That(error, Is.Not.Empty);
            Assert.Throws<FormatException>(() => CpuSet.Parse(text));
        });
    }

    [Test]
    public void Set_operations_follow_set_laws()
    {
        var a = CpuSet.Parse("0-7");
        var b = CpuSet.Parse("4-11,64");
        Assert.Multiple(() =>
        {
            Assert.That(a.Union(b).ToString(), Is.EqualTo("0-11,64"));
            Assert.That(a.Intersect(b).ToString(), Is.EqualTo("4-7"));
            Assert.That(a.Except(b).ToString(), Is.EqualTo("0-3"));
            Assert.That(b.Except(a).ToString(), Is.EqualTo("8-11,64"));
            Assert.That(a.Overlaps(b), Is.True);
            Assert.That(a.Overlaps(CpuSet.Parse("64")), Is.False);
            Assert.That(CpuSet.Parse("1-2").IsSubsetOf(a), Is.True);
            Assert.That(b.Contains(64), Is.True);
            Assert.That(b.Contains(-1), Is.False);
            Assert.That(b.Min(), Is.EqualTo(4));
            Assert.That(CpuSet.Empty.Min(), Is.EqualTo(-1));
            Assert.That(b.Except(CpuSet.Parse("64")), Is.EqualTo(CpuSet.Parse("4-11")), "trailing zero words do not affect equality");
            Assert.That(b.Except(CpuSet.Parse("64")).GetHashCode(), Is.EqualTo(CpuSet.Parse("4-11").GetHashCode()));
            Assert.That(a.Cpus(), Is.EqualTo(new[] { 0, 1, 2, 3, 4, 5, 6, 7 }));
        });
    }

    [Test]
    public void Compare_orders_by_lowest_cpu_then_size_and_is_total()
    {
        var sets = new[] { "2", "0-3", "0,1", "1", "0,2" }.Select(CpuSet.Parse).ToList();
        sets.Sort();
        Assert.That(sets.Select(static s => s.ToString()), Is.EqualTo(new[] { "0,1", "0,2", "0-3", "1", "2" }));
    }
}
