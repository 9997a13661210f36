using DbProvisioner.Api;
using DbProvisioner.Domain.Config;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Runtime;

namespace DbProvisioner.Grains;

/// <summary>
/// The container an instance runs in, from what was asked and what its host reserved (DESIGN.md "Provisioning, step
/// by step"): the reserved CPUs, memory bound to their NUMA node unless the policy interleaves, memory + swap, the
/// reserved port and disk, a generated my.cnf, and labels naming its cluster, shard and role. Pure.
/// </summary>
public static class InstanceContainers
{
    public static InstanceContainerSpec For(string instanceId, InstanceSpec spec, HostReservation reservation, InstanceCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(reservation);
        var myCnf = MyCnf.Render(new MyCnfSpec(spec.MemoryMiB, spec.Numa, Mapping.ServerIdOf(instanceId), reservation.Port));
        var labels = new Dictionary<string, string>
        {
            ["dbprov.cluster"] = spec.Cluster,
            ["dbprov.shard"] = spec.Shard,
            ["dbprov.role"] = spec.Role,
        };
        return new InstanceContainerSpec(instanceId, reservation.Disk.DevicePath, reservation.Cpu.Cpus, reservation.Cpu.MemoryNodes(), spec.MemoryMiB,
            spec.SwapMiB, spec.Swappiness, reservation.Port, myCnf, credentials, labels);
    }
}
