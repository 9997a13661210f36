namespace DbProvisioner.Contracts;

/// <summary>
/// The claims on one engine's machine (key: <see cref="Domain.Hosts.EngineClaims.EngineKey"/> of the endpoint): which
/// registered host holds which disks and which MySQL ports, so two hosts on one engine never share a device or a port.
/// </summary>
[Alias("dbprov.IEngineClaimsGrain")]
public interface IEngineClaimsGrain : IGrainWithStringKey
{
    /// <summary>
    /// Takes the devices and ports for <paramref name="hostId"/> (replacing its own earlier claim), or answers a
    /// Conflict naming the host that holds them; nothing is stored on a conflict.
    /// </summary>
    [Alias("Claim")] Task<Outcome<bool>> ClaimAsync(string hostId, IReadOnlyList<string> devices, string mySqlAddress, int firstPort, int lastPort);

    /// <summary>Every host's claim on this engine, by host id (for tests and the inspection).</summary>
    [Alias("List")] Task<IReadOnlyDictionary<string, string>> ListAsync();
}
