using System.Net;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>
/// The API client of one cluster and the one resilience pipeline its calls run through (retries with jitter on
/// transient failures only, a circuit for the whole cluster, a timeout per attempt). Every node of the cluster shares
/// them: an API server that does not answer is one fault, not one per node.
/// </summary>
internal sealed class KubernetesCluster : IDisposable
{
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _circuit = new();

    public KubernetesCluster(string name, KubernetesClusterOptions cluster, IKubernetes client, KubernetesRuntimeOptions options, ILogger logger, TimeProvider time)
    {
        Name = name;
        Namespace = cluster.Namespace;
        Client = client;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .RetryThenBreak(IsTransient,
                new CallPolicy(options.MaxRetryAttempts, options.RetryBaseDelay, options.CircuitMinimumThroughput, options.CircuitBreakDuration),
                _circuit,
                (error, attempt, delay) => logger.LogWarning("API call to cluster {Cluster} failed ({Error}); retry {Attempt} in {Delay}", name, error, attempt, delay))
            .AddTimeout(options.CallTimeout)
            .Build();
    }

    public string Name { get; }
    public string Namespace { get; }
    public IKubernetes Client { get; }
    public bool CircuitOpen => _circuit.CircuitState is CircuitState.Open or CircuitState.Isolated;

    /// <summary>One API call through the pipeline; an API server that does not answer becomes <see cref="EngineUnavailableException"/> of <paramref name="hostId"/>.</summary>
    public async Task<T> CallAsync<T>(string hostId, Func<IKubernetes, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(async ct => await call(Client, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BrokenCircuitException || IsTransient(e))
        {
            throw new EngineUnavailableException(hostId, e);
        }
    }

    /// <summary>The object, or null when the API server answers 404.</summary>
    public async Task<T?> TryReadAsync<T>(string hostId, Func<IKubernetes, CancellationToken, Task<T>> read, CancellationToken cancellationToken) where T : class
    {
        try
        {
            return await CallAsync(hostId, read, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (StatusOf(e) == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Creates the object; one that exists already (a retry, a resumed step) is read back for the caller to compare.</summary>
    public async Task<T> CreateOrReadAsync<T>(string hostId, Func<IKubernetes, CancellationToken, Task<T>> create, Func<IKubernetes, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync(hostId, create, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (StatusOf(e) == HttpStatusCode.Conflict)
        {
            return await CallAsync(hostId, read, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the object; one that is gone already is fine.</summary>
    public async Task DeleteAsync(string hostId, Func<IKubernetes, CancellationToken, Task> delete, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync(hostId, async (k, ct) => { await delete(k, ct).ConfigureAwait(false); return true; }, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (StatusOf(e) == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
    }

    public static HttpStatusCode? StatusOf(Exception e) => e is HttpOperationException { Response: { } r } ? r.StatusCode : null;

    /// <summary>What the API server said, for a DBA: its Status message when it sent one.</summary>
    public static string MessageOf(HttpOperationException e)
    {
        var body = e.Response?.Content;
        if (!string.IsNullOrEmpty(body))
        {
            try
            {
                var status = KubernetesJson.Deserialize<k8s.Models.V1Status>(body);
                if (!string.IsNullOrEmpty(status?.Message)) return status.Message;
            }
            catch (System.Text.Json.JsonException)
            {
                // Not a Status: the status code says enough.
            }
        }
        return $"the API server answered {(int?)e.Response?.StatusCode}";
    }

    /// <summary>Worth a retry: no answer, a timeout, or the API server saying it is busy or failing (429, 5xx).</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        HttpRequestException or TimeoutRejectedException or IOException => true,
        HttpOperationException op => StatusOf(op) is HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError,
        _ => false,
    };

    public void Dispose() => Client.Dispose();
}
