using DbProvisioner.Api;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>
/// This suite on the fleet's nodes (<see cref="FleetNodes"/>): node-K registered as host e2e-node-K over mutual TLS
/// with the appliance's client certificate (the server's default Docker:Tls), with its pool's disk-02 and ports 3521-3529.
/// </summary>
public static class E2eFleet
{
    public static string HostId(int node) => $"e2e-node-{node}";

    /// <summary>The node a host id of this suite names, or null for this machine's logical hosts.</summary>
    public static int? NodeOf(string hostId) => FleetNodes.Nodes.Where(n => HostId(n) == hostId).Select(static n => (int?)n).FirstOrDefault();

    public static RegisterHostRequest Registration(int node) => new(
        HostId(node),
        FleetNodes.Endpoint(node).ToString().TrimEnd('/'),
        E2eLayout.Zone,
        $"r-node-{node}",
        E2eLayout.Pool,
        [new DiskSpec(FleetNodes.Disk(node, "disk-02"), E2eLayout.DiskSizeGiB)],
        null,
        new PortRangeSpec(3521, 3529),
        MySqlAddress: FleetNodes.Address(node),
        Watermarks: [new WatermarkSpec("standard", 1, 1)]);

    /// <summary>Removes what the appliance made on node-K for this suite's host (containers, then volumes), by label.</summary>
    public static async Task<int> RemoveOwnedAsync(int node)
    {
        var label = $"label=dbprov.host={HostId(node)}";
        var removed = 0;
        var (_, containers, _) = await FleetNodes.DockerAsync(node, "ps", "-aq", "--filter", label);
        foreach (var id in containers.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if ((await FleetNodes.DockerAsync(node, "rm", "-f", id)).Exit == 0) removed++;
        }

        var (_, volumes, _) = await FleetNodes.DockerAsync(node, "volume", "ls", "-q", "--filter", label);
        foreach (var name in volumes.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if ((await FleetNodes.DockerAsync(node, "volume", "rm", "-f", name)).Exit == 0) removed++;
        }

        return removed;
    }
}
