using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// The instance image on one host: whether the engine holds it, and a pull from the appliance's registry
/// (<see cref="DockerRuntimeOptions.Registry"/>) tagged with the name instances and helpers run.
/// </summary>
internal sealed class DockerImages(DockerEngine engine, HostConnection host, DockerRuntimeOptions options, ILogger logger)
{
    public async Task<bool> HasAsync(CancellationToken cancellationToken)
    {
        try
        {
            await engine.CallAsync((d, ct) => d.Images.InspectImageAsync(host.Image, ct), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
        catch (DockerApiException e) when (DockerErrors.IsNotFound(e))
        {
            return false;
        }
        catch (DockerApiException e)
        {
            throw DockerErrors.Translate(host.HostId, "say whether it holds image " + host.Image, e);
        }
    }

    public async Task EnsureAsync(IProgress<ImagePull> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (await HasAsync(cancellationToken).ConfigureAwait(false)) return;

        var (repository, tag) = Split(host.Image);
        var source = options.Registry is { Length: > 0 } registry ? $"{registry.TrimEnd('/')}/{repository}" : repository;
        logger.LogInformation("Host {HostId} pulls {Source}:{Tag}", host.HostId, source, tag);
        var layers = new LayerProgress(progress);
        try
        {
            await engine.CallAsync((d, ct) => d.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = source, Tag = tag }, null, layers, ct),
                cancellationToken, waitsForWork: true).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw new EngineRejectedException(host.HostId, $"pull {source}:{tag}", DockerErrors.MessageOf(e), e);
        }
        // The engine reports a failed pull (unknown tag, registry away) inside the stream, not as an HTTP error.
        if (layers.Error is { } error) throw new EngineRejectedException(host.HostId, $"pull {source}:{tag}", error);
        if (source == repository) return;

        try
        {
            await engine.CallAsync((d, ct) => d.Images.TagImageAsync($"{source}:{tag}", new ImageTagParameters { RepositoryName = repository, Tag = tag }, ct),
                cancellationToken).ConfigureAwait(false);
            // The registry's name is only the way in: the engine keeps the one name instances run, as fleet.sh leaves it.
            await engine.CallAsync((d, ct) => d.Images.DeleteImageAsync($"{source}:{tag}", new ImageDeleteParameters(), ct), cancellationToken).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw new EngineRejectedException(host.HostId, $"tag {source}:{tag} as {host.Image}", DockerErrors.MessageOf(e), e);
        }
    }

    private static (string Repository, string Tag) Split(string image)
    {
        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    /// <summary>Sums the engine's per-layer messages into bytes done of bytes known; keeps the first error the stream carries.</summary>
    private sealed class LayerProgress(IProgress<ImagePull> progress) : IProgress<JSONMessage>
    {
        private readonly Dictionary<string, (long Done, long Total)> _layers = new(StringComparer.Ordinal);

        public string? Error { get; private set; }

        public void Report(JSONMessage value)
        {
            if (value.Error?.Message is { Length: > 0 } error) Error ??= error;
            if (string.IsNullOrEmpty(value.ID) || value.Status is null) return;

            _layers.TryGetValue(value.ID, out var layer);
            if (value.Status.StartsWith("Downloading", StringComparison.Ordinal) && value.Progress is { Total: > 0 and { } layerTotal } p)
                layer = (p.Current ?? 0, layerTotal);
            else if (value.Status is "Download complete" or "Pull complete" or "Already exists" or "Verifying Checksum")
                layer = (layer.Total, layer.Total);
            else if (!_layers.ContainsKey(value.ID)) layer = (0, 0);
            else return;
            _layers[value.ID] = layer;

            long done = 0, total = 0;
            foreach (var (d, t) in _layers.Values)
            {
                done += d;
                total += t;
            }
            progress.Report(new ImagePull(done, total));
        }
    }
}
