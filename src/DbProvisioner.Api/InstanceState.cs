using System.Text.Json.Serialization;
using Orleans;

namespace DbProvisioner.Api;

/// <summary>
/// An instance's state as the API shows it (DESIGN.md "Provisioning, step by step" and "Scale-down,
/// step by step"): the provisioning steps, then, after an approved scale-down, the removal steps.
/// </summary>
[GenerateSerializer, JsonConverter(typeof(DeclaredNames<InstanceState>))]
public enum InstanceState
{
    Requested,
    Placed,
    DiskAttached,
    ContainerStarted,
    Ready,
    Failed,
    Draining,
    Drained,
    ContainerRemoved,
    ResourcesFreed,
    Removed,
}
