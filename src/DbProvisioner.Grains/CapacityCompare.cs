using DbProvisioner.Domain.Placement;

namespace DbProvisioner.Grains;

/// <summary>Whether two capacity summaries of a host say the same (record equality compares its arrays by reference).</summary>
internal static class CapacityCompare
{
    public static bool Same(HostCapacity a, HostCapacity b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!a.Nodes.AsSpan().SequenceEqual(b.Nodes.AsSpan()) || !a.ReadyDisks.AsSpan().SequenceEqual(b.ReadyDisks.AsSpan())) return false;
        if (!ReferenceEquals(a.Labels, b.Labels) && !a.Labels.SequenceEqual(b.Labels)) return false;
        // Every other member (and any added later) by the record's own equality, with the collections made the same objects.
        return a with { Nodes = b.Nodes, ReadyDisks = b.ReadyDisks, Labels = b.Labels } == b;
    }
}
