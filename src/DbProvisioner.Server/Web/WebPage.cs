using System.Collections.Frozen;

namespace DbProvisioner.Server.Web;

/// <summary>
/// The operator page at <c>/</c>: three static files compiled into the server (no build step, no CDN), served without a key.
/// The page asks for a key and sends it with every API call; the key stays in the browser tab's sessionStorage.
/// </summary>
public static class WebPage
{
    private const string ResourcePrefix = "wwwroot/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["app.js"] = "text/javascript; charset=utf-8",
        ["style.css"] = "text/css; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    // Only our own script and style; no inline code, no framing, no third-party origin.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly Lazy<FrozenDictionary<string, byte[]>> Files = new(LoadFiles);

    public static IEndpointRouteBuilder MapWebPage(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", (HttpContext http) => Serve(http, "index.html")).AllowAnonymous().ExcludeFromDescription();
        foreach (var name in ContentTypes.Keys)
        {
            endpoints.MapGet("/" + name, (HttpContext http) => Serve(http, name)).AllowAnonymous().ExcludeFromDescription();
        }

        return endpoints;
    }

    private static IResult Serve(HttpContext http, string name)
    {
        if (!Files.Value.TryGetValue(name, out var content))
        {
            return TypedResults.NotFound();
        }

        var headers = http.Response.Headers;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        return TypedResults.Bytes(content, ContentTypes[name]);
    }

    private static FrozenDictionary<string, byte[]> LoadFiles()
    {
        var assembly = typeof(WebPage).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in ContentTypes.Keys)
        {
            using var stream = assembly.GetManifestResourceStream(ResourcePrefix + name)
                ?? throw new InvalidOperationException($"The web page file {name} is not embedded in {assembly.GetName().Name}.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name] = copy.ToArray();
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
