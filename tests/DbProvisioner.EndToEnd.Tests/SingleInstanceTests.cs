using System.Diagnostics;
using System.Globalization;
using System.Net;
using DbProvisioner.Api;
using DbProvisioner.EndToEnd.Tests.Support;

namespace DbProvisioner.EndToEnd.Tests;

/// <summary>
/// Issue 4, on one deployment: bad input changes nothing; one instance reaches Ready with what it reports
/// (cgroup, NUMA node, device, credentials); the CLI provisions the second instance.
/// </summary>
[TestFixture]
public sealed class SingleInstanceTests : E2eFixture
{
    [Test, Order(1)]
    public async Task Bad_input_answers_400_naming_the_field_401_403_and_changes_nothing()
    {
        var instancesBefore = await E2e.Admin.ListInstancesAsync();
        var hostsBefore = await Task.WhenAll(E2eLayout.Hosts.Select(h => E2e.Admin.GetHostAsync(h.Id)));

        var invalid = new (string Case, CreateInstanceRequest Request, string Field)[]
        {
            ("zero CPUs", E2eRequests.Instance(cpus: 0), "cpus"),
            ("negative CPUs", E2eRequests.Instance(cpus: -1), "cpus"),
            ("unknown pool", E2eRequests.Instance(pool: "no-such-pool"), "pool"),
            ("memory below the minimum", E2eRequests.Instance(memoryMiB: 256), "memoryMiB"),
            ("negative swap", E2eRequests.Instance(swapMiB: -1), "swapMiB"),
        };
        foreach (var (name, request, field) in invalid)
        {
            using var response = await E2e.Requester.PostAsync("instances", request);
            var problem = await Problem.ReadAsync(response);
            Assert.Multiple(() =>
            {
                Assert.That(problem.Status, Is.EqualTo(400), $"{name}: {problem.Body}");
                Assert.That(problem.ContentType, Is.EqualTo("application/problem+json"), name);
                Assert.That(problem.Names(field), Is.True, $"{name}: the problem should name '{field}': {problem.Body}");
            });
        }

        // Malformed JSON: cut off, and a value of the wrong type.
        using (var response = await E2e.Requester.PostRawAsync("instances", """{"cpus": 1, "memoryMiB": 1024, "diskGiB": 1, "pool": "e2e" """))
        {
            var problem = await Problem.ReadAsync(response);
            Assert.That(problem.Status, Is.EqualTo(400), problem.Body);
            Assert.That(problem.ContentType, Is.EqualTo("application/problem+json"), problem.Body);
        }

        using (var response = await E2e.Requester.PostRawAsync("instances", """{"cpus": "one", "memoryMiB": 1024, "diskGiB": 1, "pool": "e2e"}"""))
        {
            var problem = await Problem.ReadAsync(response);
            Assert.That(problem.Status, Is.EqualTo(400), problem.Body);
            Assert.That(problem.Names("cpus"), Is.True, $"wrong type should name 'cpus': {problem.Body}");
        }

        using (var response = await E2e.Anonymous.PostAsync("instances", E2eRequests.Instance()))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), await response.Content.ReadAsStringAsync());
        }

        using (var response = await E2e.Viewer.PostAsync("instances", E2eRequests.Instance()))
        {
            var problem = await Problem.ReadAsync(response);
            Assert.That(problem.Status, Is.EqualTo(403), problem.Body);
        }

        var instancesAfter = await E2e.Admin.ListInstancesAsync();
        var hostsAfter = await Task.WhenAll(E2eLayout.Hosts.Select(h => E2e.Admin.GetHostAsync(h.Id)));
        Assert.Multiple(() =>
        {
            Assert.That(instancesAfter.Select(i => i.Id), Is.EquivalentTo(instancesBefore.Select(i => i.Id)), "GET /instances shows something new");
            for (var i = 0; i < hostsBefore.Length; i++)
            {
                Assert.That(hostsAfter[i].FreeCores, Is.EqualTo(hostsBefore[i].FreeCores), $"{hostsAfter[i].Id} free cores changed");
                Assert.That(hostsAfter[i].Instances, Is.Empty, $"{hostsAfter[i].Id} holds an instance");
                Assert.That(hostsAfter[i].Disks.Where(d => d.ClaimedBy is not null), Is.Empty, $"{hostsAfter[i].Id} has a claimed disk");
            }
        });
    }

    [Test, Order(2)]
    public async Task Instance_reaches_Ready_on_its_cpu_set_numa_node_and_device_with_working_credentials()
    {
        var watch = Stopwatch.StartNew();
        var id = await E2eRequests.CreateInstanceAsync(E2e.Requester, E2eRequests.Instance());
        var view = await ApiClient.WaitSettledAsync(E2e.Requester, id, E2eRequests.ReadyTimeout);
        await TestContext.Progress.WriteLineAsync($"[e2e] request → {view.State} in {watch.Elapsed.TotalSeconds:F1} s: {E2eRequests.Describe(view)}");
        Assert.That(view.State, Is.EqualTo("Ready"), E2eRequests.Describe(view));

        // The reported placement and each step's timing.
        Assert.Multiple(() =>
        {
            Assert.That(view.Host, Is.AnyOf(E2eLayout.HostA.Id, E2eLayout.HostB.Id));
            Assert.That(view.Steps.Select(s => s.Step), Is.SupersetOf(new[] { "Requested", "Placed", "DiskAttached", "ContainerStarted", "Ready" }));
            Assert.That(view.Steps.Where(s => s.Step != "Requested").Select(s => s.DurationMs), Has.All.GreaterThan(0), "every step after Requested took time");
            Assert.That(view.Steps.Select(s => s.At), Is.Ordered, "steps in order");
            Assert.That(view.Endpoint, Is.Not.Null);
            Assert.That(view.NumaNodes, Has.Count.EqualTo(1), "numa required: one node");
            Assert.That(view.Device, Is.AnyOf([.. E2eLayout.Hosts.Single(h => h.Id == view.Host).Devices]), "a disk of its own host");
        });
        var host = E2eLayout.Hosts.Single(h => h.Id == view.Host);
        Assert.That(view.Endpoint!.Port, Is.InRange(host.FirstPort, host.LastPort));
        var cpus = E2eRequests.ParseCpuList(view.CpuSet);
        Assert.That(cpus, Has.Count.EqualTo(1));
        Assert.That(cpus.Overlaps(E2eRequests.ParseCpuList(host.ReservedCpus)), Is.False, "a reserved CPU was handed out");

        // Credentials: the requester's key reads them, and they work; a viewer gets 403.
        var credentials = await E2e.Requester.GetOkAsync<CredentialsView>($"instances/{id}/credentials");
        Assert.That(await E2eRequests.SelectOneAsync(credentials), Is.EqualTo(1));
        using (var forbidden = await E2e.Viewer.GetAsync($"instances/{id}/credentials"))
        {
            Assert.That(forbidden.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), await forbidden.Content.ReadAsStringAsync());
        }

        // The container's cgroup is what the API reports.
        var cpuset = await DockerEngine.ExecAsync(id, "cat", "/sys/fs/cgroup/cpuset/cpuset.cpus");
        var mems = await DockerEngine.ExecAsync(id, "cat", "/sys/fs/cgroup/cpuset/cpuset.mems");
        var memoryLimit = await DockerEngine.ExecAsync(id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes");
        var mounts = await DockerEngine.ExecAsync(id, "cat", "/proc/mounts");
        var hostConfig = (await E2e.Docker.InspectAsync(id)).HostConfig ?? throw new InvalidOperationException("no HostConfig");
        const long MiB = 1024 * 1024;
        Assert.Multiple(() =>
        {
            Assert.That(E2eRequests.ParseCpuList(cpuset.Output), Is.EqualTo(cpus), $"cgroup cpuset.cpus: {cpuset.Output} {cpuset.Error}");
            Assert.That(E2eRequests.ParseCpuList(mems.Output), Is.EqualTo(new SortedSet<int>(view.NumaNodes)), $"cgroup cpuset.mems: {mems.Output} {mems.Error}");
            Assert.That(E2eRequests.ParseCpuList(hostConfig.CpusetCpus), Is.EqualTo(cpus), "HostConfig.CpusetCpus");
            Assert.That(E2eRequests.ParseCpuList(hostConfig.CpusetMems), Is.EqualTo(new SortedSet<int>(view.NumaNodes)), "HostConfig.CpusetMems");
            Assert.That(long.Parse(memoryLimit.Output, CultureInfo.InvariantCulture), Is.EqualTo(1024 * MiB), "cgroup memory.limit_in_bytes");
            Assert.That(hostConfig.Memory, Is.EqualTo(1024 * MiB), "HostConfig.Memory");
            Assert.That(hostConfig.MemorySwap, Is.EqualTo((1024 + 256) * MiB), "HostConfig.MemorySwap = memory + swap");
            Assert.That(hostConfig.RestartPolicy?.Name.ToString(), Is.EqualTo("unless-stopped").IgnoreCase.Or.EqualTo("UnlessStopped").IgnoreCase);
        });
        var dataMount = mounts.Output.Split('\n').Select(l => l.Split(' ')).FirstOrDefault(f => f.Length > 2 && f[1] == "/var/lib/mysql");
        Assert.That(dataMount, Is.Not.Null, $"nothing mounted on /var/lib/mysql:\n{mounts.Output}");
        Assert.Multiple(() =>
        {
            Assert.That(dataMount![0], Is.EqualTo(view.Device), "the data directory is the claimed device");
            Assert.That(dataMount[2], Is.EqualTo("xfs"));
        });

        // The password is in no container's environment.
        foreach (var container in await E2e.Docker.OwnedContainersAsync())
        {
            var env = (await E2e.Docker.InspectContainerAsync(container.ID)).Config?.Env ?? [];
            Assert.That(env.Where(e => e.Contains(credentials.Password, StringComparison.Ordinal)), Is.Empty, $"password in the env of {container.Names.FirstOrDefault()}");
        }

        Assert.That(await E2e.FindLeaksAsync(), Is.Empty);
    }

    [Test, Order(3)]
    public async Task Cli_provisions_an_instance_end_to_end()
    {
        var watch = Stopwatch.StartNew();
        var (exitCode, output, error) = await CliProcess.RunAsync(
            TimeSpan.FromSeconds(150),
            "instance", "create", "--pool", E2eLayout.Pool, "--cpus", "1", "--memory-mib", "1024", "--swap-mib", "256", "--disk-gib", "1",
            "--numa", "required", "--timeout", "120", "--output", "json",
            "--url", E2e.Server.BaseAddress.ToString().TrimEnd('/'), "--config", E2e.ClientConfigPath);
        await TestContext.Progress.WriteLineAsync($"[e2e] dbprov instance create → exit {exitCode} in {watch.Elapsed.TotalSeconds:F1} s");
        Assert.That(exitCode, Is.EqualTo(0), $"stdout:\n{output}\nstderr:\n{error}");

        using var json = System.Text.Json.JsonDocument.Parse(output);
        var id = json.RootElement.GetProperty("id").GetString()!;
        Assert.That(json.RootElement.GetProperty("state").GetString(), Is.EqualTo("Ready"), output);

        var view = await E2e.Requester.GetInstanceAsync(id);
        Assert.That(view.State, Is.EqualTo("Ready"), E2eRequests.Describe(view));
        var credentials = await E2e.Requester.GetOkAsync<CredentialsView>($"instances/{id}/credentials");
        Assert.That(await E2eRequests.SelectOneAsync(credentials), Is.EqualTo(1));
        Assert.That(await E2e.FindLeaksAsync(), Is.Empty);
    }
}
