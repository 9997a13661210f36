using DbProvisioner.Runtime;
using Docker.DotNet;

namespace DbProvisioner.Runtime.Docker;

/// <summary>What one short-lived helper (mkfs, seed, sysfs read, port probe…) runs and may touch.</summary>
/// <param name="Purpose">What it is for; names the helper and its <see cref="OwnershipLabels.Helper"/> label.</param>
internal sealed record HelperSpec(string Purpose, IList<string> Command)
{
    public string User { get; init; } = "root";

    /// <summary>The host's disk, seen inside as <see cref="InstanceLayout.HelperDevice"/>.</summary>
    public string? Device { get; init; }

    /// <summary>A volume mounted at the data directory.</summary>
    public string? Volume { get; init; }

    public bool VolumeReadOnly { get; init; }
    public IList<string> CapAdd { get; init; } = [];
    public IList<string> Env { get; init; } = [];
    public bool HostNetwork { get; init; }
    public bool ReadOnlyRootfs { get; init; } = true;
}

/// <summary>How a helper ended: its exit code and its whole output.</summary>
internal sealed record HelperResult(long ExitCode, string Stdout, string Stderr)
{
    public string LastErrorLine =>
        Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
        ?? $"exit code {ExitCode}";
}

/// <summary>Runs helper containers on one host: create, start, wait, read the output, and always remove.</summary>
internal sealed class HelperContainers(DockerEngine engine, HostConnection host)
{
    public async Task<HelperResult> RunAsync(HelperSpec helper, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(helper);
        var name = $"dbprov-helper-{helper.Purpose}-{Guid.NewGuid().ToString("N")[..12]}";
        var parameters = ContainerParameters.ForHelper(host, helper, name);

        string id;
        try
        {
            id = (await engine.CallAsync((d, ct) => d.Containers.CreateContainerAsync(parameters, ct), cancellationToken).ConfigureAwait(false)).ID;
        }
        catch (DockerApiException e) when (DockerErrors.IsConflict(e))
        {
            id = name; // a retried create whose first attempt went through
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(host.HostId, $"run the {helper.Purpose} helper", e, helper.Device, host.Image);
        }

        try
        {
            try
            {
                await engine.CallAsync((d, ct) => d.Containers.StartContainerAsync(id, new(), ct), cancellationToken).ConfigureAwait(false);
            }
            catch (DockerApiException e)
            {
                throw DockerErrors.Translate(host.HostId, $"run the {helper.Purpose} helper", e, helper.Device, host.Image);
            }
            var exit = await engine.CallAsync((d, ct) => d.Containers.WaitContainerAsync(id, ct), cancellationToken, waitsForWork: true).ConfigureAwait(false);
            var (stdout, stderr) = await engine.ReadLogsAsync(id, "all", cancellationToken).ConfigureAwait(false);
            return new HelperResult(exit.StatusCode, stdout, stderr);
        }
        finally
        {
            await engine.RemoveHelperQuietlyAsync(id).ConfigureAwait(false);
        }
    }
}
