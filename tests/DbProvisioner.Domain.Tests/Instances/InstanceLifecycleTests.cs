using DbProvisioner.Api;
using DbProvisioner.Domain.Instances;
using static DbProvisioner.Api.InstanceState;

namespace DbProvisioner.Domain.Tests.Instances;

/// <summary>The instance lifecycle's transition table, row by row, and the walks it allows.</summary>
public sealed class InstanceLifecycleTests
{
    public static IEnumerable<TestCaseData> Rows()
    {
        yield return Row(Requested, InstanceStep.Place, Placed, StepFailure.Fail, ResumeAction.RunStepAgain, ContainerExpectation.InFlight);
        yield return Row(Placed, InstanceStep.AttachDisk, DiskAttached, StepFailure.Fail, ResumeAction.RunStepAgain, ContainerExpectation.InFlight);
        yield return Row(DiskAttached, InstanceStep.StartContainer, ContainerStarted, StepFailure.Fail, ResumeAction.RunStepAgain, ContainerExpectation.InFlight);
        yield return Row(ContainerStarted, InstanceStep.WaitReady, Ready, StepFailure.Fail, ResumeAction.RunStepAgain, ContainerExpectation.InFlight);
        yield return Row(Ready, InstanceStep.None, null, StepFailure.None, ResumeAction.Nothing, ContainerExpectation.Expected);
        yield return Row(Failed, InstanceStep.GiveBack, null, StepFailure.RetryLater, ResumeAction.GiveBackIfHeld, ContainerExpectation.Absent);
        yield return Row(Draining, InstanceStep.Drain, Drained, StepFailure.Retry, ResumeAction.RunStepAgain, ContainerExpectation.Expected);
        yield return Row(Drained, InstanceStep.RemoveContainer, ContainerRemoved, StepFailure.Retry, ResumeAction.RunStepAgain, ContainerExpectation.Expected);
        yield return Row(ContainerRemoved, InstanceStep.FreeResources, ResourcesFreed, StepFailure.Retry, ResumeAction.RunStepAgain, ContainerExpectation.InFlight);
        yield return Row(ResourcesFreed, InstanceStep.RecycleDisk, Removed, StepFailure.Retry, ResumeAction.RunStepAgain, ContainerExpectation.Absent);
        yield return Row(Removed, InstanceStep.None, null, StepFailure.None, ResumeAction.Nothing, ContainerExpectation.Absent);
    }

    private static TestCaseData Row(InstanceState state, InstanceStep step, InstanceState? next, StepFailure failure, ResumeAction resume, ContainerExpectation container) =>
        new TestCaseData(new LifecycleRow(state, step, next, failure, resume, container)).SetName($"{state}: {step} → {next?.ToString() ?? "rests"}, failure {failure}, resume {resume}");

    [TestCaseSource(nameof(Rows))]
    public void Each_state_has_its_step_next_state_failure_and_resume(LifecycleRow expected)
    {
        Assert.That(InstanceLifecycle.Of(expected.State), Is.EqualTo(expected));
    }

    [Test]
    public void The_table_has_exactly_one_row_per_state_in_lifecycle_order()
    {
        Assert.That(InstanceLifecycle.Table.Select(static r => r.State), Is.EqualTo(Enum.GetValues<InstanceState>()));
    }

    [TestCase(Requested, false, ExpectedResult = InstanceStep.Place)]
    [TestCase(ContainerStarted, false, ExpectedResult = InstanceStep.WaitReady)]
    [TestCase(Ready, false, ExpectedResult = InstanceStep.None)]
    [TestCase(Failed, false, ExpectedResult = InstanceStep.GiveBack)]
    [TestCase(Failed, true, ExpectedResult = InstanceStep.None)]
    [TestCase(Draining, false, ExpectedResult = InstanceStep.Drain)]
    [TestCase(ResourcesFreed, true, ExpectedResult = InstanceStep.RecycleDisk)]
    [TestCase(Removed, false, ExpectedResult = InstanceStep.None)]
    [TestCase(null, false, ExpectedResult = InstanceStep.None)]
    public InstanceStep A_resume_after_a_crash_runs_the_step_of_the_last_stored_state(InstanceState? stored, bool released) =>
        InstanceLifecycle.StepAt(stored, released);

    [TestCase(Requested, false, ExpectedResult = true)]
    [TestCase(ContainerRemoved, false, ExpectedResult = true)]
    [TestCase(Ready, false, ExpectedResult = false)]
    [TestCase(Failed, false, ExpectedResult = true)]
    [TestCase(Failed, true, ExpectedResult = false)]
    [TestCase(Removed, false, ExpectedResult = false)]
    [TestCase(null, false, ExpectedResult = false)]
    public bool Unfinished_means_a_step_is_left_to_run(InstanceState? state, bool released) =>
        InstanceLifecycle.IsUnfinished(state, released);

    [Test]
    public void Terminal_and_removing_states_are_those_the_design_names()
    {
        var all = Enum.GetValues<InstanceState>();
        Assert.Multiple(() =>
        {
            Assert.That(all.Where(InstanceLifecycle.IsTerminal), Is.EqualTo(new[] { Ready, Failed, Removed }));
            Assert.That(all.Where(InstanceLifecycle.IsRemoving), Is.EqualTo(new[] { Draining, Drained, ContainerRemoved, ResourcesFreed }));
        });
    }

    [Test]
    public void Following_next_walks_provisioning_to_Ready_and_removal_to_Removed()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Walk(Requested), Is.EqualTo(new[] { Requested, Placed, DiskAttached, ContainerStarted, Ready }));
            Assert.That(Walk(Draining), Is.EqualTo(new[] { Draining, Drained, ContainerRemoved, ResourcesFreed, Removed }));
        });
    }

    [TestCase(Requested, Placed, ExpectedResult = true)]
    [TestCase(Requested, DiskAttached, ExpectedResult = false)]
    [TestCase(Requested, Failed, ExpectedResult = true)]
    [TestCase(ContainerStarted, Failed, ExpectedResult = true)]
    [TestCase(Ready, Failed, ExpectedResult = false)]
    [TestCase(Ready, Draining, ExpectedResult = true)]
    [TestCase(Failed, Draining, ExpectedResult = true)]
    [TestCase(Placed, Draining, ExpectedResult = false)]
    [TestCase(Draining, Failed, ExpectedResult = false)]
    [TestCase(ResourcesFreed, Removed, ExpectedResult = true)]
    [TestCase(Removed, Requested, ExpectedResult = false)]
    [TestCase(Ready, Requested, ExpectedResult = false)]
    public bool Only_the_table_s_transitions_are_allowed(InstanceState from, InstanceState to) => InstanceLifecycle.Allows(from, to);

    [TestCase(Ready, false, ExpectedResult = true)]
    [TestCase(Failed, true, ExpectedResult = true)]
    [TestCase(Failed, false, ExpectedResult = false)]
    [TestCase(ContainerStarted, false, ExpectedResult = false)]
    [TestCase(Draining, false, ExpectedResult = false)]
    [TestCase(Removed, false, ExpectedResult = false)]
    public bool A_removal_starts_only_from_Ready_or_a_Failed_instance_that_holds_nothing(InstanceState state, bool released) =>
        InstanceLifecycle.CanStartRemoval(state, released);

    [TestCase(Requested, ExpectedResult = Placed)]
    [TestCase(Placed, ExpectedResult = DiskAttached)]
    [TestCase(ContainerStarted, ExpectedResult = Ready)]
    [TestCase(Failed, ExpectedResult = Failed)]
    public InstanceState A_failure_is_named_by_the_state_its_step_was_heading_for(InstanceState state) => InstanceLifecycle.Heading(state);

    [Test]
    public void Stored_names_read_back_as_states_and_nothing_else_does()
    {
        // The names the grains stored before the enum (their string constants), each with the state it must read as.
        var stored = new[]
        {
            "Requested", "Placed", "DiskAttached", "ContainerStarted", "Ready", "Failed",
            "Draining", "Drained", "ContainerRemoved", "ResourcesFreed", "Removed",
        };
        Assert.Multiple(() =>
        {
            foreach (var name in stored)
            {
                Assert.That(InstanceLifecycle.TryParse(name, out var state), Is.True, name);
                Assert.That(state?.ToString(), Is.EqualTo(name), "written back under the same name");
            }
            Assert.That(InstanceLifecycle.TryParse("", out var none) && none is null, Is.True, "\"\" is an instance never requested");
            Assert.That(InstanceLifecycle.TryParse("3", out _), Is.False, "a number is not a stored name");
            Assert.That(InstanceLifecycle.TryParse("ready", out _), Is.False, "names are exact");
            Assert.That(InstanceLifecycle.TryParse("Superseded", out _), Is.False);
        });
    }

    private static List<InstanceState> Walk(InstanceState from)
    {
        var path = new List<InstanceState> { from };
        while (InstanceLifecycle.Next(path[^1]) is { } next) path.Add(next);
        return path;
    }
}
