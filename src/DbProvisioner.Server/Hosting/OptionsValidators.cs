using Microsoft.Extensions.Options;

namespace DbProvisioner.Server.Hosting;

internal sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        var failures = new List<string>();
        CheckHttpUrl(options.Url, "Server:Url", failures);
        if (!string.IsNullOrWhiteSpace(options.PublicUrl))
        {
            CheckHttpUrl(options.PublicUrl, "Server:PublicUrl", failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckHttpUrl(string value, string key, List<string> failures)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{key} must be an absolute http(s) URL, got '{value}'.");
        }
        else if (uri.AbsolutePath != "/")
        {
            failures.Add($"{key} must not have a path, got '{value}'.");
        }
    }
}

internal sealed class SiloOptionsValidator : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions options) =>
        options.Enabled && options.SiloPort == options.GatewayPort
            ? ValidateOptionsResult.Fail($"Silo:SiloPort and Silo:GatewayPort must differ (both {options.SiloPort}).")
            : ValidateOptionsResult.Success;
}
