using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// The one Docker engine, seen directly (not through the server): inspect what the server made, and remove what
/// belongs to this suite's hosts — only objects labelled dbprov.managed-by with a dbprov.host of ours.
/// </summary>
public sealed class DockerEngine : IDisposable
{
    private const string ManagedByLabel = "dbprov.managed-by";
    private const string HostLabel = "dbprov.host";

    private readonly DockerClient _docker = new DockerClientBuilder()
        .WithEndpoint(new Uri(E2eLayout.EngineEndpoint))
        .WithApiVersion(new System.Version(1, 41))
        .Build();

    public static string ContainerName(string instanceId) => $"dbprov-{instanceId}";

    public Task<ContainerInspectResponse> InspectAsync(string instanceId) =>
        _docker.Containers.InspectContainerAsync(ContainerName(instanceId));

    public Task<ContainerInspectResponse> InspectContainerAsync(string idOrName) =>
        _docker.Containers.InspectContainerAsync(idOrName);

    /// <summary>Containers of our hosts (all states).</summary>
    public async Task<IReadOnlyList<ContainerListResponse>> OwnedContainersAsync()
    {
        var all = await _docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [ManagedByLabel] = true } },
        });
        return [.. all.Where(c => c.Labels is not null && c.Labels.TryGetValue(HostLabel, out var host) && E2eLayout.HostIds.Contains(host))];
    }

    /// <summary>Volumes of our hosts.</summary>
    public async Task<IReadOnlyList<VolumeResponse>> OwnedVolumesAsync()
    {
        var volumes = await _docker.Volumes.ListAsync(new VolumesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [ManagedByLabel] = true } },
        });
        return [.. (volumes.Volumes ?? []).Where(v => v.Labels is not null && v.Labels.TryGetValue(HostLabel, out var host) && E2eLayout.HostIds.Contains(host))];
    }

    /// <summary>Force-removes every container and then every volume of our hosts; returns what was removed.</summary>
    public async Task<IReadOnlyList<string>> RemoveOwnedAsync()
    {
        var removed = new List<string>();
        foreach (var container in await OwnedContainersAsync())
        {
            try
            {
                await _docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true });
                removed.Add(container.Names.FirstOrDefault() ?? container.ID);
            }
            catch (DockerContainerNotFoundException)
            {
                // A helper that removed itself meanwhile.
            }
        }

        foreach (var volume in await OwnedVolumesAsync())
        {
            try
            {
                await _docker.Volumes.RemoveAsync(volume.Name, force: true);
                removed.Add("volume " + volume.Name);
            }
            catch (DockerApiException e) when (e.StatusCode is System.Net.HttpStatusCode.NotFound)
            {
                // Gone meanwhile.
            }
        }

        return removed;
    }

    /// <summary>Runs a command in the instance's container with the docker CLI; returns (exit code, stdout, stderr).</summary>
    public static Task<(int ExitCode, string Output, string Error)> ExecAsync(string instanceId, params string[] command) =>
        DockerCliAsync(["exec", ContainerName(instanceId), .. command]);

    /// <summary>
    /// The paths on a block device whose name is <paramref name="name"/>, as an operator would look: a throwaway container
    /// (no appliance labels, removed at exit) mounts the device read-only and searches it.
    /// </summary>
    public static async Task<string> FindOnDeviceAsync(string device, string name)
    {
        var (exit, output, error) = await DockerCliAsync(["run", "--rm", "--device", device, "--cap-add", "SYS_ADMIN", "--entrypoint", "sh", "dbprov/mysql:10.11",
            "-c", $"mkdir -p /probe && mount -o ro {device} /probe && find /probe -name '{name}'; s=$?; umount /probe; exit $s"]);
        Assert.That(exit, Is.Zero, $"looking into {device}: {error}");
        return output;
    }

    /// <summary>The docker CLI on this machine's engine, as an operator types it (e.g. <c>update --cpuset-cpus 1 NAME</c>).</summary>
    public static Task<(int ExitCode, string Output, string Error)> CliAsync(params string[] arguments) => DockerCliAsync(arguments);

    private static async Task<(int ExitCode, string Output, string Error)> DockerCliAsync(IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var part in arguments)
        {
            info.ArgumentList.Add(part);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("docker did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await output).Trim(), (await error).Trim());
    }

    public void Dispose() => _docker.Dispose();
}
