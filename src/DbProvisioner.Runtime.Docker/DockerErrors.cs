using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using DbProvisioner.Domain.Topology;
using Docker.DotNet;
using Polly.Timeout;

namespace DbProvisioner.Runtime.Docker;

/// <summary>Reads the engine's error messages: which are the user's fault, which are worth a retry.</summary>
internal static partial class DockerErrors
{
    /// <summary>Worth retrying: the engine or the path to it hiccupped, not the request.</summary>
    public static bool IsTransient(Exception e) => TlsFailure(e) is null && e switch
    {
        HttpRequestException or IOException or SocketException or TimeoutRejectedException => true,
        // The TLS transport (Microsoft.Net.Http.Client's ManagedHandler) wraps a refused connection in an AggregateException.
        AggregateException all => all.InnerExceptions.Count > 0 && all.InnerExceptions.All(IsTransient),
        DockerApiException api => (int)api.StatusCode >= 500 && !IsUserError(MessageOf(api)),
        _ => false,
    };

    /// <summary>The failed TLS handshake behind <paramref name="e"/> (wrapped by the HTTP stack or not), or null.</summary>
    public static System.Security.Authentication.AuthenticationException? TlsFailure(Exception? e) => e switch
    {
        null => null,
        System.Security.Authentication.AuthenticationException tls => tls,
        AggregateException all => all.InnerExceptions.Select(TlsFailure).FirstOrDefault(static t => t is not null),
        _ => TlsFailure(e.InnerException),
    };

    /// <summary>The "message" of the engine's JSON error body, or the raw body.</summary>
    public static string MessageOf(DockerApiException e)
    {
        var body = e.ResponseBody ?? "";
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out var m))
                return m.GetString() ?? body;
        }
        catch (JsonException)
        {
            // Not JSON: the body is the message.
        }
        return body.Trim();
    }

    public static bool IsNotFound(DockerApiException e) => e.StatusCode == HttpStatusCode.NotFound;
    public static bool IsConflict(DockerApiException e) => e.StatusCode == HttpStatusCode.Conflict;

    private static bool IsUserError(string message) =>
        DeviceGathering().IsMatch(message) || LocalVolumeMount().IsMatch(message) ||
        CpusUnavailable().IsMatch(message) || MemsUnavailable().IsMatch(message) ||
        message.Contains("No such image", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The typed error for an engine refusal; <paramref name="device"/>, <paramref name="cpus"/> and
    /// <paramref name="memoryNodes"/> say what the request asked for, to name what the host lacks.
    /// </summary>
    public static HostRuntimeException Translate(
        string hostId, string what, DockerApiException e, string? device = null, string? image = null,
        CpuSet? cpus = null, IReadOnlyList<int>? memoryNodes = null)
    {
        var message = MessageOf(e);
        Match m;
        if ((m = DeviceGathering().Match(message)).Success)
        {
            var path = m.Groups[1].Value;
            return m.Groups[2].Value.Contains("no such file", StringComparison.OrdinalIgnoreCase)
                ? DiskException.NotFound(hostId, device ?? path, e)
                : DiskException.NotABlockDevice(hostId, device ?? path, e);
        }
        if ((m = LocalVolumeMount().Match(message)).Success)
        {
            var path = device ?? m.Groups[1].Value;
            var reason = m.Groups[2].Value;
            if (reason.Contains("no such file", StringComparison.OrdinalIgnoreCase)) return DiskException.NotFound(hostId, path, e);
            if (reason.Contains("block device required", StringComparison.OrdinalIgnoreCase) ||
                reason.Contains("not a block device", StringComparison.OrdinalIgnoreCase)) return DiskException.NotABlockDevice(hostId, path, e);
            return DiskException.NotFormatted(hostId, path, e);
        }
        if ((m = CpusUnavailable().Match(message)).Success)
        {
            var requested = cpus ?? ParseOrEmpty(m.Groups[1].Value);
            var missing = requested.Except(ParseOrEmpty(m.Groups[2].Value));
            return ResourceNotOnHostException.Cpus(hostId, missing.IsEmpty ? requested : missing, e);
        }
        if ((m = MemsUnavailable().Match(message)).Success)
        {
            var requested = memoryNodes is null ? ParseOrEmpty(m.Groups[1].Value) : CpuSet.Of(memoryNodes);
            var missing = requested.Except(ParseOrEmpty(m.Groups[2].Value));
            return ResourceNotOnHostException.MemoryNodes(hostId, missing.IsEmpty ? requested : missing, e);
        }
        if (image is not null && (e is DockerImageNotFoundException || message.Contains("No such image", StringComparison.OrdinalIgnoreCase)))
            return new ImageMissingException(hostId, image, e);
        return new EngineRejectedException(hostId, what, message, e);
    }

    private static CpuSet ParseOrEmpty(string list) => CpuSet.TryParse(list, out var set, out _) ? set : CpuSet.Empty;

    [GeneratedRegex("""error gathering device information while adding custom device "([^"]+)": (.+)""")]
    private static partial Regex DeviceGathering();

    [GeneratedRegex("""failed to mount local volume: mount (\S+?):\S*: (.+)""")]
    private static partial Regex LocalVolumeMount();

    [GeneratedRegex("""Requested CPUs are not available - requested ([0-9,-]+), available: ([0-9,-]*)""")]
    private static partial Regex CpusUnavailable();

    [GeneratedRegex("""Requested memory nodes are not available - requested ([0-9,-]+), available: ([0-9,-]*)""")]
    private static partial Regex MemsUnavailable();
}
