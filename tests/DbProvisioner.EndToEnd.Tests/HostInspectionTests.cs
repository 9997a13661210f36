using DbProvisioner.Api;
using DbProvisioner.EndToEnd.Tests.Support;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>Issue 11, inspection: a cpuset changed by hand with docker update is the one drift the host's inspection lists, with its fix.</summary>
[TestFixture]
public sealed class HostInspectionTests : E2eFixture
{
    [Test]
    public async Task A_cpuset_changed_by_hand_is_the_one_drift_and_a_clean_host_has_none()
    {
        var id = await E2eRequests.CreateInstanceAsync(E2e.Requester, E2eRequests.Instance());
        var instance = await ApiClient.WaitSettledAsync(E2e.Requester, id, E2eRequests.ReadyTimeout);
        Assert.That(instance.State, Is.EqualTo("Ready"), E2eRequests.Describe(instance));
        var host = instance.Host!;
        var other = E2eLayout.Hosts.Single(h => h.Id != host).Id;

        var before = await E2e.Viewer.GetOkAsync<HostInspectionView>($"hosts/{host}/inspection");
        Assert.Multiple(() =>
        {
            Assert.That(before.Error, Is.Null);
            Assert.That(before.Instances, Is.EqualTo(1));
            Assert.That(before.Containers, Is.EqualTo(1));
            Assert.That(before.Drifts, Is.Empty, "as provisioned, the engine runs what the host holds");
        });

        // Each logical host has one CPU of this machine's two: move the container onto the other one, as an operator might.
        var held = instance.CpuSet!;
        var moved = held == "0" ? "1" : "0";
        var name = DockerEngine.ContainerName(id);
        var (exit, _, error) = await DockerEngine.CliAsync("update", "--cpuset-cpus", moved, name);
        Assert.That(exit, Is.Zero, error);

        var after = await E2e.Viewer.GetOkAsync<HostInspectionView>($"hosts/{host}/inspection");
        var clean = await E2e.Viewer.GetOkAsync<HostInspectionView>($"hosts/{other}/inspection");
        await TestContext.Progress.WriteLineAsync($"[e2e] inspection of {host} after docker update: " + string.Join(" | ", after.Drifts.Select(d => $"{d.Kind} {d.Subject}: {d.Fix}")));
        Assert.Multiple(() =>
        {
            Assert.That(after.Drifts, Has.Count.EqualTo(1), string.Join("\n", after.Drifts));
            var drift = after.Drifts[0];
            Assert.That(drift.Kind, Is.EqualTo(DriftCode.CpusetCpus));
            Assert.That(drift.Instance, Is.EqualTo(id));
            Assert.That(drift.Subject, Is.EqualTo(name));
            Assert.That(drift.Found, Is.EqualTo(moved));
            Assert.That(drift.Expected, Is.EqualTo(held));
            Assert.That(drift.Fix, Does.Contain($"docker update --cpuset-cpus {held} {name}"));
            Assert.That(clean.Error, Is.Null);
            Assert.That(clean.Drifts, Is.Empty, $"{other} holds nothing and runs nothing");
        });

        // The fix it suggests removes the drift.
        (exit, _, error) = await DockerEngine.CliAsync("update", "--cpuset-cpus", held, name);
        Assert.That(exit, Is.Zero, error);
        Assert.That((await E2e.Viewer.GetOkAsync<HostInspectionView>($"hosts/{host}/inspection")).Drifts, Is.Empty);
    }

    [Test]
    public async Task An_unknown_host_is_404()
    {
        using var response = await E2e.Viewer.GetAsync("hosts/no-such-host/inspection");
        Assert.That((int)response.StatusCode, Is.EqualTo(404), await response.Content.ReadAsStringAsync());
    }
}
