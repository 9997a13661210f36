using System.Globalization;
using DbProvisioner.Runtime;
using DbProvisioner.Testing;

namespace DbProvisioner.Runtime.Docker.Tests.Docker;

/// <summary>
/// An instance's swap allowance is real: started through the driver with 512 MiB of memory (the
/// least my.cnf allows) and 512 MiB of swap (swappiness 60), a process inside it may grow past its memory into swap, and
/// one that grows past memory + swap is OOM-killed. Needs swap on this machine (`make setup`).
/// Uses the test pool's disk-04.img (the Runtime.Docker suite's fourth disk), port 3404 and CPU 0.
/// </summary>
[Category("Engine")]
public sealed class SwapTests
{
    private const string Id = "rtt-swap";
    private const string Container = "dbprov-" + Id;
    private const string PoolDisk = "disk-04";
    private const int Port = 3404;
    private const long MemoryMiB = 512;
    private const long SwapMiB = 512;

    // Past memory with mysqld beside it (its buffer pool is 256 MiB, mostly untouched), well short of memory + swap.
    private const long WithinMiB = 600;
    private const long MiB = 1 << 20;

    private DockerHostRuntimeFactory _factory = null!;
    private IHostRuntime _runtime = null!;
    private HostSwapInfo _discovered = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _factory = new DockerHostRuntimeFactory();
        _runtime = _factory.For(Engine.Host);
        _discovered = await _runtime.DiscoverSwapAsync(Engine.Timeout());
        // Not a skip: without swap the allowance cannot be shown to work, and the machine is not set up.
        if (_discovered.TotalMiB < 2 * SwapMiB)
            Assert.Fail($"this machine has {_discovered.TotalMiB} MiB of swap, the test needs {2 * SwapMiB} MiB: `make setup` must enable swap (hack/swap.sh)");

        var device = TestDisks.Resolve(PoolDisk);
        await _runtime.FormatDiskAsync(device, seed: true, Engine.Timeout());
        var spec = Engine.Spec(Id, device, cpu: 0, Port, memoryMiB: MemoryMiB, swapMiB: SwapMiB, swappiness: 60);
        await _runtime.StartInstanceAsync(spec, Engine.Timeout());
        await _runtime.WaitUntilReadyAsync(Id, Port, spec.Credentials, Engine.ReadyDeadline, Engine.Timeout());
    }

    [OneTimeTearDown]
    public async Task RemoveAsync()
    {
        await _runtime.RemoveInstanceAsync(Id, Engine.Timeout());
        _factory.Dispose();
    }

    [Test]
    public void Discovery_reports_this_machines_swap_and_that_the_engine_limits_it()
    {
        var hostSwapMiB = MemInfoParser.SwapTotalMiB(File.ReadAllText("/proc/meminfo"));

        Assert.That(_discovered, Is.EqualTo(new HostSwapInfo(hostSwapMiB, EngineLimitsSwap: true)));
    }

    [Test]
    public async Task The_instance_swaps_up_to_its_allowance_and_is_OOM_killed_past_it()
    {
        var memoryLimit = await CgroupAsync("memory.limit_in_bytes");
        var memswLimit = await CgroupAsync("memory.memsw.limit_in_bytes");
        var killsBefore = await OomKillsAsync();

        var within = await HogAsync(WithinMiB);
        var memswPeak = await CgroupAsync("memory.memsw.max_usage_in_bytes");
        var memoryPeak = await CgroupAsync("memory.max_usage_in_bytes");
        var killsWithin = await OomKillsAsync();

        var past = await HogAsync(MemoryMiB + SwapMiB + 256);
        var killsPast = await OomKillsAsync();

        TestContext.Out.WriteLine($"peaks: memory+swap {memswPeak / MiB} MiB, memory {memoryPeak / MiB} MiB; OOM kills {killsBefore} → {killsWithin} → {killsPast}; exits {within.Exit}, {past.Exit}");
        Assert.Multiple(() =>
        {
            Assert.That(memoryLimit, Is.EqualTo(MemoryMiB * MiB), "memory limit = memory");
            Assert.That(memswLimit, Is.EqualTo((MemoryMiB + SwapMiB) * MiB), "memory+swap limit = memory + swap");
            Assert.That(within.Exit, Is.Zero, $"{WithinMiB} MiB fits in memory + swap: {within.Stderr}");
            Assert.That(killsWithin, Is.EqualTo(killsBefore), "nothing was OOM-killed within the allowance");
            Assert.That(memswPeak, Is.GreaterThan(MemoryMiB * MiB), "memory + swap in use went past the memory limit: the instance swapped");
            Assert.That(memswPeak, Is.GreaterThan(memoryPeak), "more in memory + swap than ever in memory");
            Assert.That(memswPeak, Is.LessThanOrEqualTo((MemoryMiB + SwapMiB) * MiB), "never more than memory + swap");
            Assert.That(past.Exit, Is.EqualTo(137), $"a hog past memory + swap is killed (SIGKILL): {past.Stderr}");
            Assert.That(killsPast, Is.GreaterThan(killsWithin), "the kernel counts the OOM kill in the instance's cgroup");
        });
    }

    /// <summary>
    /// Runs a process inside the instance that grows to <paramref name="mib"/> MiB, one MiB at a time, and waits for it.
    /// Perl (in the image for the driver's port probe) fills memory in seconds; `head -c … /dev/zero | tail` takes minutes here.
    /// </summary>
    private static Task<(int Exit, string Stdout, string Stderr)> HogAsync(long mib) =>
        Engine.DockerAsync("exec", Container, "perl", "-e", string.Create(CultureInfo.InvariantCulture, $"my $s = ''; $s .= \"\\0\" x 1048576 for 1 .. {mib};"));

    private static async Task<long> CgroupAsync(string file) =>
        long.Parse(await Engine.ExecAsync(Container, "cat", "/sys/fs/cgroup/memory/" + file), CultureInfo.InvariantCulture);

    private static async Task<long> OomKillsAsync()
    {
        var control = await Engine.ExecAsync(Container, "cat", "/sys/fs/cgroup/memory/memory.oom_control");
        var line = control.Split('\n').Select(l => l.Split(' ')).FirstOrDefault(f => f is ["oom_kill", _]);
        Assert.That(line, Is.Not.Null, $"memory.oom_control has no oom_kill count: {control}");
        return long.Parse(line![1], CultureInfo.InvariantCulture);
    }
}
