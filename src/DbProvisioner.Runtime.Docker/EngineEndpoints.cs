using System.Net;

namespace DbProvisioner.Runtime.Docker;

/// <summary>How the driver talks to an engine.</summary>
public enum EngineTransport
{
    /// <summary><c>unix:///path</c>: the engine on this machine.</summary>
    UnixSocket,

    /// <summary><c>https://host:port</c>, or <c>tcp://host:port</c> with <c>Docker:Tls</c> set: client and server certificates.</summary>
    MutualTls,

    /// <summary><c>tcp://host:port</c> without <c>Docker:Tls</c>: anyone on the path reads and drives the engine.</summary>
    PlainTcp,
}

/// <summary>
/// Which engine endpoints the driver reaches and how: pure decisions on the endpoint and the options, so that
/// registration refuses what the driver would not reach safely (a plain-text engine on another machine) with a reason.
/// </summary>
public static class EngineEndpoints
{
    public static EngineTransport TransportOf(Uri endpoint, DockerTlsOptions tls)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(tls);
        return endpoint.Scheme switch
        {
            "unix" => EngineTransport.UnixSocket,
            "https" => EngineTransport.MutualTls,
            "tcp" => tls.IsConfigured ? EngineTransport.MutualTls : EngineTransport.PlainTcp,
            _ => throw new ArgumentException($"engine endpoint {endpoint} is neither unix://, tcp:// nor https://", nameof(endpoint)),
        };
    }

    /// <summary>Null when the driver may reach the engine at <paramref name="endpoint"/>, otherwise why not (for a 400 on <c>engineEndpoint</c>).</summary>
    public static string? Refusal(Uri endpoint, DockerRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(options);
        if (endpoint.Scheme is not ("unix" or "tcp" or "https")) return $"{endpoint} is neither unix://, tcp:// nor https://";
        return TransportOf(endpoint, options.Tls) switch
        {
            EngineTransport.MutualTls when !options.Tls.IsConfigured =>
                $"{endpoint} needs mutual TLS, but the appliance has no client certificate (Docker:Tls:CaFile, CertFile and KeyFile)",
            EngineTransport.PlainTcp when !IsLoopback(endpoint) =>
                $"{endpoint} is plain-text TCP to another machine: an engine on the network is reached only with mutual TLS (https://, or tcp:// with Docker:Tls set)",
            EngineTransport.PlainTcp when !options.AllowPlainLoopback =>
                $"{endpoint} is plain-text TCP; on loopback it is allowed only with Docker:AllowPlainLoopback=true",
            _ => null,
        };
    }

    /// <summary>The address the HTTP client dials: <c>tcp://</c> becomes <c>https://</c> or <c>http://</c> by transport.</summary>
    public static Uri ClientUri(Uri endpoint, EngineTransport transport)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (transport == EngineTransport.UnixSocket) return endpoint;
        return new UriBuilder(endpoint) { Scheme = transport == EngineTransport.MutualTls ? Uri.UriSchemeHttps : Uri.UriSchemeHttp }.Uri;
    }

    public static bool IsLoopback(Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return endpoint.IsLoopback || (IPAddress.TryParse(endpoint.IdnHost, out var address) && IPAddress.IsLoopback(address));
    }
}
