using DbProvisioner.Domain.Disks;
using DbProvisioner.Runtime;
using DbProvisioner.Runtime.Docker;
using DbProvisioner.Server.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DbProvisioner.Server.Tests.Hosting;

/// <summary>Section <c>Docker</c> reaches the driver: the disk-pool folder, whether whole disks may be formatted, the client certificate.</summary>
[TestFixture]
[Category("Fast")]
public sealed class DockerSectionTests
{
    [Test]
    public void Without_the_section_only_loop_devices_of_the_default_pool_are_formatted()
    {
        Assert.That(DiskPolicyOf(new Dictionary<string, string?>()), Is.EqualTo(new DiskDevicePolicy("/var/lib/dbprov/disks", AllowWholeDisks: false)));
    }

    [Test]
    public void The_section_sets_the_pool_folder_and_allows_whole_disks()
    {
        var policy = DiskPolicyOf(new Dictionary<string, string?> { ["Docker:DiskPoolFolder"] = "/srv/dbprov/pool", ["Docker:AllowWholeDisks"] = "true" });

        Assert.That(policy, Is.EqualTo(new DiskDevicePolicy("/srv/dbprov/pool", AllowWholeDisks: true)));
    }

    [Test]
    public void The_section_gives_the_driver_its_client_certificate_and_the_plain_loopback_switch()
    {
        var options = OptionsOf(new Dictionary<string, string?>
        {
            ["Docker:Tls:CaFile"] = "/srv/ca.pem",
            ["Docker:Tls:CertFile"] = "/srv/cert.pem",
            ["Docker:Tls:KeyFile"] = "/srv/key.pem",
            ["Docker:AllowPlainLoopback"] = "true",
        });

        Assert.That(options.Tls, Is.EqualTo(new DockerTlsOptions { CaFile = "/srv/ca.pem", CertFile = "/srv/cert.pem", KeyFile = "/srv/key.pem" }));
        Assert.That(options.AllowPlainLoopback, Is.True);
        Assert.That(EngineEndpoints.TransportOf(new Uri("tcp://10.251.1.2:2376"), options.Tls), Is.EqualTo(EngineTransport.MutualTls));
    }

    [Test]
    public void Without_the_section_tcp_is_plain_text_and_plain_loopback_is_off()
    {
        var options = OptionsOf(new Dictionary<string, string?>());

        Assert.That(options.Tls.IsConfigured, Is.False);
        Assert.That(options.AllowPlainLoopback, Is.False);
    }

    private static DiskDevicePolicy DiskPolicyOf(Dictionary<string, string?> settings) => OptionsOf(settings).DiskPolicy;

    private static DockerRuntimeOptions OptionsOf(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging();
        SiloSetup.ConfigureGrains(services, configuration);
        using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<DockerHostRuntimeFactory>();
        return factory.Options;
    }
}
