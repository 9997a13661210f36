using DbProvisioner.Domain.Cpu;
using DbProvisioner.Domain.Tests.TestData;
using DbProvisioner.Domain.Topology;
using static DbProvisioner.Api.NumaPolicy;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.Cpu;

public class CpuAllocatorTests
{
    public sealed record Case(HostTopology Topology, CpuSet Reserved, CpuRequest[] Before, CpuRequest Request, string? Cpus, int[]? Nodes, string? Reason = null, string? Mems = null);

    private static CpuRequest R(string id, int cpus, NumaPolicy numa, long memory = 1024) => new(id, cpus, memory, numa);

    private static IEnumerable<TestCaseData> Cases()
    {
        var dual = Topologies.DualSocketHt;
        var four = Topologies.FourNumaHt;
        var one = Topologies.SingleSocketNoHt;
        var asym = Topologies.Asymmetric;
        var none = CpuSet.Empty;
        TestCaseData C(string name, Case c) => new TestCaseData(c).SetName(name);

        yield return C("single socket: one CPU", new(one, none, [], R("a", 1, Required), "0", [0], Mems: "0"));
        yield return C("single socket: second instance gets the other core", new(one, none, [R("a", 1, Required)], R("b", 1, Required), "1", [0]));
        yield return C("single socket: full", new(one, none, [R("a", 1, Required), R("b", 1, Required)], R("c", 1, Preferred), null, null, "host has 0 free CPUs on whole cores; 1 needed"));
        yield return C("single socket: reserved CPU skipped", new(one, CpuSet.Of(0), [], R("a", 1, Required), "1", [0]));
        yield return C("single socket: memory above node", new(one, none, [], R("a", 1, Required, 5000), null, null, "NUMA node 0 has 1 free CPUs but only 4096 MiB free memory; NUMA required needs 5000 MiB on that node"));

        yield return C("dual: required ties go to node 0 and whole cores", new(dual, none, [], R("a", 4, Required), "0,1,32,33", [0], Mems: "0"));
        yield return C("dual: odd count rounds up to whole cores", new(dual, none, [], R("a", 3, Required), "0,1,32,33", [0]));
        yield return C("dual: exactly a full node", new(dual, none, [], R("a", 32, Required, 65536), "0-15,32-47", [0]));
        yield return C("dual: node full, next goes to node 1", new(dual, none, [R("a", 32, Required, 65536)], R("b", 2, Required, 1), "16,48", [1]));
        yield return C("dual: more than a node is refused for required", new(dual, none, [], R("a", 33, Required), null, null, "no NUMA node has 33 free CPUs on whole cores (most: 32 on node 0)"));
        yield return C("dual: preferred takes a whole node then best fit", new(dual, none, [], R("a", 40, Preferred), "0-19,32-51", [0, 1], Mems: "0"));
        yield return C("dual: best fit picks the fuller node", new(dual, none, [R("a", 24, Required)], R("b", 8, Required), "12-15,44-47", [0]));
        yield return C("dual: preferred spills memory, binds both nodes", new(dual, none, [], R("a", 4, Preferred, 70000), "0,1,32,33", [0], Mems: "0,1"));
        yield return C("dual: interleave binds no node", new(dual, none, [], R("a", 8, Interleave), "0-3,32-35", [0], Mems: ""));
        yield return C("dual: none binds no node", new(dual, none, [], R("a", 2, None), "0,32", [0], Mems: ""));
        yield return C("dual: fragmented, required refused", new(dual, none, [R("a", 30, Required), R("b", 30, Required)], R("c", 4, Required), null, null, "no NUMA node has 4 free CPUs on whole cores (most: 2 on node 0)"));
        yield return C("dual: fragmented, preferred spans the fewest nodes", new(dual, none, [R("a", 30, Required), R("b", 30, Required)], R("c", 4, Preferred), "15,31,47,63", [0, 1]));
        yield return C("dual: required memory must fit on the chosen node", new(dual, none, [R("a", 2, Required, 60000)], R("b", 2, Required, 10000), "16,48", [1]));

        yield return C("four: preferred 60 takes two whole nodes and part of a third", new(four, none, [], R("a", 60, Preferred), "0-29,48-77", [0, 1, 2]));
        yield return C("four: required whole node", new(four, none, [], R("a", 24, Required, 32768), "0-11,48-59", [0]));
        yield return C("four: best fit after fragmentation", new(four, none, [R("a", 20, Required), R("b", 4, Required)], R("c", 4, Required), "12,13,60,61", [1]));

        yield return C("asymmetric: best fit picks the small node", new(asym, Topologies.AsymmetricReserved, [], R("a", 8, Required), "8-11,20-23", [1]));
        yield return C("asymmetric: reserved core lowers node 0", new(asym, Topologies.AsymmetricReserved, [], R("a", 16, Required), null, null, "no NUMA node has 16 free CPUs on whole cores (most: 14 on node 0)"));
        yield return C("asymmetric: small preferred fits snugly", new(asym, Topologies.AsymmetricReserved, [], R("a", 2, Preferred), "8,20", [1]));
        yield return C("asymmetric: reserved core is never handed out", new(asym, Topologies.AsymmetricReserved, [], R("a", 14, Required), "1-7,13-19", [0]));
    }

    [TestCaseSource(nameof(Cases))]
    public void Allocates_whole_cores_by_policy(Case c)
    {
        var state = HostCpuState.Create(c.Topology, c.Reserved);
        foreach (var before in c.Before)
        {
            var pre = CpuAllocator.Allocate(state, before);
            Assert.That(pre.Succeeded, Is.True, pre.Reason);
            state = pre.State;
        }

        var result = CpuAllocator.Allocate(state, c.Request);

        Assert.Multiple(() =>
        {
            if (c.Cpus is null)
            {
                Assert.That(result.Succeeded, Is.False);
                Assert.That(result.Reason, Is.EqualTo(c.Reason));
                Assert.That(result.State, Is.SameAs(state), "a refusal changes nothing");
            }
            else
            {
                Assert.That(result.Succeeded, Is.True, result.Reason);
                Assert.That(result.Assignment!.Cpus.ToString(), Is.EqualTo(c.Cpus));
                Assert.That(result.Assignment.CpuNodes, Is.EqualTo(c.Nodes));
                Assert.That(result.Assignment.MemoryMiB, Is.EqualTo(c.Request.MemoryMiB));
                if (c.Mems is not null) Assert.That(result.Assignment.CpusetMems, Is.EqualTo(c.Mems));
                Assert.That(CpuAllocator.Validate(result.State), Is.Empty);
            }
        });
    }

    private static IEnumerable<TestCaseData> EveryTopology() =>
        Topologies.All().Select(static t => new TestCaseData(t.Topology, t.Reserved).SetName(t.Name));

    [TestCaseSource(nameof(EveryTopology))]
    public void Asking_again_returns_the_same_cpus_and_state(HostTopology topology, CpuSet reserved)
    {
        var first = CpuAllocator.Allocate(HostCpuState.Create(topology, reserved), R("a", 1, Required, 1));
        var again = CpuAllocator.Allocate(first.State, R("a", 1, Required, 1));
        Assert.Multiple(() =>
        {
            Assert.That(again.Assignment, Is.SameAs(first.Assignment));
            Assert.That(again.State, Is.SameAs(first.State));
        });
    }

    [TestCaseSource(nameof(EveryTopology))]
    public void A_different_request_under_the_same_id_is_refused(HostTopology topology, CpuSet reserved)
    {
        var first = CpuAllocator.Allocate(HostCpuState.Create(topology, reserved), R("a", 1, Required, 1));
        var other = CpuAllocator.Allocate(first.State, R("a", 1, Interleave, 1));
        Assert.Multiple(() =>
        {
            Assert.That(other.Succeeded, Is.False);
            Assert.That(other.Reason, Does.StartWith("instance a already holds CPUs " + first.Assignment!.Cpus));
            Assert.That(other.Reason, Does.Contain("release them"));
        });
    }

    [TestCaseSource(nameof(EveryTopology))]
    public void Release_gives_the_cores_back_and_fill_to_full_is_exact(HostTopology topology, CpuSet reserved)
    {
        var state = HostCpuState.Create(topology, reserved);
        var n = 0;
        while (true)
        {
            var r = CpuAllocator.Allocate(state, R($"i{n}", 1, Preferred, 1));
            if (!r.Succeeded) break;
            state = r.State;
            n++;
        }
        var usable = topology.Nodes.SelectMany(static x => x.Cores).Count(c => !c.Cpus.Overlaps(reserved));
        Assert.Multiple(() =>
        {
            Assert.That(n, Is.EqualTo(usable), "one instance per usable core");
            Assert.That(CpuAllocator.Validate(state), Is.Empty);
        });

        var held = state.Assignments["i0"].Cpus;
        state = CpuAllocator.Release(state, "i0");
        Assert.That(CpuAllocator.Release(state, "i0"), Is.SameAs(state), "releasing twice changes nothing");
        var again = CpuAllocator.Allocate(state, R("new", 1, Preferred, 1));
        Assert.That(again.Assignment!.Cpus, Is.EqualTo(held));
    }

    private static IEnumerable<TestCaseData> BadRequests()
    {
        yield return new TestCaseData(R("a", 0, Required), "instance a asks for 0 CPUs; at least 1 is needed").SetName("zero CPUs");
        yield return new TestCaseData(R("", 1, Required), "an instance id is required").SetName("no id");
        yield return new TestCaseData(R("a", 1, Required, -1), "instance a asks for negative memory").SetName("negative memory");
    }

    [TestCaseSource(nameof(BadRequests))]
    public void Bad_requests_are_refused_with_a_reason(CpuRequest request, string reason)
    {
        var r = CpuAllocator.Allocate(HostCpuState.Create(Topologies.DualSocketHt), request);
        Assert.That(r.Reason, Is.EqualTo(reason));
    }

    private static IEnumerable<TestCaseData> BrokenStates()
    {
        var t = Topologies.DualSocketHt;
        var empty = HostCpuState.Create(t);
        CpuAssignment A(string id, string cpus, NumaPolicy numa = Required, int[]? nodes = null, long mem = 0, int memNode = 0) =>
            new(id, CpuSet.Parse(cpus).Count, numa, CpuSet.Parse(cpus), nodes ?? [0], mem == 0 ? [] : [new NodeMemory(memNode, mem)]);
        HostCpuState With(params CpuAssignment[] a) => empty with { Assignments = empty.Assignments.AddRange(a.Select(static x => KeyValuePair.Create(x.InstanceId, x))) };

        yield return new TestCaseData(empty with { Reserved = CpuSet.Parse("200") }, "reserved CPUs 200 are not on this host").SetName("reserved outside");
        yield return new TestCaseData(With(A("a", "0,32"), A("b", "0,32")), "CPU 0 is assigned to both a and b").SetName("double assignment");
        yield return new TestCaseData(With(A("a", "0"), A("b", "32")), "core 0 (CPUs 0,32) is shared by a and b").SetName("shared core");
        yield return new TestCaseData(With(A("a", "0")), "instance a holds part of core 0 (CPUs 0,32); cores are handed out whole").SetName("half core");
        yield return new TestCaseData(empty with { Reserved = CpuSet.Parse("1,33"), Assignments = With(A("a", "1,33")).Assignments }, "instance a holds reserved CPUs 1,33").SetName("reserved assigned");
        yield return new TestCaseData(With(A("a", "0,16,32,48", nodes: [0, 1])), "instance a is NUMA required but its CPUs span nodes 0,1").SetName("required spans");
        yield return new TestCaseData(With(A("a", "0,32", mem: 70000)), "NUMA node 0 has 70000 MiB booked but only 65536 MiB").SetName("memory over-committed");
        yield return new TestCaseData(With(A("a", "0,32", mem: 10, memNode: 1)), "instance a is NUMA required but its memory is not on its CPUs' node").SetName("required memory elsewhere");
        yield return new TestCaseData(With(A("a", "200")), "instance a holds CPUs 200 that are not on this host").SetName("foreign CPU");
    }

    [TestCaseSource(nameof(BrokenStates))]
    public void Validate_names_every_broken_invariant(HostCpuState state, string problem) =>
        Assert.That(CpuAllocator.Validate(state), Does.Contain(problem));
}
