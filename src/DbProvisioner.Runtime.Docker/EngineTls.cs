using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Docker.DotNet.X509;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// The appliance's side of mutual TLS with an engine: its client certificate, and a check that the engine's server
/// certificate chains to the appliance's CA (not the machine's trust store) and names the address dialled.
/// </summary>
internal static class EngineTls
{
    public static CertificateCredentials Credentials(DockerTlsOptions tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        if (!tls.IsConfigured) throw new InvalidOperationException("Docker:Tls needs CaFile, CertFile and KeyFile for an engine over mutual TLS");
        var ca = X509CertificateLoader.LoadCertificateFromFile(tls.CaFile!);
        var client = X509Certificate2.CreateFromPemFile(tls.CertFile!, tls.KeyFile!);
        return new CertificateCredentials(client) { ServerCertificateValidationCallback = ServerValidation(ca) };
    }

    /// <summary>Accepts a server certificate only when it chains to <paramref name="ca"/> and its name matches the address dialled.</summary>
    public static RemoteCertificateValidationCallback ServerValidation(X509Certificate2 ca) => (_, certificate, _, errors) =>
    {
        // A chain error is expected (the CA is not in the machine's store) and checked below; a wrong name or no certificate is not.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    };
}
