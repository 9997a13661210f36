using System.Text.Json.Serialization;
using Orleans;

namespace DbProvisioner.Api;

/// <summary>Where an instance's CPUs and memory may live (DESIGN.md "NUMA policy").</summary>
[GenerateSerializer, JsonConverter(typeof(CamelCaseNames<NumaPolicy>))]
public enum NumaPolicy
{
    /// <summary>All CPUs and memory on one node, else the request fails with a reason.</summary>
    Required,
    /// <summary>One node if possible, else the fewest nodes.</summary>
    Preferred,
    /// <summary>CPUs anywhere, memory interleaved across nodes (innodb_numa_interleave=ON).</summary>
    Interleave,
    /// <summary>No NUMA placement at all.</summary>
    None,
}
