using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>
/// Waits for one named object to reach a state by watching it from the resourceVersion of a read, never by polling.
/// A watch the server ends (its timeout) or refuses as too old (410 Gone) restarts from a fresh read.
/// </summary>
internal static class KubernetesWatch
{
    /// <param name="read">Reads the object (null when it does not exist) through the cluster's pipeline.</param>
    /// <param name="watch">Opens a watch of the object from a resourceVersion.</param>
    /// <param name="done">True when the object (null: deleted) is where the caller waits for it; may throw to end the wait with a reason.</param>
    /// <returns>The object in the state that ended the wait (null when deleted).</returns>
    public static async Task<T?> UntilAsync<T>(
        Func<CancellationToken, Task<T?>> read,
        Func<string, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Item)>> watch,
        Func<T?, bool> done,
        CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        while (true)
        {
            var current = await read(cancellationToken).ConfigureAwait(false);
            if (done(current)) return current;
            if (current is null) throw new InvalidOperationException("cannot watch an object that does not exist");
            try
            {
                await foreach (var (type, item) in watch(current.Metadata.ResourceVersion, cancellationToken).ConfigureAwait(false))
                {
                    if (type == WatchEventType.Deleted)
                    {
                        if (done(null)) return null;
                        continue;
                    }
                    if (type is WatchEventType.Added or WatchEventType.Modified && done(item)) return item;
                }
            }
            catch (HttpOperationException e) when (KubernetesCluster.StatusOf(e) == HttpStatusCode.Gone)
            {
                // Too old a resourceVersion: read again below.
            }
            catch (Exception e) when (KubernetesCluster.IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                // A dropped stream: the read below goes through the pipeline and says whether the API server is away.
            }
            // The stream ended (server timeout, an ERROR event such as 410 Gone, a closed connection): read again, watch from there.
        }
    }
}
