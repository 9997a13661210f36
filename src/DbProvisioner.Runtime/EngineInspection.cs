using DbProvisioner.Domain.Hosts;

namespace DbProvisioner.Runtime;

/// <summary>What one engine runs for the appliance, read for an inspection: instance containers with their limits, data volumes with their devices.</summary>
public sealed record EngineInspection(IReadOnlyList<InspectedContainer> Containers, IReadOnlyList<InspectedVolume> Volumes);
