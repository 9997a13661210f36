using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// The one place a host's runtime is made: one <see cref="DockerHostRuntime"/> (one engine client, one circuit) per
/// host connection, composed of its rooms.
/// </summary>
public sealed class DockerHostRuntimeFactory(DockerRuntimeOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    : IHostRuntimeFactory, IDisposable
{
    private readonly DockerRuntimeOptions _options = options ?? new DockerRuntimeOptions();
    private readonly ILoggerFactory _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    private readonly MySqlReadiness _readiness = new(timeProvider);
    private readonly ConcurrentDictionary<HostConnection, Lazy<DockerHostRuntime>> _runtimes = new();

    /// <summary>The options every runtime of this factory gets (the disk-pool folder among them).</summary>
    public DockerRuntimeOptions Options => _options;

    public IHostRuntime For(HostConnection host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return _runtimes.GetOrAdd(host, h => new Lazy<DockerHostRuntime>(() => Create(h))).Value;
    }

    private DockerHostRuntime Create(HostConnection host)
    {
        var logger = _loggerFactory.CreateLogger<DockerHostRuntime>();
        var engine = new DockerEngine(host, _options, logger);
        var helpers = new HelperContainers(engine, host);
        return new DockerHostRuntime(host, engine, helpers,
            new DockerDisks(engine, helpers, _options, logger),
            new InstanceContainers(engine, helpers, host, _options, _readiness, logger));
    }

    public void Dispose()
    {
        foreach (var runtime in _runtimes.Values)
            if (runtime.IsValueCreated) runtime.Value.Dispose();
        _runtimes.Clear();
    }
}
