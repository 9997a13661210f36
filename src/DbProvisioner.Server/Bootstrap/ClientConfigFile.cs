using System.Text.Json;
using DbProvisioner.Api;

namespace DbProvisioner.Server.Bootstrap;

/// <summary>Writes the CLI's config file (<see cref="ClientConfig"/>), readable by its owner only.</summary>
public static class ClientConfigFile
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// Writes the file atomically with mode 0600 (its folder 0700 when created). The temp file is created with
    /// that mode, so the keys are never readable by others, not even for a moment.
    /// </summary>
    public static async Task WriteAsync(string path, ClientConfig config, CancellationToken cancellationToken)
    {
        var fullPath = ClientConfig.ResolvePath(path);
        var directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"No folder in '{path}'.", nameof(path));
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, OwnerOnlyDirectory);
            }
        }

        var temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerReadWrite;
        }

        try
        {
            await using (var stream = new FileStream(temp, options))
            {
                await JsonSerializer.SerializeAsync(stream, config, Json, cancellationToken);
                await stream.FlushAsync(cancellationToken);
            }

            File.Move(temp, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}
