using DbProvisioner.Domain.Disks;
using DbProvisioner.Runtime;
using DbProvisioner.Runtime.Docker;
using DbProvisioner.Server.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DbProvisioner.Server.Tests.Hosting;

/// <summary>Section <c>Docker</c> reaches the driver: the disk-pool folder and whether whole disks may be formatted.</summary>
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

    private static DiskDevicePolicy DiskPolicyOf(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging();
        SiloSetup.ConfigureGrains(services, configuration);
        using var provider = services.BuildServiceProvider();
        var factory = (DockerHostRuntimeFactory)provider.GetRequiredService<IHostRuntimeFactory>();
        return factory.Options.DiskPolicy;
    }
}
