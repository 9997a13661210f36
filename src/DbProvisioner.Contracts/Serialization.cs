using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using DbProvisioner.Domain.Topology;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Cloning;

namespace DbProvisioner.Contracts;

/// <summary>
/// Domain records stay free of Orleans: grains carry them in their state and calls as JSON, with
/// CpuSet in its Linux list syntax.
/// </summary>
public static class DomainSerialization
{
    public static JsonSerializerOptions JsonOptions { get; } = CreateOptions();

    public static bool IsDomainType(Type type) =>
        type.Namespace?.StartsWith("DbProvisioner.Domain", StringComparison.Ordinal) == true;

    /// <summary>
    /// Domain records that grains pass to each other on every placement and that are immutable all the way
    /// down (records of strings, numbers, enums, <see cref="CpuSet"/>, immutable collections, or read-only
    /// lists that nobody keeps a writable reference to). Inside the silo Orleans hands these over as they
    /// are instead of deep-copying them, which for a JSON type means writing and parsing it once per call.
    /// </summary>
    private static readonly HashSet<Type> ImmutableTypes =
    [
        typeof(Domain.Hosts.InstanceRequest),
        typeof(Domain.Hosts.HostReservation),
        typeof(Domain.Cpu.CpuAssignment),
        typeof(Domain.Cpu.NodeMemory),
        typeof(Domain.Disks.Disk),
        typeof(Domain.Placement.HostCapacity),
        typeof(Domain.Placement.NodeCapacity),
        typeof(Domain.Placement.DiskCapacity),
        typeof(Domain.Placement.PlacementRequest),
        typeof(Domain.Placement.PlacementDecision),
        typeof(Domain.Placement.ReasonCount),
        typeof(Domain.Placement.ShardContext),
        typeof(Domain.Placement.MemberLocation),
        typeof(Domain.Placement.SpreadRule),
        typeof(CpuSet),
    ];

    public static bool IsImmutableDomainType(Type type) => ImmutableTypes.Contains(type);

    public static IServiceCollection AddDomainSerialization(this IServiceCollection services) =>
        services.AddSerializer(builder =>
        {
            builder.Services.AddSingleton<IGeneralizedCopier, ImmutableDomainCopier>();
            builder.AddJsonSerializer(
                isSerializable: IsDomainType,
                isCopyable: static t => IsDomainType(t) && !IsImmutableDomainType(t),
                configureOptions: static o => o.Configure(static x => x.SerializerOptions = JsonOptions));
        });

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            IgnoreReadOnlyProperties = true,
        };
        options.Converters.Add(new CpuSetJsonConverter());
        options.Converters.Add(new JsonStringEnumConverter());
        // The same options without the topology converter, which it uses for topologies of any other shape.
        var plain = new JsonSerializerOptions(options);
        options.Converters.Add(new HostTopologyJsonConverter(plain));
        return options;
    }
}

/// <summary>
/// A topology that <see cref="TopologyBuilder.Uniform"/> builds (every host a registration describes
/// by its shape) travels and is stored as its four numbers, <c>{"Uniform":[nodes,cores,threads,MiB]}</c>,
/// instead of every node, core and CPU list: a host's state row shrinks several-fold, and every host
/// of one shape shares one topology object (and so one topology index). Any other
/// topology is written in full, and both forms are read.
/// </summary>
public sealed class HostTopologyJsonConverter(JsonSerializerOptions plain) : JsonConverter<HostTopology>
{
    private const string UniformProperty = "Uniform";
    private static readonly ConcurrentDictionary<(int Nodes, int Cores, int Threads, long MemoryMiB), HostTopology> Shapes = new();

    public override HostTopology? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            var probe = reader; // a copy: the full form is read from the start of the object
            if (probe.Read() && probe.TokenType == JsonTokenType.PropertyName && probe.ValueTextEquals(UniformProperty))
            {
                var shape = JsonSerializer.Deserialize<long[]>(ref probe, options);
                if (shape is not { Length: 4 } || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 || shape[0] > 1024 || shape[1] > 4096 || shape[2] > 64 || shape[3] < 0)
                    throw new JsonException("a uniform topology needs [nodes, cores per node, threads per core, MiB per node]");
                if (!probe.Read() || probe.TokenType != JsonTokenType.EndObject)
                    throw new JsonException("a uniform topology has no other property");
                reader = probe;
                return UniformOf((int)shape[0], (int)shape[1], (int)shape[2], shape[3]);
            }
        }
        return JsonSerializer.Deserialize<HostTopology>(ref reader, plain);
    }

    public override void Write(Utf8JsonWriter writer, HostTopology value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        if (ShapeOf(value) is { } shape)
        {
            writer.WriteStartObject();
            writer.WriteStartArray(UniformProperty);
            writer.WriteNumberValue(shape.Nodes);
            writer.WriteNumberValue(shape.Cores);
            writer.WriteNumberValue(shape.Threads);
            writer.WriteNumberValue(shape.MemoryMiB);
            writer.WriteEndArray();
            writer.WriteEndObject();
            return;
        }
        JsonSerializer.Serialize(writer, value, plain);
    }

    /// <summary>The one shared topology of this shape (registration uses it too, so described hosts share it from the start).</summary>
    public static HostTopology UniformOf(int nodes, int cores, int threads, long memoryMiB) =>
        Shapes.GetOrAdd((nodes, cores, threads, memoryMiB), static k => TopologyBuilder.Uniform(k.Nodes, k.Cores, k.Threads, k.MemoryMiB));

    /// <summary>The shape when the topology is exactly what <see cref="TopologyBuilder.Uniform"/> builds for it, else null.</summary>
    private static (int Nodes, int Cores, int Threads, long MemoryMiB)? ShapeOf(HostTopology topology)
    {
        if (topology.Nodes is not { Count: > 0 } nodes || nodes[0].Cores is not { Count: > 0 } first) return null;
        var shape = (Nodes: nodes.Count, Cores: first.Count, Threads: first[0].Cpus.Count, MemoryMiB: nodes[0].MemoryMiB);
        if (shape.Threads < 1) return null;
        var uniform = UniformOf(shape.Nodes, shape.Cores, shape.Threads, shape.MemoryMiB);
        if (ReferenceEquals(uniform, topology)) return shape;
        for (var n = 0; n < nodes.Count; n++)
        {
            var node = nodes[n];
            var expected = uniform.Nodes[n];
            if (node.Id != expected.Id || node.MemoryMiB != expected.MemoryMiB || node.Cores is not { } cores || cores.Count != expected.Cores.Count) return null;
            for (var c = 0; c < cores.Count; c++)
            {
                var core = cores[c];
                var want = expected.Cores[c];
                if (core is null || core.Id != want.Id || core.Socket != want.Socket || core.Cpus != want.Cpus) return null;
            }
        }
        return shape;
    }
}

/// <summary>Hands the immutable Domain records (<see cref="DomainSerialization.IsImmutableDomainType"/>) over without a copy.</summary>
public sealed class ImmutableDomainCopier : IGeneralizedCopier, IOptionalDeepCopier
{
    public bool IsSupportedType(Type type) => DomainSerialization.IsImmutableDomainType(type);

    public object? DeepCopy(object? input, CopyContext context) => input;

    public bool IsShallowCopyable() => true;
}

public sealed class CpuSetJsonConverter : JsonConverter<CpuSet>
{
    public override CpuSet Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        CpuSet.Parse(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, CpuSet value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
