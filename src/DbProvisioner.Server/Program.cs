using DbProvisioner.Server.Api;
using DbProvisioner.Server.Bootstrap;
using DbProvisioner.Server.Hosting;

if (args is ["bootstrap-keys", .. var rest])
{
    return await BootstrapCommand.RunAsync(rest);
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
