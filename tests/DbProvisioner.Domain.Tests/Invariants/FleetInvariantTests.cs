using DbProvisioner.Domain.Disks;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Placement;
using DbProvisioner.Domain.Tests.TestData;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Api;

namespace DbProvisioner.Domain.Tests.Invariants;

/// <summary>
/// Seeded random sequences of place / cluster-place / release / cordon / disk recycling on a small
/// simulated fleet, with every invariant checked after every step by code independent of the
/// Domain's own validators. A failure names its seed: add it to <see cref="ReplaySeeds"/> to replay.
/// </summary>
public class FleetInvariantTests
{
    private const int Batches = 20;
    private const int SeedsPerBatch = 100;
    private const int Steps = 60;

    private static IEnumerable<TestCaseData> SeedBatches() =>
        Enumerable.Range(0, Batches).Select(static b => new TestCaseData(b * SeedsPerBatch, SeedsPerBatch).SetName($"seeds {b * SeedsPerBatch}-{(b + 1) * SeedsPerBatch - 1}"));

    private static IEnumerable<TestCaseData> ReplaySeeds()
    {
        yield return new TestCaseData(424242, 1).SetName("replay 424242");
    }

    [TestCaseSource(nameof(SeedBatches))]
    [TestCaseSource(nameof(ReplaySeeds))]
    public void Random_sequences_never_break_an_invariant(int firstSeed, int count)
    {
        var steps = 0;
        for (var seed = firstSeed; seed < firstSeed + count; seed++) steps += new Simulation(seed).Run(Steps);
        Assert.That(steps, Is.EqualTo(count * Steps));
    }

    private sealed class Simulation(int seed)
    {
        private readonly Random _rng = new(seed);
        private HostState[] _hosts = [];
        private readonly Dictionary<string, (string Shard, string HostId)> _instances = [];
        private readonly Dictionary<string, ShardContext> _shards = [];
        private int _next;
        private int _start;
        private int _step;

        public int Run(int steps)
        {
            var (_, topology, reserved) = Topologies.All().ElementAt(_rng.Next(4));
            _hosts = new FleetBuilder(_rng.Next(4, 13), topology, Zones: 3, RacksPerZone: 2, DisksPerHost: 6, DiskSizeGiB: 400,
                SeededDisksPerHost: 2, PortsPerHost: 5, Reserved: reserved).Build();
            // Some hosts without swap, some with a little: swap runs out before CPUs do on some.
            for (var i = 0; i < _hosts.Length; i++) _hosts[i] = _hosts[i] with { Swap = HostSwap.Of(8192, _rng.Next(3) * 2048L) };
            for (_step = 0; _step < steps; _step++)
            {
                var op = _rng.Next(100);
                if (op < 50) PlaceOne();
                else if (op < 60) PlaceCluster();
                else if (op < 85) ReleaseOne();
                else if (op < 92) RecycleDisks();
                else ToggleCordon();
                CheckAll();
            }
            return steps;
        }

        private InstanceRequest RandomInstance(string id)
        {
            var policy = (NumaPolicy)_rng.Next(4);
            return new InstanceRequest(id, _rng.Next(1, 13), _rng.Next(1, 24) * 1024L, policy, _rng.Next(1, 5) * 100L, "nvme", _rng.Next(3) * 512L);
        }

        private static readonly SpreadRule[] Rules =
        [
            new(SpreadDomain.Rack, 1, SpreadMode.Hard), new(SpreadDomain.Host, 1, SpreadMode.Hard),
            new(SpreadDomain.Zone, 2, SpreadMode.Hard), new(SpreadDomain.Zone, 1, SpreadMode.Soft),
        ];

        private void PlaceOne()
        {
            var id = $"i{_next++}";
            var instance = RandomInstance(id);
            ShardContext shard;
            if (_shards.Count > 0 && _rng.Next(2) == 0) shard = _shards.Values.ElementAt(_rng.Next(_shards.Count));
            else shard = new ShardContext("c", $"s{_next}", Rules[_rng.Next(Rules.Length)], []);
            var summaries = _hosts.Select(HostCapacity.From).ToArray();
            var options = new PlacementOptions(_rng.Next(2) == 0 ? 100 : 30, 1);
            var decision = Scheduler.Place(summaries, new PlacementRequest(instance, "general", shard), options, _start);
            _start = decision.NextStartIndex;
            if (!decision.Placed)
            {
                Require(decision.Reason.Length > 0 && decision.Unfit.Sum(static u => u.Hosts) == _hosts.Length, "a refusal explains every host");
                return;
            }
            Require(Reserve(decision.HostIndex, instance, shard), $"the summary of {decision.HostId} promised room for {id} but the host refused");
        }

        private void PlaceCluster()
        {
            var cluster = $"k{_next++}";
            var t = RandomInstance("t");
            var request = new ClusterRequest(cluster, "general", _rng.Next(1, 3), _rng.Next(1, 4),
                new InstanceTemplate(t.Cpus, t.MemoryMiB, t.Numa, t.DiskGiB, t.DiskClass, t.SwapMiB), Rules[_rng.Next(Rules.Length)]);
            var before = _hosts.ToArray();
            var plan = ClusterPlacement.Place(_hosts.Select(HostCapacity.From).ToArray(), request, PlacementOptions.Default, _start);
            _start = plan.NextStartIndex;
            if (!plan.Placed)
            {
                Require(plan.Members.Count == 0, "a refused cluster has no members");
                return;
            }
            var shards = new Dictionary<string, ShardContext>();
            foreach (var m in plan.Members)
            {
                var shard = shards.TryGetValue(m.Shard, out var s) ? s : new ShardContext(cluster, m.Shard, request.Spread, []);
                var tpl = request.Template;
                var instance = new InstanceRequest(m.InstanceId, tpl.Cpus, tpl.MemoryMiB, tpl.Numa, tpl.DiskGiB, tpl.DiskClass, tpl.SwapMiB);
                var index = Array.FindIndex(_hosts, h => h.HostId == m.HostId);
                Require(Reserve(index, instance, shard), $"cluster plan put {m.InstanceId} on {m.HostId} but the host refused");
                shards[m.Shard] = _shards[shard.Name];
            }
            Require(!before.SequenceEqual(_hosts), "a placed cluster changed the hosts");
        }

        private bool Reserve(int index, InstanceRequest instance, ShardContext shard)
        {
            var host = _hosts[index];
            var r = HostReservations.Reserve(host, instance);
            if (!r.Succeeded) return false;
            Require(r.State.Swap.HeldBy(instance.InstanceId) == instance.SwapMiB, $"{host.HostId}: {instance.InstanceId} holds other swap than it asked");
            _hosts[index] = r.State;
            _instances[instance.InstanceId] = (shard.Name, host.HostId);
            _shards[shard.Name] = shard with { Members = [.. shard.Members, new MemberLocation(instance.InstanceId, host.HostId, host.Zone, host.Rack)] };
            return true;
        }

        private void ReleaseOne()
        {
            if (_instances.Count == 0) return;
            var (id, (shardName, hostId)) = _instances.ElementAt(_rng.Next(_instances.Count));
            var index = Array.FindIndex(_hosts, h => h.HostId == hostId);
            _hosts[index] = HostReservations.Release(_hosts[index], id);
            _instances.Remove(id);
            var shard = _shards[shardName];
            _shards[shardName] = shard with { Members = [.. shard.Members.Where(m => m.InstanceId != id)] };
            Require(!_hosts[index].Cpu.Assignments.ContainsKey(id) && !_hosts[index].PortsByInstance.ContainsKey(id)
                && _hosts[index].Disks.ClaimedBy(id) is null && _hosts[index].Swap.HeldBy(id) == 0, $"release of {id} left something behind");
        }

        private void RecycleDisks()
        {
            for (var i = 0; i < _hosts.Length; i++)
            {
                foreach (var d in _hosts[i].Disks.Disks.Values.Where(static d => d.State == DiskState.Releasing).ToList())
                {
                    var r = _hosts[i].Disks.Transition(d.Id, DiskState.Ready, seeded: _rng.Next(2) == 0);
                    Require(r.Succeeded, r.Reason);
                    _hosts[i] = _hosts[i] with { Disks = r.Pool };
                }
            }
        }

        private void ToggleCordon()
        {
            var i = _rng.Next(_hosts.Length);
            _hosts[i] = _hosts[i] with { Cordoned = !_hosts[i].Cordoned };
        }

        private void CheckAll()
        {
            foreach (var host in _hosts) CheckHost(host);
            foreach (var shard in _shards.Values.Where(static s => s.Spread.Mode == SpreadMode.Hard))
            {
                foreach (var g in shard.Members.GroupBy(m => shard.Spread.KeyOf(m.HostId, m.Zone, m.Rack)))
                    Require(g.Count() <= shard.Spread.MaxPerDomain, $"shard {shard.Name} has {g.Count()} members in {shard.Spread.DomainName} {g.Key}");
            }
            Require(_instances.Count == _hosts.Sum(static h => h.Cpu.Assignments.Count), "every instance is on exactly one host");
        }

        private void CheckHost(HostState host)
        {
            var topology = host.Cpu.Topology;
            var all = topology.AllCpus;
            var owner = new Dictionary<int, string>();
            foreach (var a in host.Cpu.Assignments.Values)
            {
                foreach (var cpu in a.Cpus.Cpus())
                    Require(owner.TryAdd(cpu, a.InstanceId), $"{host.HostId}: CPU {cpu} in two assignments");
                Require(!a.Cpus.Overlaps(host.Cpu.Reserved), $"{host.HostId}: {a.InstanceId} holds reserved CPUs");
                Require(a.Cpus.IsSubsetOf(all), $"{host.HostId}: {a.InstanceId} holds CPUs the host does not have");
                Require(a.Cpus.Count >= a.RequestedCpus, $"{host.HostId}: {a.InstanceId} got fewer CPUs than asked");
                var nodes = topology.Nodes.Where(n => n.Cpus.Overlaps(a.Cpus)).Select(static n => n.Id).ToList();
                if (a.Numa == NumaPolicy.Required)
                {
                    Require(nodes.Count == 1, $"{host.HostId}: required {a.InstanceId} spans nodes");
                    Require(a.Memory.All(m => m.NodeId == nodes[0]), $"{host.HostId}: required {a.InstanceId} has memory off its node");
                }
                Require(a.MemoryMiB == (long)a.Memory.Sum(static m => m.MemoryMiB), "memory adds up");
                Require(host.Disks.Disks.Values.Count(d => d.ClaimedBy == a.InstanceId && d.State == DiskState.Claimed) == 1, $"{host.HostId}: {a.InstanceId} does not hold exactly one disk");
                Require(host.PortsByInstance.ContainsKey(a.InstanceId), $"{host.HostId}: {a.InstanceId} has no port");
            }
            var assigned = CpuSet.Of(owner.Keys);
            var free = all.Except(assigned).Except(host.Cpu.Reserved);
            Require(assigned.Union(free).Union(host.Cpu.Reserved) == all && !free.Overlaps(assigned), $"{host.HostId}: assigned ∪ free ∪ reserved ≠ all CPUs");
            foreach (var core in topology.Nodes.SelectMany(static n => n.Cores))
            {
                var owners = core.Cpus.Cpus().Select(c => owner.GetValueOrDefault(c)).Distinct().ToList();
                Require(owners.Count == 1, $"{host.HostId}: core {core.Id} split between {string.Join(",", owners.Select(static o => o ?? "free"))}");
            }
            foreach (var node in topology.Nodes)
            {
                var booked = host.Cpu.Assignments.Values.SelectMany(static a => a.Memory).Where(m => m.NodeId == node.Id).Sum(static m => m.MemoryMiB);
                Require(booked <= node.MemoryMiB, $"{host.HostId}: node {node.Id} memory over-committed ({booked} > {node.MemoryMiB})");
            }
            var swapHeld = host.Swap.ByInstance.Values.Sum();
            Require(swapHeld <= host.Swap.AllocatableMiB && host.Swap.AllocatableMiB <= host.Swap.TotalMiB, $"{host.HostId}: swap over-committed ({swapHeld} > {host.Swap.AllocatableMiB})");
            Require(host.Swap.ByInstance.Keys.All(host.Cpu.Assignments.ContainsKey), $"{host.HostId}: swap held by an instance that is not there");
            var claimed = host.Disks.Disks.Values.Where(static d => d.State == DiskState.Claimed).ToList();
            Require(claimed.All(d => d.ClaimedBy is not null && host.Cpu.Assignments.ContainsKey(d.ClaimedBy)), $"{host.HostId}: a disk is claimed by an instance that is not there");
            Require(claimed.Select(static d => d.ClaimedBy).Distinct().Count() == claimed.Count, $"{host.HostId}: an instance holds two disks");
            var ports = host.PortsByInstance.Values.ToList();
            Require(ports.Distinct().Count() == ports.Count && ports.All(p => p >= host.Ports.First && p <= host.Ports.Last), $"{host.HostId}: ports over-committed");
            Require(host.PortsByInstance.Count == host.Cpu.Assignments.Count, $"{host.HostId}: ports and assignments disagree");
            var validated = HostReservations.Validate(host);
            Require(validated.Count == 0, $"{host.HostId}: {string.Join("; ", validated)}");
        }

        private void Require(bool condition, string what)
        {
            if (!condition) Assert.Fail($"seed {seed}, step {_step}: {what}. Replay: add {seed} to ReplaySeeds.");
        }
    }
}
