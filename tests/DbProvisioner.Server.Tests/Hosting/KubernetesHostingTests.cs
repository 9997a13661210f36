using DbProvisioner.Server.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DbProvisioner.Server.Tests.Hosting;

/// <summary>
/// <c>Cluster:KubernetesHosting</c> (set by the appliance's manifests) turns on Orleans' own Kubernetes hosting in the silo;
/// without it the silo has none of its services. Only the wiring is checked: no API server runs here.
/// </summary>
[TestFixture]
[Category("Fast")]
public sealed class KubernetesHostingTests
{
    [TestCase(true, true)]
    [TestCase(false, false)]
    public void The_setting_adds_orleans_kubernetes_hosting_to_the_silo(bool kubernetesHosting, bool expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cluster:Membership"] = "AdoNet",
            ["Cluster:KubernetesHosting"] = kubernetesHosting ? "true" : "false",
        }).Build();
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => SiloSetup.ConfigureSilo(silo, new SiloOptions(), configuration));

        // The agent that deletes the pods of silos declared dead, and the options read from the pod's variables.
        var hosting = builder.Services.Select(static d => d.ImplementationType?.FullName)
            .Where(static n => n is "Orleans.Hosting.Kubernetes.KubernetesClusterAgent" or "Orleans.Hosting.Kubernetes.ConfigureKubernetesHostingOptions")
            .Distinct().Order(StringComparer.Ordinal).ToList();

        Assert.That(hosting, Is.EqualTo(expected
            ? new[] { "Orleans.Hosting.Kubernetes.ConfigureKubernetesHostingOptions", "Orleans.Hosting.Kubernetes.KubernetesClusterAgent" }
            : []));
    }
}
