using System.Reflection;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>What this suite may use on the shared machine: two logical hosts, the test pool's disk-05 to disk-10, ports 3500–3599.</summary>
public static class E2eLayout
{
    public const string Pool = "e2e";
    public const string Zone = "z1";
    public const string EngineEndpoint = "unix:///var/run/docker.sock";
    public const string DatabasePrefix = "dbprov_e2e_";
    public const string MetaPasswordFile = "/var/lib/dbprov/secrets/meta-root-password";
    public const int HttpPort = 18090;
    public const int SiloPort = 18091;
    public const int GatewayPort = 18092;

    /// <summary>Each pool disk is 2 GiB (hack/disks.sh list).</summary>
    public const long DiskSizeGiB = 2;

    public static readonly E2eHost HostA = new("e2e-a", "r1", "1", ["disk-05", "disk-06", "disk-07"], 3501, 3509);
    public static readonly E2eHost HostB = new("e2e-b", "r2", "0", ["disk-08", "disk-09", "disk-10"], 3511, 3519);
    public static readonly IReadOnlyList<E2eHost> Hosts = [HostA, HostB];
    public static readonly IReadOnlySet<string> HostIds = Hosts.Select(h => h.Id).ToHashSet(StringComparer.Ordinal);

    /// <summary>debug or release: the pivot of the artifacts layout, the same as the test assembly's.</summary>
    public static string Configuration =>
        (typeof(E2eLayout).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug").ToLowerInvariant();

    public static string ServerDll => ArtifactDll("DbProvisioner.Server", "DbProvisioner.Server.dll");

    public static string CliDll => ArtifactDll("DbProvisioner.Cli", "dbprov.dll");

    private static string ArtifactDll(string project, string dll)
    {
        var path = Path.Combine(ArtifactsBin(), project, Configuration, dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{dll} not built for {Configuration}", path);
    }

    /// <summary>artifacts/bin, found upwards from the test assembly (artifacts/bin/DbProvisioner.EndToEnd.Tests/&lt;config&gt;/).</summary>
    private static string ArtifactsBin()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (dir.Name == "bin" && dir.Parent?.Name == "artifacts")
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No artifacts/bin above {AppContext.BaseDirectory}");
    }
}

/// <summary>One logical host on the shared engine: disjoint CPUs, disks and ports from the other.</summary>
/// <param name="PoolFiles">Its disks, as files of the test pool (disk-05 = disk-05.img); <see cref="Devices"/> are their loop devices now.</param>
public sealed record E2eHost(string Id, string Rack, string ReservedCpus, IReadOnlyList<string> PoolFiles, int FirstPort, int LastPort)
{
    public IReadOnlyList<string> Devices => TestDisks.Resolve([.. PoolFiles]);
}
