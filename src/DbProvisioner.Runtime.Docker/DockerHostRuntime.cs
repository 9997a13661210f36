using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using DbProvisioner.Domain.Topology;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using DbProvisioner.Runtime.Faults;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// The Docker Engine API driver of one host. Every engine call runs through this host's resilience
/// pipeline: retries with jitter on transient failures only, a circuit breaker, a timeout per attempt.
/// </summary>
public sealed partial class DockerHostRuntime : IHostRuntime, IDisposable
{
    private const string DataDir = "/var/lib/mysql";
    private const string ConfDir = "/etc/mysql/conf.d";
    private const string ConfFile = "dbprov.cnf";
    private const string SecretsDir = "/etc/dbprov/secrets";
    private const string RootPasswordFile = "root-password";
    private const string UserPasswordFile = "user-password";
    private const string HelperDevice = "/dev/dbprov-disk";
    private const int NotABlockDeviceExit = SysfsDeviceProbe.NotABlockDeviceExit;
    private const int PortTakenExit = 3;

    private static readonly ResiliencePropertyKey<TimeSpan> AttemptTimeout = new("dbprov.attempt-timeout");

    private readonly DockerClient _docker;
    private readonly ResiliencePipeline _pipeline;
    private readonly DockerRuntimeOptions _options;
    private readonly ILogger _logger;

    public DockerHostRuntime(HostConnection host, DockerRuntimeOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(options);
        Host = host;
        _options = options;
        _logger = logger;
        // Polly owns timeouts; the HTTP client's own limit only catches what Polly would miss.
        _docker = new DockerClientBuilder()
            .WithEndpoint(host.EngineEndpoint)
            .WithApiVersion(options.ApiVersion)
            .WithTimeout(options.LongCallTimeout + TimeSpan.FromMinutes(1))
            .Build();
        _pipeline = BuildPipeline(options, host.HostId, logger);
    }

    public HostConnection Host { get; }

    private string HostId => Host.HostId;

    private static ResiliencePipeline BuildPipeline(DockerRuntimeOptions options, string hostId, ILogger logger)
    {
        var transient = new PredicateBuilder().Handle<Exception>(DockerErrors.IsTransient);
        return new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = options.MaxRetryAttempts,
                Delay = options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    logger.LogWarning("Engine call on host {HostId} failed ({Error}); retry {Attempt} in {Delay}",
                        hostId, args.Outcome.Exception?.GetType().Name, args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.5,
                MinimumThroughput = options.CircuitMinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = options.CircuitBreakDuration,
                OnOpened = args =>
                {
                    logger.LogError("Circuit of host {HostId} opened for {Duration}", hostId, args.BreakDuration);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(new TimeoutStrategyOptions
            {
                TimeoutGenerator = args => ValueTask.FromResult(args.Context.Properties.GetValue(AttemptTimeout, options.CallTimeout)),
            })
            // Innermost, so that an injected fault meets the retries and the circuit as a real one would.
            .AddChaos(options.Chaos, "Docker:Chaos", () => new HttpRequestException($"engine of host {hostId}: fault injected by the chaos drill"))
            .Build();
    }

    /// <summary>One engine call through the pipeline; an engine that cannot be reached becomes <see cref="EngineUnavailableException"/>.</summary>
    private async Task<T> CallAsync<T>(Func<IDockerClient, CancellationToken, Task<T>> call, CancellationToken cancellationToken, bool waitsForWork = false)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(AttemptTimeout, waitsForWork ? _options.LongCallTimeout : _options.CallTimeout);
        try
        {
            return await _pipeline.ExecuteAsync(
                static async (ctx, state) => await state.call(state.docker, ctx.CancellationToken).ConfigureAwait(false),
                context,
                (call, docker: (IDockerClient)_docker)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BrokenCircuitException || (DockerErrors.IsTransient(e) && e is not DockerApiException))
        {
            throw new EngineUnavailableException(HostId, e);
        }
        catch (DockerApiException e) when (DockerErrors.IsTransient(e))
        {
            throw new EngineUnavailableException(HostId, e);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private Task CallAsync(Func<IDockerClient, CancellationToken, Task> call, CancellationToken cancellationToken, bool waitsForWork = false) =>
        CallAsync<bool>(async (d, ct) => { await call(d, ct).ConfigureAwait(false); return true; }, cancellationToken, waitsForWork);

    // ---------------------------------------------------------------- topology

    public async Task<HostTopology> DiscoverTopologyAsync(CancellationToken cancellationToken)
    {
        var result = await RunHelperAsync(new HelperSpec("topology", ["/bin/sh", "-c", SysfsTopologyParser.DumpScript]) { User = "mysql" }, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0) throw new EngineRejectedException(HostId, "read the CPU topology", result.LastErrorLine);
        try
        {
            return SysfsTopologyParser.Parse(result.Stdout);
        }
        catch (FormatException e)
        {
            throw new EngineRejectedException(HostId, "read the CPU topology", e.Message, e);
        }
    }

    public async Task<HostSwapInfo> DiscoverSwapAsync(CancellationToken cancellationToken)
    {
        // The engine's info says whether it can limit swap (SwapLimit) but not how much the host has: /proc/meminfo does.
        SystemInfoResponse info;
        try
        {
            info = await CallAsync((d, ct) => d.System.GetSystemInfoAsync(ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, "report its swap limit support", e);
        }
        var result = await RunHelperAsync(new HelperSpec("swap", ["cat", "/proc/meminfo"]) { User = "mysql" }, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0) throw new EngineRejectedException(HostId, "read the swap", result.LastErrorLine);
        try
        {
            return new HostSwapInfo(MemInfoParser.SwapTotalMiB(result.Stdout), info.SwapLimit);
        }
        catch (FormatException e)
        {
            throw new EngineRejectedException(HostId, "read the swap", e.Message, e);
        }
    }

    // ---------------------------------------------------------------- disks

    public async Task FormatDiskAsync(string device, bool seed, CancellationToken cancellationToken)
    {
        ResourceNames.ValidateDevice(device);
        await EnsureDiskNotInUseAsync(device, cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var (number, facts) = await EnsurePoolDeviceAsync(device, cancellationToken).ConfigureAwait(false);

        // mkfs.xfs needs the device and CAP_SYS_ADMIN, nothing else: no network, no other device. The guard
        // refuses a device that changed since it was judged (a loop device re-pointed in between).
        var mkfs = await RunHelperAsync(new HelperSpec("format", ["/bin/sh", "-c",
            $"{SysfsDeviceProbe.GuardScript(HelperDevice)}; exec mkfs.xfs -f -q {HelperDevice}"])
        {
            Device = device,
            CapAdd = ["SYS_ADMIN"],
            Env = SysfsDeviceProbe.GuardEnvironment(number, facts),
        }, cancellationToken).ConfigureAwait(false);
        if (mkfs.ExitCode == NotABlockDeviceExit) throw DiskException.NotABlockDevice(HostId, device);
        if (mkfs.ExitCode == SysfsDeviceProbe.ChangedExit)
            throw DiskException.NotInPool(HostId, device, "it changed between its check and the format (another device or backing file)");
        if (mkfs.ExitCode != 0) throw new EngineRejectedException(HostId, $"format {device}", mkfs.LastErrorLine);

        // The root directory goes to mysql (and, for a seeded disk, gets a data directory) through
        // the same kind of volume an instance mounts.
        await WithDiskVolumeAsync(device, "prepare", async volume =>
        {
            var prepare = await RunHelperAsync(new HelperSpec("prepare", ["prepare"])
            {
                Volume = volume,
                Env = seed ? ["DBPROV_SEED=1"] : [],
                // chown/chmod of the root directory, then setpriv to mysql for the seed.
                CapAdd = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"],
                ReadOnlyRootfs = false,
            }, cancellationToken).ConfigureAwait(false);
            if (prepare.ExitCode != 0) throw new EngineRejectedException(HostId, $"prepare {device}", prepare.LastErrorLine);
        }, cancellationToken).ConfigureAwait(false);

        _logger.LogInformation("Formatted {Device} on host {HostId} (seeded: {Seed}) in {Elapsed}",
            device, HostId, seed, Stopwatch.GetElapsedTime(started));
    }

    public async Task<DiskCheck> CheckDiskAsync(string device, CancellationToken cancellationToken)
    {
        ResourceNames.ValidateDevice(device);
        var probe = await RunHelperAsync(new HelperSpec("check", ["/bin/sh", "-c",
            $"test -b {HelperDevice} || exit {NotABlockDeviceExit}; blkid -p -o value -s TYPE {HelperDevice} || true"])
        {
            Device = device,
        }, cancellationToken).ConfigureAwait(false);
        if (probe.ExitCode == NotABlockDeviceExit) throw DiskException.NotABlockDevice(HostId, device);
        if (probe.ExitCode != 0) throw new EngineRejectedException(HostId, $"check {device}", probe.LastErrorLine);
        var fileSystem = probe.Stdout.Trim() is { Length: > 0 } fs ? fs : null;
        if (fileSystem != "xfs") return new DiskCheck(device, fileSystem, IsSeeded: false);

        var seeded = false;
        await WithDiskVolumeAsync(device, "check", async volume =>
        {
            var look = await RunHelperAsync(new HelperSpec("check", ["/bin/sh", "-c", $"test -d {DataDir}/mysql && echo seeded || echo empty"])
            {
                User = "mysql",
                Volume = volume,
                VolumeReadOnly = true,
            }, cancellationToken).ConfigureAwait(false);
            if (look.ExitCode != 0) throw new EngineRejectedException(HostId, $"check {device}", look.LastErrorLine);
            seeded = look.Stdout.Trim() == "seeded";
        }, cancellationToken).ConfigureAwait(false);
        return new DiskCheck(device, fileSystem, seeded);
    }

    /// <summary>A disk mounted by an instance must never be formatted: mkfs inside a helper cannot see host mounts.</summary>
    private async Task EnsureDiskNotInUseAsync(string device, CancellationToken cancellationToken)
    {
        var users = await CallAsync((d, ct) => d.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = OwnedFilter((OwnershipLabels.Disk, device)),
        }, ct), cancellationToken).ConfigureAwait(false);
        var instance = users.Select(c => c.Labels.TryGetValue(OwnershipLabels.Instance, out var id) ? id : null).FirstOrDefault(id => id is not null);
        if (instance is not null)
            throw InstanceException.Conflict(HostId, instance, $"disk {device} belongs to this instance; remove the instance before formatting the disk");
    }

    private async Task WithDiskVolumeAsync(string device, string purpose, Func<string, Task> use, CancellationToken cancellationToken)
    {
        var name = $"dbprov-{purpose}-{Path.GetFileName(device)}-{Guid.NewGuid().ToString("N")[..8]}";
        await CallAsync((d, ct) => d.Volumes.CreateAsync(new VolumesCreateParameters
        {
            Name = name,
            Driver = "local",
            DriverOpts = new Dictionary<string, string> { ["type"] = "xfs", ["device"] = device },
            Labels = Labels((OwnershipLabels.Helper, purpose), (OwnershipLabels.Disk, device)),
        }, ct), cancellationToken).ConfigureAwait(false);
        try
        {
            await use(name).ConfigureAwait(false);
        }
        finally
        {
            await RemoveVolumeQuietlyAsync(name).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- instances

    public async Task<InstanceHandle> StartInstanceAsync(InstanceContainerSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var limits = ContainerLimits.Of(spec.MemoryMiB, spec.SwapMiB, spec.Swappiness);
        if (spec.Port < 1024) throw new ArgumentOutOfRangeException(nameof(spec), spec.Port, "a non-root mysqld needs a port from 1024 up");
        var name = ResourceNames.Container(spec.InstanceId);
        var volume = ResourceNames.DataVolume(spec.InstanceId);
        var started = Stopwatch.GetTimestamp();

        var existing = await TryInspectAsync(name, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            EnsureSameInstance(existing, spec);
            if (existing.State?.Running == true) return Handle(spec, existing.ID);
        }
        else
        {
            // Refuse before creating anything: a mysqld that cannot bind would only crash-loop.
            await EnsurePortFreeAsync(spec.Port, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await EnsureDataVolumeAsync(spec, volume, cancellationToken).ConfigureAwait(false);
            var id = existing?.ID ?? await CreateInstanceContainerAsync(spec, limits, name, volume, cancellationToken).ConfigureAwait(false);
            await PutInstanceFilesAsync(id, spec, cancellationToken).ConfigureAwait(false);
            try
            {
                await CallAsync((d, ct) => d.Containers.StartContainerAsync(id, new ContainerStartParameters(), ct), cancellationToken).ConfigureAwait(false);
            }
            catch (DockerApiException e)
            {
                throw DockerErrors.Translate(HostId, $"start instance {spec.InstanceId}", e, spec.Device, Host.Image, spec.Cpus, spec.MemoryNodes);
            }
            _logger.LogInformation("Started instance {InstanceId} on host {HostId} (disk {Device}, CPUs {Cpus}, port {Port}) in {Elapsed}",
                spec.InstanceId, HostId, spec.Device, spec.Cpus, spec.Port, Stopwatch.GetElapsedTime(started));
            return Handle(spec, id);
        }
        catch (HostRuntimeException e) when (e is not EngineUnavailableException)
        {
            _logger.LogWarning("Instance {InstanceId} on host {HostId} could not start ({Code}); removing what was made", spec.InstanceId, HostId, e.Code);
            await RemoveInstanceQuietlyAsync(spec.InstanceId).ConfigureAwait(false);
            throw;
        }
    }

    private InstanceHandle Handle(InstanceContainerSpec spec, string containerId) =>
        new(spec.InstanceId, containerId, ResourceNames.Container(spec.InstanceId), ResourceNames.DataVolume(spec.InstanceId), Host.MySqlAddress, spec.Port);

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

    private async Task EnsurePortFreeAsync(int port, CancellationToken cancellationToken)
    {
        // Binds the port on the host's network the way mysqld will (all addresses, SO_REUSEADDR).
        var probe = await RunHelperAsync(new HelperSpec("port", ["perl", "-MIO::Socket::INET", "-e",
            $"IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $ARGV[0], Proto => 'tcp', Listen => 1, ReuseAddr => 1) or exit {PortTakenExit}",
            port.ToString(CultureInfo.InvariantCulture)])
        {
            User = "mysql",
            HostNetwork = true,
        }, cancellationToken).ConfigureAwait(false);
        if (probe.ExitCode == PortTakenExit) throw new PortInUseException(HostId, port);
        if (probe.ExitCode != 0) throw new EngineRejectedException(HostId, $"check port {port}", probe.LastErrorLine);
    }

    private async Task EnsureDataVolumeAsync(InstanceContainerSpec spec, string volume, CancellationToken cancellationToken)
    {
        VolumeResponse created;
        try
        {
            created = await CallAsync((d, ct) => d.Volumes.CreateAsync(new VolumesCreateParameters
            {
                Name = volume,
                Driver = "local",
                DriverOpts = new Dictionary<string, string> { ["type"] = "xfs", ["device"] = spec.Device },
                Labels = InstanceLabels(spec),
            }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, $"create the data volume of instance {spec.InstanceId}", e, spec.Device);
        }
        // Creating an existing volume returns it as it is: it must be on the same disk.
        if (created.Options is { } opts && opts.TryGetValue("device", out var onDevice) && onDevice != spec.Device)
            throw InstanceException.Conflict(HostId, spec.InstanceId, $"its data volume {volume} is on {onDevice}, not {spec.Device}");
    }

    private async Task<string> CreateInstanceContainerAsync(
        InstanceContainerSpec spec, ContainerLimits limits, string name, string volume, CancellationToken cancellationToken)
    {
        var env = new List<string> { $"MYSQL_ROOT_PASSWORD_FILE={SecretsDir}/{RootPasswordFile}" };
        if (spec.Credentials.Database is { } db) env.Add($"MYSQL_DATABASE={db}");
        if (spec.Credentials.User is { } user)
        {
            env.Add($"MYSQL_USER={user}");
            env.Add($"MYSQL_PASSWORD_FILE={SecretsDir}/{UserPasswordFile}");
        }

        var parameters = new CreateContainerParameters
        {
            Name = name,
            Image = Host.Image,
            // mysqld runs as mysql from its first instruction: the entrypoint's root path is never taken.
            User = "mysql",
            Cmd = ["mysqld", $"--port={spec.Port}"],
            Env = env,
            Labels = InstanceLabels(spec),
            StopTimeout = _options.StopTimeout,
            HostConfig = new HostConfig
            {
                NetworkMode = "host",
                CpusetCpus = spec.Cpus.ToString(),
                CpusetMems = spec.MemoryNodes.Count == 0 ? "" : CpuSet.Of(spec.MemoryNodes).ToString(),
                Memory = limits.MemoryBytes,
                MemorySwap = limits.MemorySwapBytes,
                MemorySwappiness = limits.Swappiness,
                RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.UnlessStopped },
                // A non-root mysqld on a port >= 1024 with its data owned by mysql needs no capability:
                // binding, reading its files and O_DIRECT I/O are all plain user rights.
                CapDrop = ["ALL"],
                SecurityOpt = ["no-new-privileges"],
                Mounts = [new Mount { Type = "volume", Source = volume, Target = DataDir }],
                LogConfig = new LogConfig
                {
                    Type = "json-file",
                    Config = new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" },
                },
            },
        };

        try
        {
            var response = await CallAsync((d, ct) => d.Containers.CreateContainerAsync(parameters, ct), cancellationToken).ConfigureAwait(false);
            return response.ID;
        }
        catch (DockerApiException e) when (DockerErrors.IsConflict(e))
        {
            // A retry whose first attempt did create it, or a concurrent call for the same instance.
            var raced = await TryInspectAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw InstanceException.Conflict(HostId, spec.InstanceId, DockerErrors.MessageOf(e));
            EnsureSameInstance(raced, spec);
            return raced.ID;
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, $"create the container of instance {spec.InstanceId}", e, spec.Device, Host.Image, spec.Cpus, spec.MemoryNodes);
        }
    }

    /// <summary>my.cnf and the password files, uploaded between create and start; owned by mysql, mode 0400.</summary>
    private async Task PutInstanceFilesAsync(string containerId, InstanceContainerSpec spec, CancellationToken cancellationToken)
    {
        using var conf = new FileArchive(_options.MySqlUid, [(ConfFile, Encoding.UTF8.GetBytes(spec.MyCnf))]);
        var secretFiles = new List<(string, byte[])> { (RootPasswordFile, Encoding.UTF8.GetBytes(spec.Credentials.RootPassword)) };
        if (spec.Credentials.UserPassword is { } userPassword) secretFiles.Add((UserPasswordFile, Encoding.UTF8.GetBytes(userPassword)));
        using var secrets = new FileArchive(_options.MySqlUid, secretFiles);
        foreach (var (_, bytes) in secretFiles) System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);

        foreach (var (archive, path) in new[] { (conf, ConfDir), (secrets, SecretsDir) })
        {
            try
            {
                await CallAsync(async (d, ct) =>
                {
                    await using var stream = archive.Open();
                    await d.Containers.ExtractArchiveToContainerAsync(containerId, new CopyToContainerParameters { Path = path }, stream, ct).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (DockerApiException e)
            {
                throw DockerErrors.Translate(HostId, $"put files into {path} of instance {spec.InstanceId}", e);
            }
        }
    }

    public async Task WaitUntilReadyAsync(string instanceId, int port, InstanceCredentials credentials, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ResourceNames.ValidateInstanceId(instanceId);
        ArgumentNullException.ThrowIfNull(credentials);
        var name = ResourceNames.Container(instanceId);
        var started = Stopwatch.GetTimestamp();
        var first = await TryInspectAsync(name, cancellationToken).ConfigureAwait(false)
            ?? throw InstanceException.Failed(HostId, instanceId, "it has no container");
        var restartsBefore = first.RestartCount;
        var connectionString = new MySqlConnectionStringBuilder
        {
            Server = Host.MySqlAddress,
            Port = (uint)port,
            UserID = InstanceCredentials.RootUser,
            Password = credentials.RootPassword,
            ConnectionTimeout = 3,
            DefaultCommandTimeout = 5,
            Pooling = false,
        }.ConnectionString;

        string? lastError = null;
        while (true)
        {
            try
            {
                await using var connection = new MySqlConnection(connectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using var command = new MySqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("Instance {InstanceId} on host {HostId} answered after {Elapsed}", instanceId, HostId, Stopwatch.GetElapsedTime(started));
                return;
            }
            catch (Exception e) when (e is MySqlException or IOException or SocketException or TimeoutException)
            {
                lastError = e.Message;
            }

            var now = await TryInspectAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw InstanceException.Failed(HostId, instanceId, "its container was removed");
            if (now.RestartCount > restartsBefore || now.State is null || now.State.Restarting || now.State.Status is "exited" or "dead")
                throw await DiagnoseAsync(instanceId, port, now, cancellationToken).ConfigureAwait(false);
            if (Stopwatch.GetElapsedTime(started) > deadline)
                throw InstanceException.NotReady(HostId, instanceId, deadline, lastError);
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Why mysqld stopped, from the end of the container's log.</summary>
    private async Task<HostRuntimeException> DiagnoseAsync(string instanceId, int port, ContainerInspectResponse container, CancellationToken cancellationToken)
    {
        var (stdout, stderr) = await ReadLogsAsync(container.ID, "200", cancellationToken).ConfigureAwait(false);
        var lines = (stdout + "\n" + stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Any(l => l.Contains("Address already in use", StringComparison.OrdinalIgnoreCase) || l.Contains("Bind on TCP/IP port", StringComparison.OrdinalIgnoreCase)))
            return new PortInUseException(HostId, port);
        var reason = lines.LastOrDefault(l => l.Contains("ERROR", StringComparison.Ordinal)) ?? lines.LastOrDefault() ?? "no log";
        return InstanceException.Failed(HostId, instanceId, $"mysqld exited with code {container.State?.ExitCode}: {reason}");
    }

    public async Task RemoveInstanceAsync(string instanceId, CancellationToken cancellationToken)
    {
        ResourceNames.ValidateInstanceId(instanceId);
        var name = ResourceNames.Container(instanceId);
        try
        {
            await CallAsync((d, ct) => d.Containers.StopContainerAsync(name, new ContainerStopParameters
            {
                WaitBeforeKillSeconds = (uint)_options.StopTimeout.TotalSeconds,
            }, ct), cancellationToken, waitsForWork: true).ConfigureAwait(false);
        }
        catch (DockerApiException e) when (DockerErrors.IsNotFound(e))
        {
            // Already gone.
        }
        try
        {
            await CallAsync((d, ct) => d.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e) when (DockerErrors.IsNotFound(e))
        {
            // Already gone.
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, $"remove the container of instance {instanceId}", e);
        }
        await RemoveVolumeAsync(ResourceNames.DataVolume(instanceId), cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Removed instance {InstanceId} from host {HostId}", instanceId, HostId);
    }

    private async Task RemoveInstanceQuietlyAsync(string instanceId)
    {
        using var cts = new CancellationTokenSource(_options.LongCallTimeout);
        try
        {
            await RemoveInstanceAsync(instanceId, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HostRuntimeException or OperationCanceledException)
        {
            _logger.LogError(e, "Could not clean up instance {InstanceId} on host {HostId}; reconciliation will", instanceId, HostId);
        }
    }

    public async Task<InstanceStatus?> InspectInstanceAsync(string instanceId, CancellationToken cancellationToken)
    {
        ResourceNames.ValidateInstanceId(instanceId);
        var c = await TryInspectAsync(ResourceNames.Container(instanceId), cancellationToken).ConfigureAwait(false);
        if (c is null) return null;
        var state = c.State ?? new State { Status = "unknown" };
        DateTimeOffset? startedAt = DateTimeOffset.TryParse(state.StartedAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var s) && s.Year > 1 ? s : null;
        return new InstanceStatus(instanceId, c.ID, state.Status, state.Running, state.Restarting, c.RestartCount, state.ExitCode, startedAt,
            new Dictionary<string, string>(c.Config?.Labels ?? new Dictionary<string, string>()));
    }

    public async Task<OwnedResources> ListOwnedAsync(CancellationToken cancellationToken)
    {
        var containers = await CallAsync((d, ct) => d.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = OwnedFilter() }, ct), cancellationToken).ConfigureAwait(false);
        var volumes = await CallAsync((d, ct) => d.Volumes.ListAsync(new VolumesListParameters { Filters = OwnedFilter() }, ct), cancellationToken).ConfigureAwait(false);
        return new OwnedResources(
            [.. containers.Select(c => new OwnedContainer(c.ID, c.Names.FirstOrDefault()?.TrimStart('/') ?? c.ID, c.State,
                new Dictionary<string, string>(c.Labels ?? new Dictionary<string, string>()), new DateTimeOffset(DateTime.SpecifyKind(c.Created, DateTimeKind.Utc))))],
            [.. (volumes.Volumes ?? []).Select(v => new OwnedVolume(v.Name, new Dictionary<string, string>(v.Labels ?? new Dictionary<string, string>())))]);
    }

    public async Task RemoveOwnedContainerAsync(string containerName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(containerName);
        var owned = await ListOwnedAsync(cancellationToken).ConfigureAwait(false);
        var container = owned.Containers.FirstOrDefault(c => c.Name == containerName || c.Id == containerName);
        if (container is null) return; // gone, or not ours: never touch what this host's appliance did not make
        if (container.InstanceId is { } instanceId && container.Helper is null)
        {
            await RemoveInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false);
            return;
        }
        try
        {
            await CallAsync((d, ct) => d.Containers.RemoveContainerAsync(container.Id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e) when (DockerErrors.IsNotFound(e))
        {
            // Already gone.
        }
    }

    // ---------------------------------------------------------------- helpers

    private sealed record HelperSpec(string Purpose, IList<string> Command)
    {
        public string User { get; init; } = "root";
        public string? Device { get; init; }
        public string? Volume { get; init; }
        public bool VolumeReadOnly { get; init; }
        public IList<string> CapAdd { get; init; } = [];
        public IList<string> Env { get; init; } = [];
        public bool HostNetwork { get; init; }
        public bool ReadOnlyRootfs { get; init; } = true;
    }

    private sealed record HelperResult(long ExitCode, string Stdout, string Stderr)
    {
        public string LastErrorLine =>
            Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
            ?? $"exit code {ExitCode}";
    }

    /// <summary>
    /// Runs a short-lived helper container (through the image's entrypoint, which runs any command
    /// other than mysqld/seed/prepare as it is) from the instance image with nothing but what it needs:
    /// no network (unless asked), all capabilities dropped but the listed ones, a read-only root.
    /// </summary>
    private async Task<HelperResult> RunHelperAsync(HelperSpec helper, CancellationToken cancellationToken)
    {
        var name = $"dbprov-helper-{helper.Purpose}-{Guid.NewGuid().ToString("N")[..12]}";
        var labels = helper.Device is null
            ? Labels((OwnershipLabels.Helper, helper.Purpose))
            : Labels((OwnershipLabels.Helper, helper.Purpose), (OwnershipLabels.Disk, helper.Device));
        var parameters = new CreateContainerParameters
        {
            Name = name,
            Image = Host.Image,
            User = helper.User,
            Cmd = helper.Command,
            Env = helper.Env,
            Labels = labels,
            HostConfig = new HostConfig
            {
                NetworkMode = helper.HostNetwork ? "host" : "none",
                CapDrop = ["ALL"],
                CapAdd = helper.CapAdd,
                SecurityOpt = ["no-new-privileges"],
                ReadonlyRootfs = helper.ReadOnlyRootfs,
                Devices = helper.Device is null ? [] : [new DeviceMapping { PathOnHost = helper.Device, PathInContainer = HelperDevice, CgroupPermissions = "rwm" }],
                Mounts = helper.Volume is null ? [] : [new Mount { Type = "volume", Source = helper.Volume, Target = DataDir, ReadOnly = helper.VolumeReadOnly }],
            },
        };

        string id;
        try
        {
            id = (await CallAsync((d, ct) => d.Containers.CreateContainerAsync(parameters, ct), cancellationToken).ConfigureAwait(false)).ID;
        }
        catch (DockerApiException e) when (DockerErrors.IsConflict(e))
        {
            id = name; // a retried create whose first attempt went through
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, $"run the {helper.Purpose} helper", e, helper.Device, Host.Image);
        }

        try
        {
            try
            {
                await CallAsync((d, ct) => d.Containers.StartContainerAsync(id, new ContainerStartParameters(), ct), cancellationToken).ConfigureAwait(false);
            }
            catch (DockerApiException e)
            {
                throw DockerErrors.Translate(HostId, $"run the {helper.Purpose} helper", e, helper.Device, Host.Image);
            }
            var exit = await CallAsync((d, ct) => d.Containers.WaitContainerAsync(id, ct), cancellationToken, waitsForWork: true).ConfigureAwait(false);
            var (stdout, stderr) = await ReadLogsAsync(id, "all", cancellationToken).ConfigureAwait(false);
            return new HelperResult(exit.StatusCode, stdout, stderr);
        }
        finally
        {
            await RemoveContainerQuietlyAsync(id).ConfigureAwait(false);
        }
    }

    private Task<(string Stdout, string Stderr)> ReadLogsAsync(string containerId, string tail, CancellationToken cancellationToken) =>
        CallAsync(async (d, ct) =>
        {
            using var stream = await d.Containers.GetContainerLogsAsync(containerId, new ContainerLogsParameters
            {
                ShowStdout = true,
                ShowStderr = true,
                Tail = tail,
            }, ct).ConfigureAwait(false);
            return await stream.ReadOutputToEndAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    private async Task<ContainerInspectResponse?> TryInspectAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync((d, ct) => d.Containers.InspectContainerAsync(name, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e) when (DockerErrors.IsNotFound(e))
        {
            return null;
        }
    }

    private async Task RemoveVolumeAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync((d, ct) => d.Volumes.RemoveAsync(name, true, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e) when (DockerErrors.IsNotFound(e))
        {
            // Already gone.
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(HostId, $"remove volume {name}", e);
        }
    }

    private async Task RemoveVolumeQuietlyAsync(string name)
    {
        using var cts = new CancellationTokenSource(_options.CallTimeout);
        try
        {
            await RemoveVolumeAsync(name, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HostRuntimeException or OperationCanceledException)
        {
            _logger.LogError(e, "Could not remove volume {Volume} on host {HostId}; reconciliation will", name, HostId);
        }
    }

    private async Task RemoveContainerQuietlyAsync(string id)
    {
        using var cts = new CancellationTokenSource(_options.CallTimeout);
        try
        {
            await CallAsync((d, ct) => d.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }, ct), cts.Token).ConfigureAwait(false);
        }
        catch (DockerApiException e) when (DockerErrors.IsNotFound(e))
        {
            // Already gone.
        }
        catch (Exception e) when (e is HostRuntimeException or DockerApiException or OperationCanceledException)
        {
            _logger.LogError(e, "Could not remove helper {Container} on host {HostId}; reconciliation will", id, HostId);
        }
    }

    private Dictionary<string, string> Labels(params (string Key, string Value)[] extra)
    {
        var labels = new Dictionary<string, string>
        {
            [OwnershipLabels.ManagedBy] = OwnershipLabels.ManagedByValue,
            [OwnershipLabels.Host] = HostId,
        };
        foreach (var (k, v) in extra) labels[k] = v;
        return labels;
    }

    private Dictionary<string, string> InstanceLabels(InstanceContainerSpec spec)
    {
        var labels = Labels(
            (OwnershipLabels.Instance, spec.InstanceId),
            (OwnershipLabels.Port, spec.Port.ToString(CultureInfo.InvariantCulture)),
            (OwnershipLabels.Disk, spec.Device));
        foreach (var (k, v) in spec.Labels ?? new Dictionary<string, string>()) labels[k] = v;
        return labels;
    }

    private Dictionary<string, IDictionary<string, bool>> OwnedFilter(params (string Key, string Value)[] extra)
    {
        var labelFilter = new Dictionary<string, bool>
        {
            [$"{OwnershipLabels.ManagedBy}={OwnershipLabels.ManagedByValue}"] = true,
            [$"{OwnershipLabels.Host}={HostId}"] = true,
        };
        foreach (var (k, v) in extra) labelFilter[$"{k}={v}"] = true;
        return new Dictionary<string, IDictionary<string, bool>> { ["label"] = labelFilter };
    }

    public void Dispose() => _docker.Dispose();
}
