using DbProvisioner.Runtime;
using DbProvisioner.Domain.Hosts;
using Docker.DotNet.Models;

namespace DbProvisioner.Runtime.Docker;

/// <summary>Reads, for an inspection, what the engine really applies to each instance container (its HostConfig) and where each data volume lives.</summary>
internal static class EngineInspector
{
    public static async Task<EngineInspection> InspectAsync(DockerEngine engine, CancellationToken cancellationToken)
    {
        var listed = await engine.ListOwnedVolumesAsync(cancellationToken).ConfigureAwait(false);
        var volumes = (listed.Volumes ?? [])
            .Where(static v => Label(v.Labels, OwnershipLabels.Helper) is null && Label(v.Labels, OwnershipLabels.Instance) is not null)
            .Select(static v => new InspectedVolume(v.Name, Label(v.Labels, OwnershipLabels.Instance)!, Label(v.Options, "device")))
            .ToList();
        var deviceOf = volumes.ToDictionary(static v => v.Name, static v => v.Device, StringComparer.Ordinal);

        var containers = new List<InspectedContainer>();
        foreach (var listedContainer in await engine.ListOwnedContainersAsync(cancellationToken).ConfigureAwait(false))
        {
            if (Label(listedContainer.Labels, OwnershipLabels.Helper) is not null || Label(listedContainer.Labels, OwnershipLabels.Instance) is not { } instanceId) continue;
            // The list does not carry HostConfig's limits; one inspect per instance container does (a host holds few).
            var c = await engine.TryInspectAsync(listedContainer.ID, cancellationToken).ConfigureAwait(false);
            if (c is null) continue; // removed between the list and the inspect
            var data = c.Mounts?.FirstOrDefault(static m => m.Destination == InstanceLayout.DataDir);
            var device = data?.Name is { } volume && deviceOf.TryGetValue(volume, out var onDevice) ? onDevice : null;
            var hc = c.HostConfig ?? new HostConfig();
            containers.Add(new InspectedContainer(c.Name.TrimStart('/'), instanceId, c.State?.Running ?? false,
                hc.CpusetCpus ?? "", hc.CpusetMems ?? "", hc.Memory, hc.MemorySwap, RestartPolicyName(hc.RestartPolicy), device));
        }
        return new EngineInspection(containers, volumes);
    }

    /// <summary>The engine's own word for the policy (docker inspect shows the same).</summary>
    internal static string RestartPolicyName(RestartPolicy? policy) => policy?.Name switch
    {
        RestartPolicyKind.UnlessStopped => "unless-stopped",
        RestartPolicyKind.Always => "always",
        RestartPolicyKind.OnFailure => "on-failure",
        RestartPolicyKind.No => "no",
        _ => "",
    };

    private static string? Label(IDictionary<string, string>? labels, string key) =>
        labels is not null && labels.TryGetValue(key, out var value) && !string.IsNullOrEmpty(value) ? value : null;
}
