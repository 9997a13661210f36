using DbProvisioner.EndToEnd.Tests.Support;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>
/// Issue 9: seeded crash runs on the real engine and meta DB. Each seed picks an operation (one instance, a 1×2
/// cluster, an approved removal) and a fault (SIGKILL of the server, or a restart of the meta DB container) landing
/// after a random delay or at a chosen step; after recovery the fleet must come to rest with every invariant held.
/// 6 runs by default, 50 with CI=true or DBPROV_CRASH_RUNS=50; DBPROV_CRASH_SEED=&lt;seed&gt;[,&lt;seed&gt;…] replays those runs.
/// Restarts the shared meta DB: run only under the engine lock, alone.
/// </summary>
[TestFixture]
[Category("EndToEnd")]
[NonParallelizable]
public sealed class CrashSuiteTests
{
    private static readonly IReadOnlyList<int> Seeds = CrashPlan.Seeds();
    private readonly CrashRunLog _log = new();
    private CrashFleet? _fleet;
    private bool _summarised;

    public static IEnumerable<TestCaseData> Runs() => Seeds.Select(seed =>
    {
        var plan = CrashPlan.FromSeed(seed);
        return new TestCaseData(seed).SetArgDisplayNames($"{seed} {plan.Scenario} {plan.Fault} {plan.Trigger}");
    });

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        await MetaServer.EnsureAnsweringAsync();
        _fleet = await CrashFleet.StartAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        try
        {
            // Whatever happened, the meta DB is left running and answering for everything after this suite.
            await MetaServer.EnsureAnsweringAsync();
        }
        finally
        {
            if (!_summarised)
            {
                await TestContext.Progress.WriteLineAsync(_log.Summary());
            }

            if (_fleet is not null)
            {
                await _fleet.DisposeAsync();
            }
        }
    }

    [TestCaseSource(nameof(Runs))]
    public async Task A_seeded_crash_leaves_every_instance_settled_nothing_leaked_and_each_state_change_audited_once(int seed)
    {
        var plan = CrashPlan.FromSeed(seed);
        await TestContext.Progress.WriteLineAsync($"[crash] seed {seed}: {plan.Describe()}");
        var fleet = _fleet ?? throw new InvalidOperationException("no deployment");
        CrashOutcome outcome;
        try
        {
            outcome = await new CrashRun(fleet, plan).ExecuteAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            outcome = new CrashOutcome(plan, "-", TimeSpan.Zero, null, null, null, null, TimeSpan.Zero, [$"the run broke off: {e.GetType().Name}: {e.Message}"], "");
        }

        _log.Add(outcome);
        var line = CrashRunLog.Line(outcome);
        await TestContext.Progress.WriteLineAsync(line);
        await TestContext.Out.WriteLineAsync(line);
        if (outcome.Violations.Count > 0)
        {
            await TestContext.Out.WriteLineAsync($"server output ({fleet.E2e.Server.LogFile}):\n{fleet.E2e.Server.Tail(150)}");
            // The next run starts from a fresh deployment, so that it reports only its own violations.
            await MetaServer.EnsureAnsweringAsync();
            await fleet.RedeployAsync();
        }

        if (_log.Count == Seeds.Count)
        {
            // In the last run's output (the results file) and on the console once.
            await TestContext.Out.WriteLineAsync(_log.Summary());
            _summarised = true;
        }

        Assert.That(outcome.Violations, Is.Empty,
            $"DBPROV_CRASH_SEED={seed} replays this run ({plan.Describe()}):\n  " + string.Join("\n  ", outcome.Violations));
    }
}
