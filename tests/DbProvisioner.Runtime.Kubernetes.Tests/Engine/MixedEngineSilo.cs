using System.Security.Cryptography;
using DbProvisioner.Contracts;
using DbProvisioner.Grains;
using DbProvisioner.Runtime.Docker;
using DbProvisioner.Runtime.Kubernetes.Tests.Runtime;
using DbProvisioner.Testing.Simulation;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Engine;

/// <summary>
/// The real grains in one in-process silo with the server's router over the REAL local Docker engine (unix socket) and
/// the fake Kubernetes API server (k8s://). This namespace touches the engine and a test-pool disk: run it only under
/// the engine lock (<c>flock /tmp/dbprov-engine.lock</c>), as <c>make test</c> does. Storage in memory (grain state only).
/// </summary>
[SetUpFixture]
public sealed class MixedEngineSilo
{
    private static InProcessTestCluster? _silo;
    private static FakeCluster? _fake;
    private static DockerHostRuntimeFactory? _docker;

    public static FakeCluster Fake => _fake ?? throw new InvalidOperationException("the silo has not started");
    public static IClusterClient Client => _silo?.Client ?? throw new InvalidOperationException("the silo has not started");

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _fake = new FakeCluster(null, "node-a");
        _docker = new DockerHostRuntimeFactory(new DockerRuntimeOptions());
        var router = new RuntimeRouter(_docker, new Dictionary<string, IHostRuntimeFactory> { [KubernetesEndpoint.Scheme] = _fake.Factory });
        _silo = await DbProvisioner.Runtime.Kubernetes.Tests.Grains.GrainSilo.StartAsync(router, new AdminByAddress(new MySqlConnectorAdmin(), new SimulatedMySqlAdmin()), o => o.DrainTimeout = TimeSpan.FromSeconds(10));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_silo is not null) await _silo.DisposeAsync();
        _fake?.Dispose();
        _docker?.Dispose();
    }

    /// <summary>The real MySQL of the local engine's instances (127.0.0.1) for drains and risk probes; the fake's pods have none.</summary>
    private sealed class AdminByAddress(IMySqlAdmin local, IMySqlAdmin fake) : IMySqlAdmin
    {
        private IMySqlAdmin For(string address) => address == "127.0.0.1" ? local : fake;

        public Task<MySqlStatus> GetStatusAsync(string address, int port, InstanceCredentials credentials, CancellationToken cancellationToken) =>
            For(address).GetStatusAsync(address, port, credentials, cancellationToken);

        public Task SetReadOnlyAsync(string address, int port, InstanceCredentials credentials, bool readOnly, CancellationToken cancellationToken) =>
            For(address).SetReadOnlyAsync(address, port, credentials, readOnly, cancellationToken);
    }
}
