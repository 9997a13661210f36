using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DbProvisioner.Runtime.Docker;

/// <summary>One <see cref="DockerHostRuntime"/> (one engine client, one circuit) per host connection.</summary>
public sealed class DockerHostRuntimeFactory(DockerRuntimeOptions? options = null, ILoggerFactory? loggerFactory = null)
    : IHostRuntimeFactory, IDisposable
{
    private readonly DockerRuntimeOptions _options = options ?? new DockerRuntimeOptions();
    private readonly ILoggerFactory _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    private readonly ConcurrentDictionary<HostConnection, Lazy<DockerHostRuntime>> _runtimes = new();

    /// <summary>The options every runtime of this factory gets (the disk-pool folder among them).</summary>
    public DockerRuntimeOptions Options => _options;

    public IHostRuntime For(HostConnection host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return _runtimes.GetOrAdd(host, h => new Lazy<DockerHostRuntime>(
            () => new DockerHostRuntime(h, _options, _loggerFactory.CreateLogger<DockerHostRuntime>()))).Value;
    }

    public void Dispose()
    {
        foreach (var runtime in _runtimes.Values)
            if (runtime.IsValueCreated) runtime.Value.Dispose();
        _runtimes.Clear();
    }
}
