using DbProvisioner.Domain.Topology;
using Docker.DotNet.Models;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// What the engine is asked to create, as a pure function of the request: an instance's container and data volume,
/// a helper's container, a disk's short-lived volume. No engine call, so every field is table-tested.
/// </summary>
internal static class ContainerParameters
{
    /// <summary>
    /// The container of one instance (DESIGN.md: exact cpuset, NUMA mems, memory + swap, host network on its port,
    /// unless-stopped, non-root, no capabilities, the data volume at the data directory). Passwords are not here:
    /// the environment names the files they are uploaded to.
    /// </summary>
    /// <exception cref="ArgumentException">The spec cannot describe a container, or its sizes cannot be engine limits.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A port below 1024, which a non-root mysqld cannot bind.</exception>
    public static CreateContainerParameters ForInstance(HostConnection host, InstanceContainerSpec spec, TimeSpan stopTimeout)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var limits = ContainerLimits.Of(spec.MemoryMiB, spec.SwapMiB, spec.Swappiness);
        if (spec.Port < 1024) throw new ArgumentOutOfRangeException(nameof(spec), spec.Port, "a non-root mysqld needs a port from 1024 up");

        return new CreateContainerParameters
        {
            Name = ResourceNames.Container(spec.InstanceId),
            Image = host.Image,
            // mysqld runs as mysql from its first instruction: the entrypoint's root path is never taken.
            User = "mysql",
            Cmd = ["mysqld", $"--port={spec.Port}"],
            Env = Environment(spec.Credentials),
            Labels = OwnershipLabels.ForInstance(host.HostId, spec),
            StopTimeout = stopTimeout,
            HostConfig = new HostConfig
            {
                NetworkMode = "host",
                CpusetCpus = spec.Cpus.ToString(),
                CpusetMems = spec.MemoryNodes.Count == 0 ? "" : CpuSet.Of(spec.MemoryNodes).ToString(),
                Memory = limits.MemoryBytes,
                MemorySwap = limits.MemorySwapBytes,
                MemorySwappiness = limits.Swappiness,
                RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.UnlessStopped },
                // A non-root mysqld on a port >= 1024 with its data owned by mysql needs no capability:
                // binding, reading its files and O_DIRECT I/O are all plain user rights.
                CapDrop = ["ALL"],
                SecurityOpt = ["no-new-privileges"],
                Mounts = [new Mount { Type = "volume", Source = ResourceNames.DataVolume(spec.InstanceId), Target = InstanceLayout.DataDir }],
                LogConfig = new LogConfig
                {
                    Type = "json-file",
                    Config = new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" },
                },
            },
        };
    }

    /// <summary>The image entrypoint's variables (official MySQL image conventions): names and file paths, never a password.</summary>
    public static IList<string> Environment(InstanceCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var env = new List<string> { $"MYSQL_ROOT_PASSWORD_FILE={InstanceLayout.SecretsDir}/{InstanceLayout.RootPasswordFile}" };
        if (credentials.Database is { } db) env.Add($"MYSQL_DATABASE={db}");
        if (credentials.User is { } user)
        {
            env.Add($"MYSQL_USER={user}");
            env.Add($"MYSQL_PASSWORD_FILE={InstanceLayout.SecretsDir}/{InstanceLayout.UserPasswordFile}");
        }
        return env;
    }

    /// <summary>The instance's data volume: a Docker <c>local</c> volume of type xfs backed by its claimed disk.</summary>
    public static VolumesCreateParameters ForDataVolume(HostConnection host, InstanceContainerSpec spec)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(spec);
        return DiskVolume(ResourceNames.DataVolume(spec.InstanceId), spec.Device, OwnershipLabels.ForInstance(host.HostId, spec));
    }

    /// <summary>A short-lived volume on <paramref name="device"/>, mounted by a helper the way an instance mounts its data volume.</summary>
    public static VolumesCreateParameters ForHelperVolume(string hostId, string name, string purpose, string device) =>
        DiskVolume(name, device, OwnershipLabels.ForHelper(hostId, purpose, device));

    /// <summary>
    /// A helper runs from the instance image (its entrypoint runs any command other than mysqld/seed/prepare as it is)
    /// with nothing but what it needs: no network (unless asked), all capabilities dropped but the listed ones, a
    /// read-only root, the disk (if any) at <see cref="InstanceLayout.HelperDevice"/>, the volume (if any) at the data directory.
    /// </summary>
    public static CreateContainerParameters ForHelper(HostConnection host, HelperSpec helper, string name)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(helper);
        return new CreateContainerParameters
        {
            Name = name,
            Image = host.Image,
            User = helper.User,
            Cmd = helper.Command,
            Env = helper.Env,
            Labels = OwnershipLabels.ForHelper(host.HostId, helper.Purpose, helper.Device),
            HostConfig = new HostConfig
            {
                NetworkMode = helper.HostNetwork ? "host" : "none",
                CapDrop = ["ALL"],
                CapAdd = helper.CapAdd,
                SecurityOpt = ["no-new-privileges"],
                ReadonlyRootfs = helper.ReadOnlyRootfs,
                Devices = helper.Device is null ? [] : [new DeviceMapping { PathOnHost = helper.Device, PathInContainer = InstanceLayout.HelperDevice, CgroupPermissions = "rwm" }],
                Mounts = helper.Volume is null ? [] : [new Mount { Type = "volume", Source = helper.Volume, Target = InstanceLayout.DataDir, ReadOnly = helper.VolumeReadOnly }],
            },
        };
    }

    private static VolumesCreateParameters DiskVolume(string name, string device, IDictionary<string, string> labels) => new()
    {
        Name = name,
        Driver = "local",
        DriverOpts = new Dictionary<string, string> { ["type"] = "xfs", ["device"] = device },
        Labels = labels,
    };
}
