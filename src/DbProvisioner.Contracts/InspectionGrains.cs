using DbProvisioner.Api;

namespace DbProvisioner.Contracts;

/// <summary>Inspection of one host (key: host id): reads the engine and compares it with the host's books; changes nothing.</summary>
[Alias("dbprov.IHostInspectorGrain")]
public interface IHostInspectorGrain : IGrainWithStringKey
{
    /// <summary>The report, or null when the host is not registered.</summary>
    [Alias("Inspect")] Task<HostInspectionView?> InspectAsync();
}
