using DbProvisioner.Api;
using static DbProvisioner.EndToEnd.Tests.Support.FleetSnapshot;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// The invariants a fleet at rest must hold, whatever faults it went through, checked from outside: the API's views
/// against each other and against the engine's real containers and volumes (read only), the audit trail against the
/// instances' steps, and MySQL itself. Each violation is one readable sentence; none means the fleet is sound.
/// </summary>
public static class FleetInvariants
{
    /// <summary>Every rule over the fleet, plus the audit trail and MySQL for <paramref name="focus"/> and every Ready instance.</summary>
    public static async Task<IReadOnlyList<string>> CheckAsync(E2eDeployment e2e, FleetSnapshot fleet, IEnumerable<string> focus)
    {
        var violations = new List<string>();
        violations.AddRange(Views(fleet));
        violations.AddRange(Hosts(fleet));
        violations.AddRange(Engine(fleet));
        var audited = focus.Concat(fleet.Live.Select(v => v.Id)).Distinct(StringComparer.Ordinal).Where(fleet.Details.ContainsKey);
        foreach (var id in audited)
        {
            violations.AddRange(await AuditInvariants.InstanceAsync(e2e, fleet.Details[id]));
        }

        foreach (var ready in fleet.Details.Values.Where(v => v.State == "Ready"))
        {
            violations.AddRange(await ReadyAsync(e2e, ready));
        }

        return violations;
    }

    /// <summary>Every instance settled; the list (the catalog) and the detail (the grain) agree; each step recorded once.</summary>
    public static IEnumerable<string> Views(FleetSnapshot fleet)
    {
        foreach (var id in fleet.NotFound)
        {
            yield return $"{id}: listed (or known) but GET /instances/{id} answers 404";
        }

        var listed = fleet.List.ToDictionary(i => i.Id, StringComparer.Ordinal);
        foreach (var summary in fleet.List.Where(i => !fleet.Details.ContainsKey(i.Id) && i.State is not ("Removed" or "Failed")))
        {
            yield return $"{summary.Id}: listed as {summary.State} but not fetched";
        }

        foreach (var view in fleet.Details.Values)
        {
            if (!Terminal.Contains(view.State))
            {
                yield return $"{view.Id}: did not settle, still {view.State} ({Last(view)})";
            }

            if (!listed.TryGetValue(view.Id, out var summary))
            {
                yield return $"{view.Id}: missing from GET /instances, while its detail says {view.State}";
            }
            else if (summary.State != view.State || summary.Host != view.Host)
            {
                yield return $"{view.Id}: GET /instances says {summary.State} on {summary.Host ?? "-"}, GET /instances/{view.Id} says {view.State} on {view.Host ?? "-"}";
            }

            foreach (var twice in view.Steps.GroupBy(s => s.Step).Where(g => g.Count() > 1))
            {
                yield return $"{view.Id}: step {twice.Key} recorded {twice.Count()} times";
            }

            if (view.Steps.Count == 0 || view.Steps[^1].Step != view.State)
            {
                yield return $"{view.Id}: state {view.State} but its last recorded step is {Last(view)}";
            }
        }
    }

    /// <summary>Each host holds CPUs, a port and a disk for exactly its live instances, each once, matching what they show.</summary>
    public static IEnumerable<string> Hosts(FleetSnapshot fleet)
    {
        foreach (var host in fleet.Hosts)
        {
            var live = fleet.Live.Where(v => v.Host == host.Id).ToDictionary(v => v.Id, StringComparer.Ordinal);
            foreach (var held in host.Instances)
            {
                if (!live.TryGetValue(held.Id, out var view))
                {
                    yield return $"{host.Id}: holds CPUs {held.Cpus} and port {held.Port} for {held.Id}, which is {StateOf(fleet, held.Id)}";
                    continue;
                }

                if (!E2eRequests.ParseCpuList(held.Cpus).SetEquals(E2eRequests.ParseCpuList(view.CpuSet)))
                {
                    yield return $"{host.Id}: holds CPUs {held.Cpus} for {held.Id}, whose cpu set is {view.CpuSet}";
                }

                if (held.Port != view.Endpoint?.Port)
                {
                    yield return $"{host.Id}: holds port {held.Port} for {held.Id}, whose endpoint port is {view.Endpoint?.Port}";
                }
            }

            foreach (var missing in live.Keys.Except(host.Instances.Select(i => i.Id), StringComparer.Ordinal))
            {
                yield return $"{host.Id}: {missing} is {live[missing].State} on this host, but the host holds nothing for it";
            }

            foreach (var cpu in host.Instances.SelectMany(i => E2eRequests.ParseCpuList(i.Cpus).Select(c => (Cpu: c, i.Id))).GroupBy(p => p.Cpu).Where(g => g.Count() > 1))
            {
                yield return $"{host.Id}: CPU {cpu.Key} held twice, by {string.Join(" and ", cpu.Select(p => p.Id))}";
            }

            foreach (var port in host.Instances.GroupBy(i => i.Port).Where(g => g.Count() > 1))
            {
                yield return $"{host.Id}: port {port.Key} held twice, by {string.Join(" and ", port.Select(i => i.Id))}";
            }

            foreach (var problem in Cores(fleet, host, live))
            {
                yield return problem;
            }

            foreach (var problem in Disks(fleet, host, live))
            {
                yield return problem;
            }
        }
    }

    /// <summary>On the engine: one running container and one volume per live instance, on its disk; nothing for others; no helpers.</summary>
    public static IEnumerable<string> Engine(FleetSnapshot fleet)
    {
        var instanceContainers = fleet.Containers.Where(c => c.Labels.ContainsKey(Labels.Instance)).ToList();
        foreach (var group in instanceContainers.GroupBy(c => c.Labels[Labels.Instance]))
        {
            var names = string.Join(", ", group.Select(c => $"{c.Names.FirstOrDefault()} ({c.State})"));
            if (group.Count() > 1)
            {
                yield return $"engine: {group.Count()} containers for {group.Key}: {names}";
            }

            if (!fleet.Details.TryGetValue(group.Key, out var view) || view.State is "Failed" or "Removed")
            {
                yield return $"engine: container {names} for {group.Key}, which is {StateOf(fleet, group.Key)}";
                continue;
            }

            foreach (var container in group)
            {
                if (Label(container, Labels.Host) != view.Host || Label(container, Labels.Disk) != view.Device)
                {
                    yield return $"engine: container of {view.Id} is on {Label(container, Labels.Host)}:{Label(container, Labels.Disk)}, the instance on {view.Host}:{view.Device}";
                }

                if (view.State == "Ready" && container.State != "running")
                {
                    yield return $"engine: {view.Id} is Ready but its container is {container.State} ({container.Status})";
                }
            }
        }

        foreach (var ready in fleet.Details.Values.Where(v => v.State == "Ready"))
        {
            if (!instanceContainers.Any(c => c.Labels[Labels.Instance] == ready.Id))
            {
                yield return $"engine: {ready.Id} is Ready but has no container";
            }

            if (!fleet.Volumes.Any(v => Label(v, Labels.Instance) == ready.Id))
            {
                yield return $"engine: {ready.Id} is Ready but has no data volume";
            }
        }

        foreach (var device in instanceContainers.GroupBy(c => (Host: Label(c, Labels.Host), Disk: Label(c, Labels.Disk))).Where(g => g.Count() > 1))
        {
            yield return $"engine: disk {device.Key.Host}:{device.Key.Disk} used by {string.Join(" and ", device.Select(c => c.Names.FirstOrDefault()))}";
        }

        foreach (var volumes in fleet.Volumes.Where(v => v.Labels.ContainsKey(Labels.Instance)).GroupBy(v => v.Labels[Labels.Instance]))
        {
            if (!fleet.Details.TryGetValue(volumes.Key, out var view) || view.State is "Failed" or "Removed")
            {
                yield return $"engine: volume {string.Join(", ", volumes.Select(v => v.Name))} for {volumes.Key}, which is {StateOf(fleet, volumes.Key)}";
            }
            else if (volumes.Count() > 1)
            {
                yield return $"engine: {volumes.Count()} volumes for {volumes.Key}: {string.Join(", ", volumes.Select(v => v.Name))}";
            }
        }

        foreach (var helper in fleet.Helpers)
        {
            yield return $"engine: helper container {helper.Names.FirstOrDefault()} ({helper.Labels[Labels.Helper]}, {helper.State}) left behind";
        }

        foreach (var helper in fleet.Volumes.Where(v => v.Labels.ContainsKey(Labels.Helper)))
        {
            yield return $"engine: helper volume {helper.Name} left behind";
        }

        foreach (var stray in fleet.Containers.Where(c => !c.Labels.ContainsKey(Labels.Instance) && !c.Labels.ContainsKey(Labels.Helper)))
        {
            yield return $"engine: container {stray.Names.FirstOrDefault()} is ours but neither an instance nor a helper";
        }
    }

    /// <summary>A Ready instance answers SELECT 1 with its credentials, on the CPUs it shows.</summary>
    public static async Task<IReadOnlyList<string>> ReadyAsync(E2eDeployment e2e, InstanceView ready)
    {
        var problems = new List<string>();
        try
        {
            var credentials = await e2e.Admin.GetOrThrowAsync<CredentialsView>($"instances/{ready.Id}/credentials");
            if (await E2eRequests.SelectOneAsync(credentials) != 1)
            {
                problems.Add($"{ready.Id}: Ready but SELECT 1 did not answer 1");
            }
        }
        catch (Exception e) when (e is MySqlConnector.MySqlException or HttpRequestException or InvalidOperationException)
        {
            problems.Add($"{ready.Id}: Ready but SELECT 1 with its credentials failed: {e.Message}");
        }

        try
        {
            var container = await e2e.Docker.InspectAsync(ready.Id);
            if (!E2eRequests.ParseCpuList(container.HostConfig?.CpusetCpus).SetEquals(E2eRequests.ParseCpuList(ready.CpuSet)))
            {
                problems.Add($"{ready.Id}: its container runs on CPUs {container.HostConfig?.CpusetCpus}, the instance shows {ready.CpuSet}");
            }
        }
        catch (Docker.DotNet.DockerContainerNotFoundException)
        {
            // Reported by the engine rules.
        }

        return problems;
    }

    private static IEnumerable<string> Cores(FleetSnapshot fleet, HostView host, IReadOnlyDictionary<string, InstanceView> live)
    {
        var cores = host.NumaNodes.SelectMany(n => n.Cores).ToList();
        foreach (var core in cores.Where(c => c.Instance is not null))
        {
            if (core.Reserved)
            {
                yield return $"{host.Id}: reserved core {core.Core} is assigned to {core.Instance}";
            }

            if (!live.ContainsKey(core.Instance!))
            {
                yield return $"{host.Id}: core {core.Core} (CPUs {core.Cpus}) assigned to {core.Instance}, which is {StateOf(fleet, core.Instance!)}";
            }
        }

        foreach (var view in live.Values)
        {
            var onCores = cores.Where(c => c.Instance == view.Id).SelectMany(c => E2eRequests.ParseCpuList(c.Cpus)).ToHashSet();
            if (!onCores.SetEquals(E2eRequests.ParseCpuList(view.CpuSet)))
            {
                yield return $"{host.Id}: the CPU map gives {view.Id} CPUs [{string.Join(',', onCores.Order())}], the instance shows {view.CpuSet}";
            }
        }
    }

    private static IEnumerable<string> Disks(FleetSnapshot fleet, HostView host, IReadOnlyDictionary<string, InstanceView> live)
    {
        var registered = E2eLayout.Hosts.Single(h => h.Id == host.Id).Devices;
        if (!host.Disks.Select(d => d.Device).Order(StringComparer.Ordinal).SequenceEqual(registered.Order(StringComparer.Ordinal)))
        {
            yield return $"{host.Id}: disks {string.Join(",", host.Disks.Select(d => d.Device))}, registered {string.Join(",", registered)}";
        }

        foreach (var disk in host.Disks)
        {
            if (disk.State is not ("Ready" or "Claimed"))
            {
                yield return $"{host.Id}: disk {disk.Device} is {disk.State} at rest";
            }

            if (disk.ClaimedBy is { } owner && !live.ContainsKey(owner))
            {
                yield return $"{host.Id}: disk {disk.Device} ({disk.State}) claimed by {owner}, which is {StateOf(fleet, owner)}";
            }

            if ((disk.State == "Claimed") != (disk.ClaimedBy is not null))
            {
                yield return $"{host.Id}: disk {disk.Device} is {disk.State}, claimed by {disk.ClaimedBy ?? "nobody"}";
            }
        }

        foreach (var view in live.Values)
        {
            var claimed = host.Disks.Where(d => d.ClaimedBy == view.Id).ToList();
            if (claimed.Count != 1 || claimed[0].Device != view.Device || claimed[0].Id != view.Disk)
            {
                yield return $"{host.Id}: {view.Id} shows disk {view.Disk} ({view.Device}); the host has it claiming [{string.Join(",", claimed.Select(d => $"{d.Id} {d.Device} {d.State}"))}]";
            }
        }
    }

    private static string? Label(Docker.DotNet.Models.ContainerListResponse container, string key) =>
        container.Labels.TryGetValue(key, out var value) ? value : null;

    private static string? Label(Docker.DotNet.Models.VolumeResponse volume, string key) =>
        volume.Labels.TryGetValue(key, out var value) ? value : null;

    private static string StateOf(FleetSnapshot fleet, string id) =>
        fleet.Details.TryGetValue(id, out var view) ? view.State : fleet.List.FirstOrDefault(i => i.Id == id)?.State ?? "unknown to the API";

    private static string Last(InstanceView view) => view.Steps.Count == 0 ? "none" : $"{view.Steps[^1].Step}: {view.Steps[^1].Outcome}";
}
