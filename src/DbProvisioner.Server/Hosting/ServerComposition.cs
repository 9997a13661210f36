using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using DbProvisioner.Contracts;
using DbProvisioner.Server.Api;
using DbProvisioner.Server.Auth;
using DbProvisioner.Server.Bootstrap;
using DbProvisioner.Server.Errors;
using DbProvisioner.Server.Metrics;
using DbProvisioner.Server.ScaleDown;
using DbProvisioner.Server.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Orleans.Dashboard;
using OpenTelemetry.Resources;
using Scalar.AspNetCore;
using Serilog;

namespace DbProvisioner.Server.Hosting;

/// <summary>The server's composition root, as two calls so that tests compose the very same process.</summary>
public static class ServerComposition
{
    public const string EnvironmentPrefix = "DBPROV_";

    /// <summary>Where the Orleans Dashboard is served, to the admin role only.</summary>
    public const string DashboardPath = "/admin/dashboard";

    /// <summary>Configuration, options, logging, metrics, auth, problem details, OpenAPI and the Orleans silo.</summary>
    public static WebApplicationBuilder AddDbProvisionerServer(this WebApplicationBuilder builder)
    {
        // DBPROV_Server__Url=… overrides appsettings.json; secrets never come from here (keys live hashed in the meta DB).
        builder.Configuration.AddEnvironmentVariables(EnvironmentPrefix);
        var services = builder.Services;
        var configuration = builder.Configuration;

        services.AddOptions<ServerOptions>().BindConfiguration(ServerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SiloOptions>().BindConfiguration(SiloOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LogOptions>().BindConfiguration(LogOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BootstrapOptions>().BindConfiguration(BootstrapOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();
        services.AddSingleton<IValidateOptions<SiloOptions>, SiloOptionsValidator>();
        services.AddOptions<ClusteringOptions>().BindConfiguration(ClusteringOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RecoverySweepLog>();

        var serverOptions = configuration.GetSection(ServerOptions.Section).Get<ServerOptions>() ?? new ServerOptions();
        builder.WebHost.UseUrls(serverOptions.Url);

        services.AddSerilog(
            (sp, logger) => LoggingSetup.Configure(
                logger, configuration, sp.GetRequiredService<IHostEnvironment>(), sp.GetRequiredService<IOptions<LogOptions>>().Value),
            preserveStaticLogger: true);

        services.AddSingleton<DbProvisionerMetrics>();
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("dbprov-server", serviceVersion: HealthEndpoint.ServerVersion))
            .WithMetrics(metrics => metrics
            .AddMeter(DbProvisionerMetrics.MeterName, "Microsoft.Orleans", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));

        services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Instance ??= c.HttpContext.Request.Path);
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // Binding failures throw so ProblemExceptionHandler can name the JSON field and position.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(o => ConfigureJson(o.SerializerOptions));

        services.TryAddSingleton<DashboardSession>();
        services.AddAuthentication(ApiKeyAuthentication.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthentication.Scheme, configureOptions: null);
        services.AddAuthorization(o => o.AddApiPolicies());
        PersistenceSetup.ConfigureMetaDb(services);
        services.AddSingleton<ApiKeyBootstrapper>();
        services.AddSingleton(sp => new KnownPools(sp.GetRequiredService<IGrainFactory>().PoolExistsAsync));
        services.AddHostedService<ApiKeyBootstrapService>();

        services.AddHealthChecks().AddCheck<SiloHealthCheck>("silo", tags: [HealthEndpoint.Live]).AddCheck<MetaDbHealthCheck>("metaDb");
        services.AddOpenApi(o => o.AddDocumentTransformer<BearerSecuritySchemeTransformer>());

        var siloOptions = configuration.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
        if (siloOptions.Enabled)
        {
            builder.UseOrleans(silo => SiloSetup.ConfigureSilo(silo, siloOptions, configuration));
            // After the silo's own start-up, so both find it (they also wait until it is Active).
            services.AddSingleton<ProvisioningRecoveryService>();
            services.AddHostedService(sp => sp.GetRequiredService<ProvisioningRecoveryService>());
            if (configuration.GetSection(ClusteringOptions.Section).Get<ClusteringOptions>()?.Membership == ClusteringMode.AdoNet)
            {
                services.AddHostedService<RecoverySweepScheduler>();
            }

            services.AddHostedService<FleetMetricsService>();
            services.AddHostedService<ScaleDownRecoveryService>();
            services.AddHostedService<EvacuationRecoveryService>();
            services.AddOptions<ReconciliationOptions>().Bind(configuration.GetSection(ReconciliationOptions.SectionName));
            services.AddHostedService<ReconciliationService>();
            services.AddHostedService<HostHeartbeatService>();
        }

        return builder;
    }

    /// <summary>Middleware and the infrastructure endpoints: /healthz, /metrics, /openapi/v1.json, /api/reference.</summary>
    public static WebApplication UseDbProvisionerServer(this WebApplication app)
    {
        // Request logging goes first, so it records the status the exception handler answered (a bad body is a 400,
        // not a 500). Without an explicit logger it would write to the static Log.Logger, which this process leaves silent.
        app.UseSerilogRequestLogging(o => o.Logger = app.Services.GetRequiredService<Serilog.ILogger>());
        // Client errors (bad JSON, wrong content type) are answered as 400s; only server faults are logged as errors.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // Nor is a meta database that is away a fault of this process: /healthz and the 503 say so, without a stack per request.
            SuppressDiagnosticsCallback = c => c.Exception is BadHttpRequestException or JsonException || ProblemExceptionHandler.IsMetaDbUnavailable(c.Exception)
                || ProblemExceptionHandler.IsSiloUnavailable(c.HttpContext, c.Exception),
        });
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapHealthChecks("/healthz", HealthEndpoint.Options);
        app.MapHealthChecks("/healthz/live", HealthEndpoint.LiveOptions);
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference("/api/reference", o => o
            .WithTitle("DbProvisioner API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")
            .AddPreferredSecuritySchemes(BearerSecuritySchemeTransformer.SchemeName)
            .DisableTelemetry());
        if (app.Services.GetRequiredService<IOptions<SiloOptions>>().Value.Enabled)
        {
            // Not part of API v1: kept out of the OpenAPI document the CLI and outside tests rely on.
            app.MapOrleansDashboard(DashboardPath).RequireAuthorization(ApiPolicies.Admin).ExcludeFromDescription();
            app.MapPost(DashboardSession.IssuePath, IssueDashboardSession).RequireAuthorization(ApiPolicies.Admin).ExcludeFromDescription();
        }

        app.MapWebPage(); // the operator page at /, served without a key; its API calls need one
        return app;
    }

    /// <summary>An admin's key traded for the dashboard's session cookie, so a browser can open the dashboard by a link.</summary>
    private static IResult IssueDashboardSession(HttpContext context, DashboardSession sessions)
    {
        var ticket = sessions.Issue(context.User.GetApiPrincipal()!);
        context.Response.Cookies.Append(DashboardSession.CookieName, ticket, new CookieOptions
        {
            Path = DashboardPath, HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.Request.IsHttps,
            MaxAge = DashboardSession.Lifetime, IsEssential = true,
        });
        return Results.NoContent();
    }

    /// <summary>
    /// API v1 JSON: camelCase, unknown fields refused, missing required (non-defaulted) constructor parameters and nulls in
    /// non-nullable members refused, numbers only as JSON numbers (<c>"cpus": "1"</c> is refused; the web defaults would read
    /// it) — each a 400 naming the field. Enums are written as the names their type declares (DbProvisioner.Api's converters,
    /// numbers refused), so no enum converter is added here: one here would take precedence over theirs.
    /// </summary>
    public static void ConfigureJson(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.RespectNullableAnnotations = true;
        options.RespectRequiredConstructorParameters = true;
        options.TypeInfoResolver = (options.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(NullableParametersAreOptional);
    }

    /// <summary>
    /// A constructor parameter annotated nullable (<c>string? Cluster</c>, <c>int? Cpus</c>) may be left out of the JSON:
    /// the shared Contracts records mark optional fields that way. Non-nullable parameters stay required.
    /// </summary>
    internal static void NullableParametersAreOptional(JsonTypeInfo typeInfo)
    {
        foreach (var property in typeInfo.Properties)
        {
            if (property.AssociatedParameter is { HasDefaultValue: false } parameter
                && (parameter.IsNullable || Nullable.GetUnderlyingType(parameter.ParameterType) is not null))
            {
                property.IsRequired = false;
            }
        }
    }
}
