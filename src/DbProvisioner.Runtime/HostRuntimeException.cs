using DbProvisioner.Domain.Topology;

namespace DbProvisioner.Runtime;

/// <summary>Why an operation on a host failed, as a code that grains and the API can map.</summary>
public enum HostRuntimeErrorKind
{
    EngineUnavailable,
    EngineRejected,
    ImageMissing,
    DeviceNotFound,
    NotABlockDevice,
    DiskNotFormatted,
    CpuNotOnHost,
    MemoryNodeNotOnHost,
    PortInUse,
    InstanceConflict,
    InstanceFailed,
    InstanceNotReady,
    DiskNotInPool,
    EngineUntrusted,
}

/// <summary>
/// A failure on a host, with a message a DBA understands. Messages never carry secrets.
/// Only <see cref="EngineUnavailableException"/> is worth retrying later; the others need other input.
/// </summary>
public abstract class HostRuntimeException : Exception
{
    protected HostRuntimeException(HostRuntimeErrorKind kind, string hostId, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        HostId = hostId;
    }

    public HostRuntimeErrorKind Kind { get; }
    public string HostId { get; }

    /// <summary>A stable code for APIs and audit, e.g. "port-in-use".</summary>
    public string Code => Kind switch
    {
        HostRuntimeErrorKind.EngineUnavailable => "engine-unavailable",
        HostRuntimeErrorKind.EngineRejected => "engine-rejected",
        HostRuntimeErrorKind.ImageMissing => "image-missing",
        HostRuntimeErrorKind.DeviceNotFound => "device-not-found",
        HostRuntimeErrorKind.NotABlockDevice => "not-a-block-device",
        HostRuntimeErrorKind.DiskNotInPool => "disk-not-in-pool",
        HostRuntimeErrorKind.DiskNotFormatted => "disk-not-formatted",
        HostRuntimeErrorKind.CpuNotOnHost => "cpu-not-on-host",
        HostRuntimeErrorKind.MemoryNodeNotOnHost => "memory-node-not-on-host",
        HostRuntimeErrorKind.PortInUse => "port-in-use",
        HostRuntimeErrorKind.InstanceConflict => "instance-conflict",
        HostRuntimeErrorKind.InstanceFailed => "instance-failed",
        HostRuntimeErrorKind.InstanceNotReady => "instance-not-ready",
        HostRuntimeErrorKind.EngineUntrusted => "engine-untrusted",
        _ => "unknown",
    };
}

/// <summary>The host's container engine cannot be reached, keeps failing, or its circuit is open.</summary>
public sealed class EngineUnavailableException(string hostId, Exception? innerException = null)
    : HostRuntimeException(HostRuntimeErrorKind.EngineUnavailable, hostId, $"the container engine of host {hostId} does not answer", innerException);

/// <summary>The engine answered, but the TLS handshake failed (its certificate is not from the appliance's CA, or it refused ours): retrying cannot help.</summary>
public sealed class EngineUntrustedException(string hostId, string reason, Exception? innerException = null)
    : HostRuntimeException(HostRuntimeErrorKind.EngineUntrusted, hostId,
        $"the container engine of host {hostId} failed the TLS handshake ({reason}): its server certificate must be issued by the appliance's CA, and it must accept the appliance's client certificate",
        innerException);

/// <summary>The engine refused a request for a reason the runtime does not know more about.</summary>
public sealed class EngineRejectedException(string hostId, string what, string reason, Exception? innerException = null)
    : HostRuntimeException(HostRuntimeErrorKind.EngineRejected, hostId, $"the container engine of host {hostId} refused to {what}: {reason}", innerException);

public sealed class ImageMissingException(string hostId, string image, Exception? innerException = null)
    : HostRuntimeException(HostRuntimeErrorKind.ImageMissing, hostId, $"image {image} is not on host {hostId}", innerException)
{
    public string Image { get; } = image;
}

/// <summary>A disk that cannot be used: missing, not a block device, not the appliance's to format, or without a file system.</summary>
public sealed class DiskException : HostRuntimeException
{
    private DiskException(HostRuntimeErrorKind kind, string hostId, string device, string message, Exception? innerException)
        : base(kind, hostId, message, innerException) => Device = device;

    public string Device { get; }

    public static DiskException NotFound(string hostId, string device, Exception? inner = null) =>
        new(HostRuntimeErrorKind.DeviceNotFound, hostId, device, $"{device} does not exist on host {hostId}", inner);

    public static DiskException NotABlockDevice(string hostId, string device, Exception? inner = null) =>
        new(HostRuntimeErrorKind.NotABlockDevice, hostId, device, $"{device} is not a block device", inner);

    /// <summary>The device is not a disk-pool device the appliance may format (someone else's loop device, a partition…).</summary>
    public static DiskException NotInPool(string hostId, string device, string reason, Exception? inner = null) =>
        new(HostRuntimeErrorKind.DiskNotInPool, hostId, device, $"{device} on host {hostId} may not be formatted: {reason}", inner);

    public static DiskException NotFormatted(string hostId, string device, Exception? inner = null) =>
        new(HostRuntimeErrorKind.DiskNotFormatted, hostId, device, $"{device} on host {hostId} has no xfs file system: format it first", inner);
}

/// <summary>The instance asks for CPUs or NUMA nodes the host does not have.</summary>
public sealed class ResourceNotOnHostException : HostRuntimeException
{
    private ResourceNotOnHostException(HostRuntimeErrorKind kind, string hostId, CpuSet missing, string message, Exception? innerException)
        : base(kind, hostId, message, innerException) => Missing = missing;

    /// <summary>The CPU ids (or NUMA node ids) the host lacks.</summary>
    public CpuSet Missing { get; }

    public static ResourceNotOnHostException Cpus(string hostId, CpuSet missing, Exception? inner = null) =>
        new(HostRuntimeErrorKind.CpuNotOnHost, hostId, missing, $"{(missing.Count == 1 ? "CPU" : "CPUs")} {missing} {(missing.Count == 1 ? "does" : "do")} not exist on host {hostId}", inner);

    public static ResourceNotOnHostException MemoryNodes(string hostId, CpuSet missing, Exception? inner = null) =>
        new(HostRuntimeErrorKind.MemoryNodeNotOnHost, hostId, missing, $"NUMA {(missing.Count == 1 ? "node" : "nodes")} {missing} {(missing.Count == 1 ? "does" : "do")} not exist on host {hostId}", inner);
}

public sealed class PortInUseException(string hostId, int port, Exception? innerException = null)
    : HostRuntimeException(HostRuntimeErrorKind.PortInUse, hostId, $"port {port} is already in use on host {hostId}", innerException)
{
    public int Port { get; } = port;
}

/// <summary>An instance that did not come up, or whose name is taken by something else.</summary>
public sealed class InstanceException : HostRuntimeException
{
    private InstanceException(HostRuntimeErrorKind kind, string hostId, string instanceId, string message, Exception? innerException)
        : base(kind, hostId, message, innerException) => InstanceId = instanceId;

    public string InstanceId { get; }

    public static InstanceException NotReady(string hostId, string instanceId, TimeSpan deadline, string? lastError, Exception? inner = null) =>
        new(HostRuntimeErrorKind.InstanceNotReady, hostId, instanceId,
            $"instance {instanceId} on host {hostId} was not ready within {deadline.TotalSeconds:0} s{(lastError is null ? "" : $" (last error: {lastError})")}", inner);

    public static InstanceException Failed(string hostId, string instanceId, string reason) =>
        new(HostRuntimeErrorKind.InstanceFailed, hostId, instanceId, $"instance {instanceId} on host {hostId} failed to start: {reason}", null);

    public static InstanceException Conflict(string hostId, string instanceId, string reason) =>
        new(HostRuntimeErrorKind.InstanceConflict, hostId, instanceId, $"instance {instanceId} on host {hostId}: {reason}", null);
}
