using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using DbProvisioner.Domain.Instances;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using static DbProvisioner.Runtime.Docker.ContainerParameters;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// The life of instance containers on one host: start (idempotent by name, nothing left behind on failure), wait
/// until MySQL answers, inspect, stop and remove.
/// </summary>
internal sealed class InstanceContainers(
    DockerEngine engine, HostConnection host, DockerRuntimeOptions options, MySqlReadiness readiness, ILogger logger)
{
    private string HostId => host.HostId;

    public async Task<InstanceHandle> StartAsync(InstanceContainerSpec spec, CancellationToken cancellationToken)
    {
        // Built (and so validated) before anything is created.
        var parameters = ForInstance(host, spec, options.StopTimeout);
        var name = ResourceNames.Container(spec.InstanceId);
        var started = Stopwatch.GetTimestamp();
        var phases = new PhaseClock();

        var existing = await engine.TryInspectAsync(name, cancellationToken).ConfigureAwait(false);
        phases.Done("inspect");
        if (existing is not null)
        {
            EnsureSameInstance(existing, spec);
            if (existing.State?.Running == true) return Handle(spec, existing.ID, phases);
        }
        // The port is not checked first (that cost a helper container per request): a mysqld that cannot bind it
        // stops, and the wait for Ready reports the port taken (StartFailure), after which the instance gives it back.
        try
        {
            await EnsureDataVolumeAsync(spec, cancellationToken).ConfigureAwait(false);
            phases.Done("volume");
            var id = existing?.ID ?? await CreateAsync(spec, name, parameters, cancellationToken).ConfigureAwait(false);
            phases.Done("create");
            await PutFilesAsync(id, spec, cancellationToken).ConfigureAwait(false);
            phases.Done("files");
            try
            {
                await engine.CallAsync((d, ct) => d.Containers.StartContainerAsync(id, new ContainerStartParameters(), ct), cancellationToken).ConfigureAwait(false);
            }
            catch (DockerApiException e)
            {
                throw DockerErrors.Translate(HostId, $"start instance {spec.InstanceId}", e, spec.Device, host.Image, spec.Cpus, spec.MemoryNodes);
            }
            phases.Done("start");
            logger.LogInformation("Started instance {InstanceId} on host {HostId} (disk {Device}, CPUs {Cpus}, port {Port}) in {Elapsed}",
                spec.InstanceId, HostId, spec.Device, spec.Cpus, spec.Port, Stopwatch.GetElapsedTime(started));
            return Handle(spec, id, phases);
        }
        catch (HostRuntimeException e) when (e is not EngineUnavailableException)
        {
            logger.LogWarning("Instance {InstanceId} on host {HostId} could not start ({Code}); removing what was made", spec.InstanceId, HostId, e.Code);
            await RemoveQuietlyAsync(spec.InstanceId).ConfigureAwait(false);
            throw;
        }
    }

    private InstanceHandle Handle(InstanceContainerSpec spec, string containerId, PhaseClock phases) =>
        new(spec.InstanceId, containerId, ResourceNames.Container(spec.InstanceId), ResourceNames.DataVolume(spec.InstanceId), host.MySqlAddress, spec.Port, phases.Phases);

    /// <summary>Times the parts of a start one after another, so that delivery can say where its time goes.</summary>
    private sealed class PhaseClock
    {
        private long _last = Stopwatch.GetTimestamp();
        private readonly List<StartPhase> _phases = [];

        public IReadOnlyList<StartPhase> Phases => _phases;

        public void Done(string phase)
        {
            var now = Stopwatch.GetTimestamp();
            _phases.Add(new StartPhase(phase, Stopwatch.GetElapsedTime(_last, now).TotalMilliseconds));
            _last = now;
        }
    }

    private void EnsureSameInstance(ContainerInspectResponse existing, InstanceContainerSpec spec)
    {
        var labels = existing.Config?.Labels ?? new Dictionary<string, string>();
        string? Label(string key) => labels.TryGetValue(key, out var v) ? v : null;
        if (Label(OwnershipLabels.Instance) != spec.InstanceId || Label(OwnershipLabels.Host) != HostId)
            throw InstanceException.Conflict(HostId, spec.InstanceId, $"container {existing.Name.TrimStart('/')} exists but is not this instance's");
        if (Label(OwnershipLabels.Disk) != spec.Device)
            throw InstanceException.Conflict(HostId, spec.InstanceId, $"it already runs on disk {Label(OwnershipLabels.Disk)}, not {spec.Device}");
        if (Label(OwnershipLabels.Port) != spec.Port.ToString(CultureInfo.InvariantCulture))
            throw InstanceException.Conflict(HostId, spec.InstanceId, $"it already listens on port {Label(OwnershipLabels.Port)}, not {spec.Port}");
    }

    private async Task EnsureDataVolumeAsync(InstanceContainerSpec spec, CancellationToken cancellationToken)
    {
        var parameters = ForDataVolume(host, spec);
        VolumeResponse created;
        try
        {
            created = await engine.CallAsync((d, ct) => d.Volumes.CreateAsync(parameters, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, $"create the data volume of instance {spec.InstanceId}", e, spec.Device);
        }
        // Creating an existing volume returns it as it is: it must be on the same disk.
        if (created.Options is { } opts && opts.TryGetValue("device", out var onDevice) && onDevice != spec.Device)
            throw InstanceException.Conflict(HostId, spec.InstanceId, $"its data volume {parameters.Name} is on {onDevice}, not {spec.Device}");
    }

    private async Task<string> CreateAsync(InstanceContainerSpec spec, string name, CreateContainerParameters parameters, CancellationToken cancellationToken)
    {
        try
        {
            var response = await engine.CallAsync((d, ct) => d.Containers.CreateContainerAsync(parameters, ct), cancellationToken).ConfigureAwait(false);
            return response.ID;
        }
        catch (DockerApiException e) when (DockerErrors.IsConflict(e))
        {
            // A retry whose first attempt did create it, or a concurrent call for the same instance.
            var raced = await engine.TryInspectAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw InstanceException.Conflict(HostId, spec.InstanceId, DockerErrors.MessageOf(e));
            EnsureSameInstance(raced, spec);
            return raced.ID;
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, $"create the container of instance {spec.InstanceId}", e, spec.Device, host.Image, spec.Cpus, spec.MemoryNodes);
        }
    }

    /// <summary>
    /// my.cnf and the password files, uploaded between create and start; owned by mysql, mode 0400. One archive
    /// extracted at the root holds both directories' files (no directory entries, so the image's directories keep
    /// their owners and modes): one round trip, one mount of the container's file system, instead of two.
    /// </summary>
    private async Task PutFilesAsync(string containerId, InstanceContainerSpec spec, CancellationToken cancellationToken)
    {
        static string FromRoot(string dir, string file) => $"{dir.TrimStart('/')}/{file}";
        var files = new List<(string, byte[])>
        {
            (FromRoot(InstanceLayout.ConfDir, InstanceLayout.ConfFile), Encoding.UTF8.GetBytes(spec.MyCnf)),
            (FromRoot(InstanceLayout.SecretsDir, InstanceLayout.RootPasswordFile), Encoding.UTF8.GetBytes(spec.Credentials.RootPassword)),
        };
        if (spec.Credentials.UserPassword is { } userPassword)
            files.Add((FromRoot(InstanceLayout.SecretsDir, InstanceLayout.UserPasswordFile), Encoding.UTF8.GetBytes(userPassword)));
        using var archive = new FileArchive(options.MySqlUid, files);
        foreach (var (_, bytes) in files) CryptographicOperations.ZeroMemory(bytes);

        try
        {
            await engine.CallAsync(async (d, ct) =>
            {
                await using var stream = archive.Open();
                await d.Containers.ExtractArchiveToContainerAsync(containerId, new CopyToContainerParameters { Path = "/" }, stream, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, $"put my.cnf and the password files into instance {spec.InstanceId}", e);
        }
    }

    public async Task WaitUntilReadyAsync(string instanceId, int port, InstanceCredentials credentials, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ResourceNames.ValidateInstanceId(instanceId);
        ArgumentNullException.ThrowIfNull(credentials);
        var name = ResourceNames.Container(instanceId);
        var started = Stopwatch.GetTimestamp();
        var first = await engine.TryInspectAsync(name, cancellationToken).ConfigureAwait(false)
            ?? throw InstanceException.Failed(HostId, instanceId, "it has no container");
        var restartsBefore = first.RestartCount;

        // Between attempts: a container that restarted, stopped or went away will not answer; say why at once.
        async Task EnsureStartingAsync(CancellationToken ct)
        {
            var now = await engine.TryInspectAsync(name, ct).ConfigureAwait(false)
                ?? throw InstanceException.Failed(HostId, instanceId, "its container was removed");
            if (now.RestartCount > restartsBefore || now.State is null || now.State.Restarting || now.State.Status is "exited" or "dead")
                throw await DiagnoseAsync(instanceId, port, now, ct).ConfigureAwait(false);
        }

        await readiness.WaitAsync(HostId, instanceId, host.MySqlAddress, port, credentials, deadline, EnsureStartingAsync, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Instance {InstanceId} on host {HostId} answered after {Elapsed}", instanceId, HostId, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Why mysqld stopped, from the end of the container's log.</summary>
    private async Task<HostRuntimeException> DiagnoseAsync(string instanceId, int port, ContainerInspectResponse container, CancellationToken cancellationToken)
    {
        var (stdout, stderr) = await engine.ReadLogsAsync(container.ID, "200", cancellationToken).ConfigureAwait(false);
        var failure = StartFailure.FromLog((stdout + "\n" + stderr).Split('\n'), container.State?.ExitCode);
        return failure.Kind == StartFailureKind.PortTaken
            ? new PortInUseException(HostId, port)
            : InstanceException.Failed(HostId, instanceId, failure.Reason);
    }

    public async Task RemoveAsync(string instanceId, CancellationToken cancellationToken)
    {
        ResourceNames.ValidateInstanceId(instanceId);
        var name = ResourceNames.Container(instanceId);
        try
        {
            await engine.CallAsync((d, ct) => d.Containers.StopContainerAsync(name, new ContainerStopParameters
            {
                WaitBeforeKillSeconds = (uint)options.StopTimeout.TotalSeconds,
            }, ct), cancellationToken, waitsForWork: true).ConfigureAwait(false);
        }
        catch (DockerApiException e) when (DockerErrors.IsNotFound(e))
        {
            // Already gone.
        }
        try
        {
            await engine.RemoveContainerAsync(name, removeVolumes: false, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, $"remove the container of instance {instanceId}", e);
        }
        await engine.RemoveVolumeAsync(ResourceNames.DataVolume(instanceId), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Removed instance {InstanceId} from host {HostId}", instanceId, HostId);
    }

    /// <summary>Removes what a failed start made, never failing the caller: what stays behind is reconciliation's.</summary>
    private Task RemoveQuietlyAsync(string instanceId) =>
        engine.QuietlyAsync($"clean up instance {instanceId}", options.LongCallTimeout, ct => RemoveAsync(instanceId, ct));

    public async Task<InstanceStatus?> InspectAsync(string instanceId, CancellationToken cancellationToken)
    {
        ResourceNames.ValidateInstanceId(instanceId);
        var c = await engine.TryInspectAsync(ResourceNames.Container(instanceId), cancellationToken).ConfigureAwait(false);
        if (c is null) return null;
        var state = c.State ?? new State { Status = "unknown" };
        DateTimeOffset? startedAt = DateTimeOffset.TryParse(state.StartedAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var s) && s.Year > 1 ? s : null;
        return new InstanceStatus(instanceId, c.ID, state.Status, state.Running, state.Restarting, c.RestartCount, state.ExitCode, startedAt,
            new Dictionary<string, string>(c.Config?.Labels ?? new Dictionary<string, string>()));
    }
}
