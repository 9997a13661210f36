using System.Globalization;

namespace DbProvisioner.Server.Manifests;

/// <summary>
/// <c>DbProvisioner.Server manifests [--namespace N] [--replicas N] [--image I] [--meta-host H]</c>: writes the appliance's
/// Kubernetes manifests (YAML) to standard output. Touches nothing: no configuration, meta DB or cluster. Exit 0, or 2 on bad usage.
/// </summary>
internal static class ManifestsCommand
{
    public const string Usage = "Usage: DbProvisioner.Server manifests [--namespace dbprov] [--replicas 2] [--image dbprov/server:0.1.0] [--meta-host dbprov-meta]";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var options = new ApplianceManifestOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "-h" or "--help":
                    await output.WriteLineAsync(Usage);
                    return 0;
                case "--namespace" when value is not null:
                    options = options with { Namespace = value };
                    break;
                case "--image" when value is not null:
                    options = options with { Image = value };
                    break;
                case "--meta-host" when value is not null:
                    options = options with { MetaDbHost = value };
                    break;
                case "--replicas" when value is not null:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var replicas))
                    {
                        await error.WriteLineAsync($"manifests: --replicas: '{value}' is not a whole number.");
                        return 2;
                    }
                    options = options with { Replicas = replicas };
                    break;
                default:
                    await error.WriteLineAsync($"manifests: unexpected argument '{args[i]}'.\n{Usage}");
                    return 2;
            }
            i++;
        }

        if (options.Refusal() is { } refusal)
        {
            await error.WriteLineAsync($"manifests: {refusal.Option}: {refusal.Message}.");
            return 2;
        }
        await output.WriteAsync(ApplianceManifests.Render(options));
        return 0;
    }
}
