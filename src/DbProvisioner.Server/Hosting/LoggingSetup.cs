using Serilog;
using Serilog.Formatting.Compact;

namespace DbProvisioner.Server.Hosting;

internal static class LoggingSetup
{
    /// <summary>Console always; a rolling file when <c>Log:Directory</c> is set; compact JSON when <c>Log:Json</c> is true.</summary>
    public static void Configure(LoggerConfiguration logger, IConfiguration configuration, IHostEnvironment environment, LogOptions options)
    {
        logger.MinimumLevel.Is(options.MinimumLevel)
            .ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext()
            .Enrich.WithProperty("Application", "DbProvisioner.Server");

        if (options.Json)
        {
            logger.WriteTo.Console(new CompactJsonFormatter());
        }
        else
        {
            logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
        }

        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            return;
        }

        var directory = Path.IsPathRooted(options.Directory)
            ? options.Directory
            : Path.Combine(environment.ContentRootPath, options.Directory);
        var path = Path.Combine(directory, options.Json ? "dbprov-.clef" : "dbprov-.log");
        if (options.Json)
        {
            logger.WriteTo.File(
                new CompactJsonFormatter(),
                path,
                rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: options.RetainedFileCount,
                fileSizeLimitBytes: options.FileSizeLimitBytes,
                rollOnFileSizeLimit: true);
        }
        else
        {
            logger.WriteTo.File(
                path,
                outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}",
                rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: options.RetainedFileCount,
                fileSizeLimitBytes: options.FileSizeLimitBytes,
                rollOnFileSizeLimit: true);
        }
    }
}
