using System.Net;
using DbProvisioner.Api;
using Docker.DotNet.Models;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// The fleet as an outside observer sees it at one moment: the instance list and every instance's detail from the
/// API, every host view, and the engine's owned containers and volumes (read only). Not atomic: meaningful once
/// the fleet is at rest.
/// </summary>
public sealed record FleetSnapshot(
    IReadOnlyList<InstanceSummary> List,
    IReadOnlyDictionary<string, InstanceView> Details,
    IReadOnlyList<string> NotFound,
    IReadOnlyList<HostView> Hosts,
    IReadOnlyList<ContainerListResponse> Containers,
    IReadOnlyList<VolumeResponse> Volumes)
{
    public static readonly IReadOnlySet<string> Terminal = new HashSet<string>(StringComparer.Ordinal) { "Ready", "Failed", "Removed" };

    /// <summary>
    /// Takes a snapshot; <paramref name="alsoIds"/> are instances the caller knows of, listed or not. Listed instances
    /// in <paramref name="retired"/> (Removed or Failed, checked before) are not fetched again while the list still
    /// says Removed or Failed, so a snapshot stays cheap as the fleet's history grows.
    /// </summary>
    public static async Task<FleetSnapshot> TakeAsync(E2eDeployment e2e, IEnumerable<string> alsoIds, IReadOnlySet<string>? retired = null)
    {
        var list = await e2e.Admin.GetOrThrowAsync<IReadOnlyList<InstanceSummary>>("instances");
        var skipped = list.Where(i => i.State is "Removed" or "Failed" && (retired?.Contains(i.Id) ?? false)).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        var ids = list.Select(i => i.Id).Concat(alsoIds).Distinct(StringComparer.Ordinal).Where(id => !skipped.Contains(id)).Order(StringComparer.Ordinal).ToList();
        var details = new Dictionary<string, InstanceView>(StringComparer.Ordinal);
        var notFound = new List<string>();
        foreach (var id in ids)
        {
            using var response = await e2e.Admin.GetAsync($"instances/{id}");
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                notFound.Add(id);
                continue;
            }

            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new HttpRequestException($"GET instances/{id} answered {(int)response.StatusCode}: {body}", null, response.StatusCode);
            }

            details[id] = System.Text.Json.JsonSerializer.Deserialize<InstanceView>(body, ApiClient.Json)!;
        }

        var hosts = await Task.WhenAll(E2eLayout.Hosts.Select(h => e2e.Admin.GetOrThrowAsync<HostView>($"hosts/{h.Id}")));
        var containers = await e2e.Docker.OwnedContainersAsync();
        var volumes = await e2e.Docker.OwnedVolumesAsync();
        return new FleetSnapshot(list, details, notFound, hosts, containers, volumes);
    }

    /// <summary>Instances that hold (or should hold) resources: every one not Failed or Removed.</summary>
    public IEnumerable<InstanceView> Live => Details.Values.Where(v => v.State is not ("Failed" or "Removed"));

    public IEnumerable<ContainerListResponse> Helpers => Containers.Where(c => c.Labels.ContainsKey(Labels.Helper));

    /// <summary>Why the fleet is not at rest yet (empty when it is): unfinished instances, a list behind the details, disk work, helpers.</summary>
    public IReadOnlyList<string> Unsettled(IEnumerable<string> ids)
    {
        var reasons = new List<string>();
        foreach (var id in ids)
        {
            if (!Details.TryGetValue(id, out var view))
            {
                reasons.Add($"{id} not found");
            }
            else if (!Terminal.Contains(view.State))
            {
                reasons.Add($"{id} is {view.State}");
            }
            else if (List.FirstOrDefault(i => i.Id == id) is { } listed && listed.State != view.State)
            {
                // The list is the catalog, written after the instance's own state: it catches up, and must.
                reasons.Add($"{id} is {view.State}, the list still says {listed.State}");
            }
        }

        foreach (var host in Hosts)
        {
            reasons.AddRange(host.Disks.Where(d => d.State is "Releasing" or "Formatting" or "Discovered")
                .Select(d => $"{host.Id}:{d.Device} is {d.State}"));
            reasons.AddRange(host.Instances.Where(i => Details.TryGetValue(i.Id, out var v) && v.State == "Failed")
                .Select(i => $"{host.Id} still holds Failed {i.Id}"));
        }

        reasons.AddRange(Helpers.Select(c => $"helper {c.Names.FirstOrDefault()} ({c.State})"));
        return reasons;
    }

    /// <summary>Everything that moves while the fleet works: instance states and versions, disk states, holdings, helpers.</summary>
    public string Fingerprint() => string.Join("|",
        Details.Values.Select(v => $"{v.Id}:{v.State}:{v.Version}")
            .Concat(Hosts.SelectMany(h => h.Disks.Select(d => $"{h.Id}:{d.Device}:{d.State}:{d.ClaimedBy}")))
            .Concat(Hosts.SelectMany(h => h.Instances.Select(i => $"{h.Id}:{i.Id}")))
            .Concat(Containers.Select(c => $"{c.ID}:{c.State}")));

    /// <summary>The labels the appliance puts on what it makes (OwnershipLabels in the runtime).</summary>
    public static class Labels
    {
        public const string Host = "dbprov.host";
        public const string Instance = "dbprov.instance";
        public const string Disk = "dbprov.disk";
        public const string Port = "dbprov.port";
        public const string Helper = "dbprov.helper";
    }
}
