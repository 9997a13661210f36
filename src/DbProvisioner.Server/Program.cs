using DbProvisioner.Server.Api;
using DbProvisioner.Server.Bootstrap;
using DbProvisioner.Server.Hosting;
using DbProvisioner.Server.Manifests;

if (args is ["bootstrap-keys", .. var rest])
{
    return await BootstrapCommand.RunAsync(rest);
}

if (args is ["manifests", .. var manifestArgs])
{
    return await ManifestsCommand.RunAsync(manifestArgs, Console.Out, Console.Error);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddDbProvisionerServer();
builder.Configuration.AddCommandLine(args); // command line wins over DBPROV_ variables

var app = builder.Build();
app.UseDbProvisionerServer();
app.MapApiV1();
await app.RunAsync();
return 0;

/// <summary>Entry point type, public for WebApplicationFactory.</summary>
public partial class Program;
