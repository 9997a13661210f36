using DbProvisioner.Runtime.Faults;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// The engine client of one host: its <see cref="DockerClient"/> and the one resilience pipeline every engine call runs
/// through (retries with jitter on transient failures only, a circuit breaker, a timeout per attempt, the chaos
/// switch innermost). Retries live here and nowhere else.
/// </summary>
internal sealed class DockerEngine : IDisposable
{
    private static readonly ResiliencePropertyKey<TimeSpan> AttemptTimeout = new("dbprov.attempt-timeout");

    private readonly DockerClient _docker;
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly DockerRuntimeOptions _options;
    private readonly ILogger _logger;

    public DockerEngine(HostConnection host, DockerRuntimeOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(options);
        HostId = host.HostId;
        _options = options;
        _logger = logger;
        // The driver never dials what registration would refuse (a plain-text engine on another machine).
        if (EngineEndpoints.Refusal(host.EngineEndpoint, options) is { } refusal)
            throw new ArgumentException($"host {host.HostId}: {refusal}", nameof(host));
        var transport = EngineEndpoints.TransportOf(host.EngineEndpoint, options.Tls);
        // Polly owns timeouts; the HTTP client's own limit only catches what Polly would miss.
        var builder = new DockerClientBuilder()
            .WithEndpoint(EngineEndpoints.ClientUri(host.EngineEndpoint, transport))
            .WithApiVersion(options.ApiVersion)
            .WithTimeout(options.LongCallTimeout + TimeSpan.FromMinutes(1));
        if (transport == EngineTransport.MutualTls) builder = builder.WithAuthProvider(EngineTls.Credentials(options.Tls));
        _docker = builder.Build();
        _pipeline = BuildPipeline(options, host.HostId, logger, _circuit);
    }

    public string HostId { get; }

    /// <summary>The host's circuit refuses calls now (open, or isolated by hand); the heartbeat reports it as the host's health.</summary>
    public bool CircuitOpen => _circuit.CircuitState is CircuitState.Open or CircuitState.Isolated;

    private static ResiliencePipeline BuildPipeline(DockerRuntimeOptions options, string hostId, ILogger logger, CircuitBreakerStateProvider circuit)
    {
        return new ResiliencePipelineBuilder()
            .RetryThenBreak(DockerErrors.IsTransient,
                new CallPolicy(options.MaxRetryAttempts, options.RetryBaseDelay, options.CircuitMinimumThroughput, options.CircuitBreakDuration),
                circuit,
                (error, attempt, delay) => logger.LogWarning("Engine call on host {HostId} failed ({Error}); retry {Attempt} in {Delay}", hostId, error, attempt, delay),
                duration => logger.LogError("Circuit of host {HostId} opened for {Duration}", hostId, duration))
            .AddTimeout(new TimeoutStrategyOptions
            {
                TimeoutGenerator = args => ValueTask.FromResult(args.Context.Properties.GetValue(AttemptTimeout, options.CallTimeout)),
            })
            // Innermost, so that an injected fault meets the retries and the circuit as a real one would.
            .AddChaos(options.Chaos, "Docker:Chaos", () => new HttpRequestException($"engine of host {hostId}: fault injected by the chaos drill"))
            .Build();
    }

    /// <summary>One engine call through the pipeline; an engine that cannot be reached becomes <see cref="EngineUnavailableException"/>.</summary>
    /// <param name="waitsForWork">The call waits for work on the host (a helper's run, a clean mysqld stop): the long attempt timeout.</param>
    public async Task<T> CallAsync<T>(Func<IDockerClient, CancellationToken, Task<T>> call, CancellationToken cancellationToken, bool waitsForWork = false)
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
        catch (Exception e) when (DockerErrors.TlsFailure(e) is { } tls)
        {
            throw new EngineUntrustedException(HostId, tls.Message, e);
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

    public Task CallAsync(Func<IDockerClient, CancellationToken, Task> call, CancellationToken cancellationToken, bool waitsForWork = false) =>
        CallAsync<bool>(async (d, ct) => { await call(d, ct).ConfigureAwait(false); return true; }, cancellationToken, waitsForWork);

    // ---------------------------------------------------------------- containers

    public async Task<ContainerInspectResponse?> TryInspectAsync(string name, CancellationToken cancellationToken)
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

    public Task<(string Stdout, string Stderr)> ReadLogsAsync(string containerId, string tail, CancellationToken cancellationToken) =>
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

    /// <summary>Containers (all states) that carry this host's ownership labels and <paramref name="extra"/>.</summary>
    public Task<IList<ContainerListResponse>> ListOwnedContainersAsync(CancellationToken cancellationToken, params (string Key, string Value)[] extra) =>
        CallAsync((d, ct) => d.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = OwnedFilter(extra) }, ct), cancellationToken);

    public Task<VolumesListResponse> ListOwnedVolumesAsync(CancellationToken cancellationToken) =>
        CallAsync((d, ct) => d.Volumes.ListAsync(new VolumesListParameters { Filters = OwnedFilter([]) }, ct), cancellationToken);

    /// <summary>Force-removes a container; one that is already gone counts as removed.</summary>
    public async Task RemoveContainerAsync(string idOrName, bool removeVolumes, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync((d, ct) => d.Containers.RemoveContainerAsync(idOrName,
                new ContainerRemoveParameters { Force = true, RemoveVolumes = removeVolumes ? true : null }, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e) when (DockerErrors.IsNotFound(e))
        {
            // Already gone.
        }
    }

    /// <summary>Removes a helper container, never failing the caller: what stays behind is reconciliation's.</summary>
    public async Task RemoveHelperQuietlyAsync(string id)
    {
        using var cts = new CancellationTokenSource(_options.CallTimeout);
        try
        {
            await RemoveContainerAsync(id, removeVolumes: false, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HostRuntimeException or DockerApiException or OperationCanceledException)
        {
            _logger.LogError(e, "Could not remove helper {Container} on host {HostId}; reconciliation will", id, HostId);
        }
    }

    // ---------------------------------------------------------------- volumes

    public async Task RemoveVolumeAsync(string name, CancellationToken cancellationToken)
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

    /// <summary>Removes a volume, never failing the caller: what stays behind is reconciliation's.</summary>
    public Task RemoveVolumeQuietlyAsync(string name) =>
        QuietlyAsync($"remove volume {name}", _options.CallTimeout, ct => RemoveVolumeAsync(name, ct));

    /// <summary>Clean-up that never fails its caller (within its own deadline): what stays behind is reconciliation's, and is logged.</summary>
    public async Task QuietlyAsync(string action, TimeSpan timeout, Func<CancellationToken, Task> cleanUp)
    {
        ArgumentNullException.ThrowIfNull(cleanUp);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await cleanUp(cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HostRuntimeException or OperationCanceledException)
        {
            _logger.LogError(e, "Could not {Action} on host {HostId}; reconciliation will", action, HostId);
        }
    }

    private Dictionary<string, IDictionary<string, bool>> OwnedFilter((string Key, string Value)[] extra) =>
        new() { ["label"] = OwnershipLabels.Selector(HostId, extra).ToDictionary(term => term, _ => true) };

    public void Dispose() => _docker.Dispose();
}
