using DbProvisioner.Api;

namespace DbProvisioner.Contracts;

// Between the API's stored records and their surrogates (ApiSurrogates.cs): enums as the names they were stored under.

[RegisterConverter]
public sealed class PortRangeSpecConverter : IConverter<PortRangeSpec, PortRangeSpecSurrogate>
{
    public PortRangeSpec ConvertFromSurrogate(in PortRangeSpecSurrogate s) => new(s.First, s.Last);
    public PortRangeSpecSurrogate ConvertToSurrogate(in PortRangeSpec v) => new(v.First, v.Last);
}

[RegisterConverter]
public sealed class DiskSpecConverter : IConverter<DiskSpec, DiskSpecSurrogate>
{
    public DiskSpec ConvertFromSurrogate(in DiskSpecSurrogate s) => new(s.Device, s.SizeGiB, s.Class, s.Id);
    public DiskSpecSurrogate ConvertToSurrogate(in DiskSpec v) => new(v.Device, v.SizeGiB, v.Class, v.Id);
}

[RegisterConverter]
public sealed class TopologySpecConverter : IConverter<TopologySpec, TopologySpecSurrogate>
{
    public TopologySpec ConvertFromSurrogate(in TopologySpecSurrogate s) => new(s.NumaNodes, s.CoresPerNode, s.ThreadsPerCore, s.MemoryMiBPerNode);
    public TopologySpecSurrogate ConvertToSurrogate(in TopologySpec v) => new(v.NumaNodes, v.CoresPerNode, v.ThreadsPerCore, v.MemoryMiBPerNode);
}

[RegisterConverter]
public sealed class WatermarkSpecConverter : IConverter<WatermarkSpec, WatermarkSpecSurrogate>
{
    public WatermarkSpec ConvertFromSurrogate(in WatermarkSpecSurrogate s) => new(s.Class, s.MinReady, s.MinSeeded);
    public WatermarkSpecSurrogate ConvertToSurrogate(in WatermarkSpec v) => new(v.Class, v.MinReady, v.MinSeeded);
}

[RegisterConverter]
public sealed class RegisterHostRequestConverter : IConverter<RegisterHostRequest, RegisterHostRequestSurrogate>
{
    public RegisterHostRequest ConvertFromSurrogate(in RegisterHostRequestSurrogate s) =>
        new(s.Id, s.EngineEndpoint, s.Zone, s.Rack, s.Pool, s.Disks, s.ReservedCpus, s.Ports, s.MySqlAddress, s.Labels, s.Topology, s.Watermarks, s.SwapMiB);

    public RegisterHostRequestSurrogate ConvertToSurrogate(in RegisterHostRequest v) =>
        new(v.Id, v.EngineEndpoint, v.Zone, v.Rack, v.Pool, v.Disks, v.ReservedCpus, v.Ports, v.MySqlAddress, v.Labels, v.Topology, v.Watermarks, v.SwapMiB);
}

[RegisterConverter]
public sealed class HostSummaryConverter : IConverter<HostSummary, HostSummarySurrogate>
{
    public HostSummary ConvertFromSurrogate(in HostSummarySurrogate s) =>
        new(s.Id, s.Pool, s.Zone, s.Rack, s.Cordoned, s.FreeCores, s.TotalCores, s.ReadyDisks, !s.Unhealthy, s.LastSeen, s.Reason, s.Image);
    public HostSummarySurrogate ConvertToSurrogate(in HostSummary v) =>
        new(v.Id, v.Pool, v.Zone, v.Rack, v.Cordoned, v.FreeCores, v.TotalCores, v.ReadyDisks, !v.Healthy, v.LastSeen, v.Reason, v.Image);
}

[RegisterConverter]
public sealed class HostImageViewConverter : IConverter<HostImageView, HostImageViewSurrogate>
{
    public HostImageView ConvertFromSurrogate(in HostImageViewSurrogate s) =>
        new(WireName.Parse<ImageState>(s.State), s.Percent, s.BytesDone, s.BytesTotal, s.Error, s.At);
    public HostImageViewSurrogate ConvertToSurrogate(in HostImageView v) =>
        new(WireName.Of(v.State), v.Percent, v.BytesDone, v.BytesTotal, v.Error, v.At);
}

[RegisterConverter]
public sealed class SpreadSpecConverter : IConverter<SpreadSpec, SpreadSpecSurrogate>
{
    public SpreadSpec ConvertFromSurrogate(in SpreadSpecSurrogate s) =>
        new(WireName.Parse<SpreadDomain>(s.Domain), s.MaxPerDomain, WireName.Parse<SpreadMode>(s.Mode));

    public SpreadSpecSurrogate ConvertToSurrogate(in SpreadSpec v) => new(WireName.Of(v.Domain), v.MaxPerDomain, WireName.Of(v.Mode));
}

[RegisterConverter]
public sealed class InstanceSpecConverter : IConverter<InstanceSpec, InstanceSpecSurrogate>
{
    public InstanceSpec ConvertFromSurrogate(in InstanceSpecSurrogate s) => new(
        s.Cluster, s.Shard, s.Role, s.Cpus, s.MemoryMiB, s.SwapMiB, s.Swappiness, s.DiskGiB, s.DiskClass, WireName.Parse<NumaPolicy>(s.Numa), s.Pool, s.Spread);

    public InstanceSpecSurrogate ConvertToSurrogate(in InstanceSpec v) => new(
        v.Cluster, v.Shard, v.Role, v.Cpus, v.MemoryMiB, v.SwapMiB, v.Swappiness, v.DiskGiB, v.DiskClass, WireName.Of(v.Numa), v.Pool, v.Spread);
}

[RegisterConverter]
public sealed class StepViewConverter : IConverter<StepView, StepViewSurrogate>
{
    public StepView ConvertFromSurrogate(in StepViewSurrogate s) => new(s.Step, s.At, s.DurationMs, s.Outcome);
    public StepViewSurrogate ConvertToSurrogate(in StepView v) => new(v.Step, v.At, v.DurationMs, v.Outcome);
}

[RegisterConverter]
public sealed class InstanceSummaryConverter : IConverter<InstanceSummary, InstanceSummarySurrogate>
{
    public InstanceSummary ConvertFromSurrogate(in InstanceSummarySurrogate s) => new(s.Id, s.State, s.Cluster, s.Shard, s.Host);
    public InstanceSummarySurrogate ConvertToSurrogate(in InstanceSummary v) => new(v.Id, v.State, v.Cluster, v.Shard, v.Host);
}

[RegisterConverter]
public sealed class InstanceTemplateSpecConverter : IConverter<InstanceTemplateSpec, InstanceTemplateSpecSurrogate>
{
    public InstanceTemplateSpec ConvertFromSurrogate(in InstanceTemplateSpecSurrogate s) =>
        new(s.Cpus, s.MemoryMiB, s.SwapMiB, s.DiskGiB, s.DiskClass, s.Numa is null ? null : WireName.Parse<NumaPolicy>(s.Numa), s.Swappiness);

    public InstanceTemplateSpecSurrogate ConvertToSurrogate(in InstanceTemplateSpec v) =>
        new(v.Cpus, v.MemoryMiB, v.SwapMiB, v.DiskGiB, v.DiskClass, v.Numa is { } numa ? WireName.Of(numa) : null, v.Swappiness);
}

[RegisterConverter]
public sealed class CreateClusterRequestConverter : IConverter<CreateClusterRequest, CreateClusterRequestSurrogate>
{
    public CreateClusterRequest ConvertFromSurrogate(in CreateClusterRequestSurrogate s) => new(s.Name, s.Pool, s.Shards, s.Replicas, s.Spread, s.Template);
    public CreateClusterRequestSurrogate ConvertToSurrogate(in CreateClusterRequest v) => new(v.Name, v.Pool, v.Shards, v.Replicas, v.Spread, v.Template);
}

[RegisterConverter]
public sealed class RiskItemViewConverter : IConverter<RiskItemView, RiskItemViewSurrogate>
{
    public RiskItemView ConvertFromSurrogate(in RiskItemViewSurrogate s) =>
        new(WireName.Parse<RiskCode>(s.Code), WireName.Parse<RiskSeverity>(s.Severity), s.Message);

    public RiskItemViewSurrogate ConvertToSurrogate(in RiskItemView v) => new(WireName.Of(v.Code), WireName.Of(v.Severity), v.Message);
}

[RegisterConverter]
public sealed class ScaleDownDecisionViewConverter : IConverter<ScaleDownDecisionView, ScaleDownDecisionViewSurrogate>
{
    // Approvals before the codes were an enum took any text: one that names no risk never acknowledged one, and is dropped.
    public ScaleDownDecisionView ConvertFromSurrogate(in ScaleDownDecisionViewSurrogate s) => new(
        s.By, s.At, s.Decision, [.. s.Acknowledged.Select(c => WireName.TryParse<RiskCode>(c, out var code) ? code : (RiskCode?)null).OfType<RiskCode>()], s.Reason);

    public ScaleDownDecisionViewSurrogate ConvertToSurrogate(in ScaleDownDecisionView v) =>
        new(v.By, v.At, v.Decision, [.. v.Acknowledged.Select(WireName.Of)], v.Reason);
}
