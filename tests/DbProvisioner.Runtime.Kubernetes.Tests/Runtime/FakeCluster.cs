using DbProvisioner.Runtime;
using System.Text;
using DbProvisioner.Runtime.Docker;
using DbProvisioner.Runtime.Kubernetes.Tests.Fake;
using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Runtime;

/// <summary>
/// A fake API server with nodes, and the runtime factory pointed at it. MySQL "answers" an instance exactly when its
/// pod is Ready and the password asked with is the one in the instance's Secret (the fake has no mysqld to ask).
/// </summary>
public sealed class FakeCluster : IDisposable
{
    public const string Name = "prod";

    public FakeCluster(TimeProvider? time = null, params string[] nodes)
    {
        foreach (var node in nodes.Length == 0 ? ["node-a"] : nodes) Server.AddNode(node, cpus: 4, memoryMiB: 16384);
        Factory = new KubernetesHostRuntimeFactory(
            new KubernetesRuntimeOptions
            {
                Clusters = new() { [Name] = new KubernetesClusterOptions { Namespace = "dbprov" } },
                RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            },
            (_, _) => Server.Client(),
            timeProvider: time,
            readiness: new MySqlReadiness(time, TimeSpan.FromMilliseconds(20), AnswerAsync));
    }

    public FakeKubernetesApiServer Server { get; } = new();
    public KubernetesHostRuntimeFactory Factory { get; }

    public static HostConnection Host(string node = "node-a", string? hostId = null) =>
        new(hostId ?? node, new Uri($"k8s://{Name}/{node}"), "10.0.0.7", HostConnection.DefaultImage);

    public IHostRuntime Runtime(string node = "node-a") => Factory.For(Host(node));

    private Task AnswerAsync(string address, int port, InstanceCredentials credentials, CancellationToken cancellationToken)
    {
        var secrets = Server.Objects<V1Secret>("secrets").ToDictionary(s => s.Metadata.Name, s => Encoding.UTF8.GetString(s.Data[InstanceLayout.RootPasswordFile]));
        var answering = Server.Objects<V1Pod>("pods").Where(p => p.Spec.Containers[0].Ports[0].HostPort == port
            && p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true).ToList();
        if (answering.Count == 0) throw new IOException($"nothing answers on {address}:{port}");
        if (!answering.Any(p => secrets.GetValueOrDefault(p.Spec.Volumes.Single(v => v.Secret is not null).Secret.SecretName) == credentials.RootPassword))
            throw new IOException("access denied for root");
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        Factory.Dispose();
        Server.Dispose();
    }
}
