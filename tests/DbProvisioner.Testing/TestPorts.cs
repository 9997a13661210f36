using System.Net;
using System.Net.Sockets;

namespace DbProvisioner.Testing;

/// <summary>
/// Free loopback ports for servers and silos a test starts. The OS may hand the same ephemeral port out again as soon
/// as its listener closes, so a port is never given twice in one process (a silo port equal to its gateway port fails).
/// </summary>
public static class TestPorts
{
    private static readonly HashSet<int> Given = [];

    public static int Next()
    {
        lock (Given)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (Given.Add(port)) return port;
            }
        }
    }

    public static string NextText() => Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
