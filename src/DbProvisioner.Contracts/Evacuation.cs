using DbProvisioner.Api;

namespace DbProvisioner.Contracts;

/// <summary>
/// The evacuation of one host (key: host id): plans a replacement elsewhere for every instance on it, cordons the host,
/// provisions the replacements, and opens one scale-down request per old instance through the gate once its replacement
/// is Ready, so the old instance is removed only after its replacement is Ready and a second person approved.
/// </summary>
[Alias("dbprov.IEvacuationGrain")]
public interface IEvacuationGrain : IGrainWithStringKey
{
    /// <summary>Plans and starts the evacuation; all replacements planned or nothing changed. Asked again, answers the evacuation under way.</summary>
    [Alias("Evacuate")] Task<Outcome<EvacuationView>> EvacuateAsync(string requestedBy);

    /// <summary>The progress (null when the host was never evacuated); opens the scale-down requests whose replacement became Ready.</summary>
    [Alias("Get")] Task<EvacuationView?> GetAsync();

    /// <summary>After a restart: goes on watching the replacements of an evacuation under way.</summary>
    [Alias("Resume")] Task ResumeAsync();
}
