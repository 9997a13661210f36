namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// The appliance's client certificate for engines reached over mutual TLS (section <c>Docker:Tls</c>): PEM files, the
/// CA that signed the engines' server certificates, and the appliance's certificate and key (hack/fleet.sh writes them
/// to /var/lib/dbprov/secrets/docker-client).
/// </summary>
public sealed record DockerTlsOptions
{
    /// <summary>The CA an engine's server certificate must chain to; the machine's trust store is not consulted.</summary>
    public string? CaFile { get; init; }

    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    /// <summary>All three files are named: <c>tcp://</c> endpoints are then reached over mutual TLS.</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(CaFile) && !string.IsNullOrWhiteSpace(CertFile) && !string.IsNullOrWhiteSpace(KeyFile);
}
