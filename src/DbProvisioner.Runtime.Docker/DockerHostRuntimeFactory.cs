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

    /// <summary>Why this driver will not reach an engine at <paramref name="engineEndpoint"/> (plain text to another machine, TLS without a certificate), or null.</summary>
    public string? EndpointRefusal(Uri engineEndpoint)
    {
        if (EngineEndpoints.Refusal(engineEndpoint, _options) is { } refusal) return refusal;
        if (EngineEndpoints.TransportOf(engineEndpoint, _options.Tls) != EngineTransport.MutualTls) return null;
        var missing = new[] { ("CaFile", _options.Tls.CaFile!), ("CertFile", _options.Tls.CertFile!), ("KeyFile", _options.Tls.KeyFile!) }
            .Where(f => !File.Exists(f.Item2)).Select(f => $"Docker:Tls:{f.Item1} {f.Item2}").ToList();
        return missing.Count == 0 ? null : $"{engineEndpoint} needs mutual TLS, but the appliance's {string.Join(", ", missing)} does not exist";
    }

    private DockerHostRuntime Create(HostConnection host)
    {
        var logger = _loggerFactory.CreateLogger<DockerHostRuntime>();
        var engine = new DockerEngine(host, _options, logger);
        var helpers = new HelperContainers(engine, host);
        return new DockerHostRuntime(host, engine, helpers,
            new DockerDisks(engine, helpers, _options, logger),
            new InstanceContainers(engine, host, _options, _readiness, logger),
            new DockerImages(engine, host, _options, logger));
    }

    public void Dispose()
    {
        foreach (var runtime in _runtimes.Values)
            if (runtime.IsValueCreated) runtime.Value.Dispose();
        _runtimes.Clear();
    }
}
