using System.Globalization;
using System.Text.RegularExpressions;
using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Runtime;

/// <summary>
/// Turns a dump of sysfs files into a <see cref="HostTopology"/>. The dump is what
/// <see cref="DumpScript"/> prints: each file as a "==> path &lt;==" header followed by its content
/// (the format of `head -v`). Pure, so it is tested with fixture text of other machines.
/// </summary>
public static partial class SysfsTopologyParser
{
    /// <summary>A POSIX shell script that prints every file the parser reads; read-only, no network.</summary>
    public const string DumpScript =
        "for f in /sys/devices/system/node/node[0-9]*/cpulist /sys/devices/system/node/node[0-9]*/meminfo " +
        "/sys/devices/system/cpu/cpu[0-9]*/topology/core_id /sys/devices/system/cpu/cpu[0-9]*/topology/physical_package_id " +
        "/sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list /proc/meminfo; do " +
        "[ -r \"$f\" ] || continue; printf '==> %s <==\\n' \"$f\"; cat \"$f\"; done";

    public static HostTopology Parse(string dump)
    {
        ArgumentNullException.ThrowIfNull(dump);
        var files = SplitFiles(dump);

        var cpus = new SortedDictionary<int, CpuInfo>();
        var nodeCpus = new SortedDictionary<int, CpuSet>();
        var nodeMemoryKiB = new Dictionary<int, long>();
        long? totalMemoryKiB = null;

        foreach (var (path, content) in files)
        {
            Match m;
            if ((m = CpuTopologyFile().Match(path)).Success)
            {
                var cpu = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                var info = cpus.TryGetValue(cpu, out var existing) ? existing : new CpuInfo();
                var value = content.Trim();
                switch (m.Groups[2].Value)
                {
                    case "core_id": info = info with { CoreId = ParseInt(value, path) }; break;
                    case "physical_package_id": info = info with { Package = ParseInt(value, path) }; break;
                    default: info = info with { Siblings = CpuSet.Parse(value) }; break;
                }
                cpus[cpu] = info;
            }
            else if ((m = NodeFile().Match(path)).Success)
            {
                var node = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                if (m.Groups[2].Value == "cpulist") nodeCpus[node] = CpuSet.Parse(content);
                else
                {
                    var kib = MemTotal(content) ?? throw new FormatException($"{path} has no MemTotal line");
                    nodeMemoryKiB[node] = kib;
                    if (!nodeCpus.ContainsKey(node)) nodeCpus[node] = CpuSet.Empty;
                }
            }
            else if (path == "/proc/meminfo")
            {
                totalMemoryKiB = MemTotal(content);
            }
        }

        if (cpus.Count == 0) throw new FormatException("the dump lists no CPU topology (no /sys/devices/system/cpu/cpuN/topology files)");

        // A kernel without NUMA support has no node directory: the whole machine is node 0.
        if (nodeCpus.Count == 0)
        {
            nodeCpus[0] = CpuSet.Of(cpus.Keys);
            nodeMemoryKiB[0] = totalMemoryKiB ?? throw new FormatException("no NUMA nodes and no /proc/meminfo MemTotal in the dump");
        }

        // Some VM kernels (memory hot-added after boot) under-report a node's MemTotal; on a
        // single-node host the machine's MemTotal is the node's, so the larger of the two is right.
        if (nodeCpus.Count == 1 && totalMemoryKiB is { } machineKiB)
        {
            var only = nodeCpus.Keys.First();
            nodeMemoryKiB[only] = Math.Max(nodeMemoryKiB.GetValueOrDefault(only), machineKiB);
        }

        var cores = GroupIntoCores(cpus);
        var nodes = new List<NumaNode>();
        foreach (var (nodeId, set) in nodeCpus)
        {
            var nodeCores = cores.Where(c => set.Contains(c.Cpus.Min())).ToList();
            var memoryMiB = nodeMemoryKiB.TryGetValue(nodeId, out var kib) ? kib / 1024 : 0;
            nodes.Add(new NumaNode(nodeId, memoryMiB, nodeCores));
        }
        var placed = nodes.Aggregate(CpuSet.Empty, static (acc, n) => acc.Union(n.Cpus));
        var orphans = CpuSet.Of(cpus.Keys).Except(placed);
        if (!orphans.IsEmpty) throw new FormatException($"CPUs {orphans} are in no NUMA node's cpulist");
        return new HostTopology(nodes);
    }

    private static List<PhysicalCore> GroupIntoCores(SortedDictionary<int, CpuInfo> cpus)
    {
        // Hyper-thread siblings share a core: thread_siblings_list names them; (package, core_id) when it is missing.
        var online = CpuSet.Of(cpus.Keys);
        var groups = new Dictionary<CpuSet, int>();
        foreach (var (cpu, info) in cpus)
        {
            var siblings = info.Siblings?.Intersect(online) is { IsEmpty: false } s && s.Contains(cpu)
                ? s
                : CpuSet.Of(cpus.Where(kv => kv.Value.Package == info.Package && kv.Value.CoreId == info.CoreId && info.CoreId is not null).Select(kv => kv.Key).DefaultIfEmpty(cpu));
            groups.TryAdd(siblings, info.Package ?? 0);
        }
        // The lowest logical CPU names the core: unique on the host, unlike sysfs core_id (per package).
        return [.. groups
            .Select(g => new PhysicalCore(g.Key.Min(), Math.Max(0, g.Value), g.Key))
            .OrderBy(c => c.Id)];
    }

    private static List<(string Path, string Content)> SplitFiles(string dump)
    {
        var result = new List<(string, string)>();
        string? path = null;
        var content = new System.Text.StringBuilder();
        foreach (var raw in dump.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var header = Header().Match(line);
            if (header.Success)
            {
                if (path is not null) result.Add((path, content.ToString()));
                path = header.Groups[1].Value;
                content.Clear();
            }
            else if (path is not null)
            {
                content.Append(line).Append('\n');
            }
        }
        if (path is not null) result.Add((path, content.ToString()));
        return result;
    }

    private static long? MemTotal(string content)
    {
        var m = MemTotalLine().Match(content);
        return m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    private static int ParseInt(string value, string path) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new FormatException($"{path}: '{value}' is not a number");

    private sealed record CpuInfo(int? CoreId = null, int? Package = null, CpuSet? Siblings = null);

    [GeneratedRegex(@"^==> (.+) <==$")]
    private static partial Regex Header();

    [GeneratedRegex(@"^/sys/devices/system/cpu/cpu(\d+)/topology/(core_id|physical_package_id|thread_siblings_list)$")]
    private static partial Regex CpuTopologyFile();

    [GeneratedRegex(@"^/sys/devices/system/node/node(\d+)/(cpulist|meminfo)$")]
    private static partial Regex NodeFile();

    [GeneratedRegex(@"MemTotal:\s+(\d+)\s*kB", RegexOptions.Multiline)]
    private static partial Regex MemTotalLine();
}
