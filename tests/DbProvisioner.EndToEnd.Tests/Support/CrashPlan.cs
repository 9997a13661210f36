using System.Globalization;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>What a seeded crash run does: one operation on the fleet.</summary>
public enum CrashScenario
{
    /// <summary>POST /instances, one instance to Ready.</summary>
    SingleInstance,

    /// <summary>An approved removal of a Ready instance (its request is made beforehand; the fault hits the approval's work).</summary>
    Removal,

    /// <summary>POST /clusters, one shard × 2 replicas with hard host spread.</summary>
    Cluster,
}

/// <summary>The fault injected while the operation runs.</summary>
public enum CrashFault
{
    /// <summary>SIGKILL of the server process (with its children), then a start on the same meta database.</summary>
    ServerKill,

    /// <summary><c>docker restart dbprov-meta</c>: the meta DB goes away under a running server and comes back.</summary>
    MetaDbRestart,
}

/// <summary>When the fault lands: after a delay from the operation's start, or once an instance shows a given state.</summary>
public enum CrashTrigger
{
    AfterDelay,
    AtState,
}

/// <summary>
/// One seeded run, derived from the seed alone, so <c>DBPROV_CRASH_SEED=&lt;seed&gt;</c> replays it: the scenario, the
/// fault and its trigger cycle with the seed (consecutive seeds cover every scenario × fault), the delay, the watched
/// state and the watched cluster member come from <see cref="Random"/> seeded with it.
/// </summary>
public sealed record CrashPlan(int Seed, CrashScenario Scenario, CrashFault Fault, CrashTrigger Trigger, TimeSpan Delay, string State, int Member)
{
    /// <summary>How long each operation takes here without faults (measured on 2 cores); a random delay falls inside it.</summary>
    public static TimeSpan ExpectedSpan(CrashScenario scenario) => scenario switch
    {
        CrashScenario.SingleInstance => TimeSpan.FromSeconds(3),
        CrashScenario.Removal => TimeSpan.FromSeconds(4),
        _ => TimeSpan.FromSeconds(4),
    };

    /// <summary>The states an instance passes during the operation, in order, that a run may wait for before the fault.</summary>
    public static IReadOnlyList<string> Steps(CrashScenario scenario) => scenario switch
    {
        CrashScenario.SingleInstance => ["Requested", "Placed", "DiskAttached", "ContainerStarted"],
        CrashScenario.Removal => ["Draining", "Drained", "ContainerRemoved", "ResourcesFreed"],
        _ => ["Placed", "DiskAttached", "ContainerStarted"],
    };

    public static CrashPlan FromSeed(int seed)
    {
        var cycle = (int)((uint)seed % 12);
        var scenario = (CrashScenario)(cycle % 3);
        var fault = (CrashFault)(cycle / 3 % 2);
        // Seeds c and c + 6 differ only in the trigger, and any six consecutive seeds use both triggers.
        var trigger = (CrashTrigger)((cycle + (cycle / 6)) % 2);
        var random = new Random(seed);
        var delay = ExpectedSpan(scenario) * random.NextDouble();
        var steps = Steps(scenario);
        var state = steps[random.Next(steps.Count)];
        var member = random.Next(2);
        return new CrashPlan(seed, scenario, fault, trigger, delay, state, member);
    }

    /// <summary>
    /// The seeds of this run: <c>DBPROV_CRASH_SEED</c> alone if set; otherwise <c>DBPROV_CRASH_RUNS</c> (or 50 when
    /// <c>CI=true</c>, else 6) consecutive seeds from <c>DBPROV_CRASH_FIRST_SEED</c> (default 1200, a multiple of 12).
    /// </summary>
    public static IReadOnlyList<int> Seeds()
    {
        if (Environment.GetEnvironmentVariable("DBPROV_CRASH_SEED") is { Length: > 0 } one)
        {
            return [.. one.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(static s => int.Parse(s, CultureInfo.InvariantCulture))];
        }

        var runs = Environment.GetEnvironmentVariable("DBPROV_CRASH_RUNS") is { Length: > 0 } n
            ? int.Parse(n, CultureInfo.InvariantCulture)
            : string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) ? 50 : 6;
        var first = Environment.GetEnvironmentVariable("DBPROV_CRASH_FIRST_SEED") is { Length: > 0 } f
            ? int.Parse(f, CultureInfo.InvariantCulture)
            : 1200;
        return [.. Enumerable.Range(first, runs)];
    }

    public string Describe() => Trigger == CrashTrigger.AfterDelay
        ? $"{Scenario} / {Fault} after {Delay.TotalMilliseconds:F0} ms"
        : $"{Scenario} / {Fault} at {State}{(Scenario == CrashScenario.Cluster ? $" of member {Member + 1}" : "")}";
}
