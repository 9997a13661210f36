using System.Diagnostics;
using DbProvisioner.Runtime.Kubernetes;
using DbProvisioner.Server.Manifests;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;

namespace DbProvisioner.Server.Tests.Manifests;

/// <summary>The appliance's own Kubernetes manifests: what a reviewer of a cluster's admission policy would refuse or miss.</summary>
[TestFixture]
[Category("Fast")]
public sealed class ApplianceManifestsTests
{
    private static readonly ApplianceManifestOptions Options = new() { Namespace = "dbprov-prod", Replicas = 3, Image = "registry.example/dbprov/server:1.2.3" };

    private static IReadOnlyList<IKubernetesObject> Objects => ApplianceManifests.Build(Options);

    private static V1Deployment Silos => Objects.OfType<V1Deployment>().Single();

    private static V1Container Server => Silos.Spec.Template.Spec.Containers.Single();

    [Test]
    public void Rbac_has_no_wildcard_and_grants_exactly_the_runtimes_calls_in_the_right_scope()
    {
        var role = Objects.OfType<V1Role>().Single();
        var clusterRole = Objects.OfType<V1ClusterRole>().Single();
        static IEnumerable<(string, string, string)> Granted(IEnumerable<V1PolicyRule> rules) =>
            rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => (g, res, v)))));
        static IEnumerable<(string, string, string)> Needed(bool namespaced) =>
            KubernetesAccess.Rules.Where(r => r.Namespaced == namespaced).SelectMany(r => r.Verbs.Select(v => (r.ApiGroup, r.Resource, v)));

        Assert.Multiple(() =>
        {
            foreach (var rule in role.Rules.Concat(clusterRole.Rules))
            {
                Assert.That(rule.ApiGroups.Concat(rule.Resources).Concat(rule.Verbs), Has.None.Contains("*"));
                Assert.That(rule.NonResourceURLs, Is.Null.Or.Empty);
            }
            Assert.That(Granted(role.Rules), Is.EquivalentTo(Needed(namespaced: true)));
            Assert.That(Granted(clusterRole.Rules), Is.EquivalentTo(Needed(namespaced: false)));
            Assert.That(Granted(clusterRole.Rules).Select(g => g.Item2), Has.None.AnyOf("pods", "secrets", "configmaps", "jobs", "persistentvolumeclaims"),
                "namespaced kinds are granted in the appliance's namespace only, never cluster-wide");
            Assert.That(role.Metadata.NamespaceProperty, Is.EqualTo("dbprov-prod"));
        });
    }

    [Test]
    public void The_bindings_give_the_roles_to_the_silos_service_account_and_nobody_else()
    {
        var account = Objects.OfType<V1ServiceAccount>().Single();
        var binding = Objects.OfType<V1RoleBinding>().Single();
        var clusterBinding = Objects.OfType<V1ClusterRoleBinding>().Single();

        Assert.Multiple(() =>
        {
            Assert.That(Silos.Spec.Template.Spec.ServiceAccountName, Is.EqualTo(account.Metadata.Name));
            foreach (var subjects in new[] { binding.Subjects, clusterBinding.Subjects })
            {
                Assert.That(subjects.Select(s => (s.Kind, s.Name, s.NamespaceProperty)), Is.EqualTo(new[] { ("ServiceAccount", account.Metadata.Name, "dbprov-prod") }));
            }
            Assert.That(binding.RoleRef.Name, Is.EqualTo(Objects.OfType<V1Role>().Single().Metadata.Name));
            Assert.That(clusterBinding.RoleRef.Name, Is.EqualTo(Objects.OfType<V1ClusterRole>().Single().Metadata.Name));
            Assert.That(clusterBinding.RoleRef.Kind, Is.EqualTo("ClusterRole"));
        });
    }

    [Test]
    public void The_secret_is_mounted_as_files_the_server_reads_and_never_embedded_or_put_in_an_environment_variable()
    {
        var volume = Silos.Spec.Template.Spec.Volumes.Single(v => v.Secret is not null);
        var mount = Server.VolumeMounts.Single(m => m.Name == volume.Name);
        var env = Server.Env.ToDictionary(e => e.Name);

        Assert.Multiple(() =>
        {
            Assert.That(Objects.OfType<V1Secret>(), Is.Empty, "the operator makes the Secret; the manifests only name it");
            Assert.That(volume.Secret.SecretName, Is.EqualTo(ApplianceManifests.SecretName));
            Assert.That(mount.ReadOnlyProperty, Is.True);
            Assert.That(env["DBPROV_MetaDb__PasswordFile"].Value, Is.EqualTo($"{mount.MountPath}/{ApplianceManifests.MetaPasswordKey}"));
            Assert.That(env["DBPROV_Provisioning__CredentialKeyFile"].Value, Is.EqualTo($"{mount.MountPath}/{ApplianceManifests.CredentialKeyKey}"));
            Assert.That(volume.Secret.Items.Select(i => i.Key), Is.EquivalentTo(new[] { ApplianceManifests.MetaPasswordKey, ApplianceManifests.CredentialKeyKey }));
            Assert.That(Server.Env.Where(e => e.ValueFrom?.SecretKeyRef is not null), Is.Empty, "no secret in an environment variable");
            Assert.That(Server.EnvFrom, Is.Null.Or.Empty);
            Assert.That(Server.Env.Where(e => e.Name.Contains("Password", StringComparison.OrdinalIgnoreCase) && !e.Name.EndsWith("File", StringComparison.Ordinal)), Is.Empty);
        });
    }

    [Test]
    public void Probes_ask_healthz_and_liveness_only_the_silo_on_the_http_port_and_the_container_runs_unprivileged_with_requests_equal_to_limits()
    {
        var pod = Silos.Spec.Template.Spec;
        var http = Server.Ports.Single(p => p.Name == "http");

        Assert.Multiple(() =>
        {
            Assert.That(Server.StartupProbe?.HttpGet?.Path, Is.EqualTo("/healthz"));
            Assert.That(Server.ReadinessProbe?.HttpGet?.Path, Is.EqualTo("/healthz"));
            Assert.That(Server.LivenessProbe?.HttpGet?.Path, Is.EqualTo("/healthz/live"), "a meta database outage must not restart the silos");
            foreach (var probe in new[] { Server.StartupProbe, Server.ReadinessProbe, Server.LivenessProbe })
            {
                Assert.That(probe!.HttpGet.Port.Value, Is.EqualTo(http.Name).Or.EqualTo(http.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
            Assert.That(pod.SecurityContext.RunAsNonRoot, Is.True);
            Assert.That(pod.SecurityContext.RunAsUser, Is.GreaterThan(0));
            Assert.That(Server.SecurityContext.AllowPrivilegeEscalation, Is.False);
            Assert.That(Server.SecurityContext.Privileged, Is.Not.True);
            Assert.That(Server.SecurityContext.Capabilities.Drop, Is.EqualTo(new[] { "ALL" }));
            Assert.That(Server.SecurityContext.Capabilities.Add, Is.Null.Or.Empty);
            Assert.That(pod.HostNetwork, Is.Not.True);
            Assert.That(Server.Resources.Limits.Keys, Is.EquivalentTo(new[] { "cpu", "memory" }));
            Assert.That(Server.Resources.Requests.ToDictionary(r => r.Key, r => r.Value.ToString()), Is.EqualTo(Server.Resources.Limits.ToDictionary(r => r.Key, r => r.Value.ToString())));
        });
    }

    [Test]
    public void The_silos_follow_the_orleans_kubernetes_conventions_and_join_through_the_meta_database()
    {
        var labels = Silos.Spec.Template.Metadata.Labels;
        var env = Server.Env.ToDictionary(e => e.Name);

        Assert.Multiple(() =>
        {
            Assert.That(Silos.Spec.Replicas, Is.EqualTo(3));
            Assert.That(Server.Image, Is.EqualTo("registry.example/dbprov/server:1.2.3"));
            Assert.That(labels, Does.ContainKey("orleans/serviceId").And.ContainKey("orleans/clusterId"));
            Assert.That(env["ORLEANS_SERVICE_ID"].ValueFrom.FieldRef.FieldPath, Is.EqualTo("metadata.labels['orleans/serviceId']"));
            Assert.That(env["ORLEANS_CLUSTER_ID"].ValueFrom.FieldRef.FieldPath, Is.EqualTo("metadata.labels['orleans/clusterId']"));
            Assert.That(env["POD_NAME"].ValueFrom.FieldRef.FieldPath, Is.EqualTo("metadata.name"));
            Assert.That(env["POD_NAMESPACE"].ValueFrom.FieldRef.FieldPath, Is.EqualTo("metadata.namespace"));
            Assert.That(env["POD_IP"].ValueFrom.FieldRef.FieldPath, Is.EqualTo("status.podIP"));
            Assert.That(env["DBPROV_Cluster__Membership"].Value, Is.EqualTo("AdoNet"));
            Assert.That(env["DBPROV_Cluster__AdvertisedAddress"].Value, Is.EqualTo("$(POD_IP)"));
            Assert.That(env["DBPROV_Silo__Name"].Value, Is.EqualTo("$(POD_NAME)"));
            Assert.That(env["DBPROV_Server__Url"].Value, Does.StartWith("http://0.0.0.0:"), "the kubelet's probes come from outside the pod's loopback");
            Assert.That(env["DBPROV_Server__PublicUrl"].Value, Is.EqualTo($"http://{Objects.OfType<V1Service>().Single().Metadata.Name}.dbprov-prod.svc:8080"), "the CLI config names the Service");
            Assert.That(env["DBPROV_Bootstrap__GenerateKeysOnStart"].Value, Is.EqualTo("false"), "N silos must not each make keys");
            Assert.That(env["DBPROV_Kubernetes__Clusters__incluster__Namespace"].Value, Is.EqualTo("dbprov-prod"));
            // $(VAR) is only expanded from variables defined earlier in the list.
            var order = Server.Env.Select(e => e.Name).ToList();
            Assert.That(order.IndexOf("POD_IP"), Is.LessThan(order.IndexOf("DBPROV_Cluster__AdvertisedAddress")));
            Assert.That(order.IndexOf("POD_NAME"), Is.LessThan(order.IndexOf("DBPROV_Silo__Name")));
        });
    }

    [Test]
    public void Every_selector_matches_the_pod_labels_and_the_service_targets_a_named_container_port()
    {
        var pod = Silos.Spec.Template;
        var service = Objects.OfType<V1Service>().Single();

        Assert.Multiple(() =>
        {
            Assert.That(Silos.Spec.Selector.MatchLabels, Is.SubsetOf(pod.Metadata.Labels));
            Assert.That(service.Spec.Selector, Is.SubsetOf(pod.Metadata.Labels));
            Assert.That(service.Spec.Selector, Is.Not.Empty);
            Assert.That(service.Spec.Ports.Select(p => p.TargetPort.Value), Is.SubsetOf(Server.Ports.Select(p => p.Name)));
            Assert.That(Objects.Where(o => o is not V1Namespace and not V1ClusterRole and not V1ClusterRoleBinding).Select(o => ((IMetadata<V1ObjectMeta>)o).Metadata.NamespaceProperty),
                Has.All.EqualTo("dbprov-prod"));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task The_server_starts_with_the_configuration_the_manifests_give_it()
    {
        // The kubelet's part: $(VAR) from the downward API. The secret files are the tests' own (their paths are checked above).
        var downward = new Dictionary<string, string> { ["$(POD_NAME)"] = "dbprov-server-7d9f-x2", ["$(POD_IP)"] = "10.42.0.7", ["$(ORLEANS_SERVICE_ID)"] = "dbprov", ["$(ORLEANS_CLUSTER_ID)"] = "dbprov" };
        var settings = Server.Env.Where(e => e.Name.StartsWith("DBPROV_", StringComparison.Ordinal) && !e.Name.EndsWith("File", StringComparison.Ordinal))
            .ToDictionary(e => e.Name["DBPROV_".Length..].Replace("__", ":", StringComparison.Ordinal), e => downward.GetValueOrDefault(e.Value, e.Value));
        settings["Silo:Enabled"] = "false"; // the HTTP shell: no meta DB here, only the options are under test

        await using var app = await Support.ShellApp.StartAsync(settings: settings);

        var server = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DbProvisioner.Server.Hosting.ServerOptions>>().Value;
        var clustering = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DbProvisioner.Server.Hosting.ClusteringOptions>>().Value;
        Assert.Multiple(() =>
        {
            Assert.That(server.ClientUrl, Is.EqualTo("http://dbprov-server.dbprov-prod.svc:8080"));
            Assert.That(clustering.Membership, Is.EqualTo(DbProvisioner.Server.Hosting.ClusteringMode.AdoNet));
            Assert.That(clustering.AdvertisedAddress, Is.EqualTo("10.42.0.7"));
            Assert.That(clustering.KubernetesHosting, Is.True, "Orleans' Kubernetes hosting runs in the pod");
        });
    }

    [TestCase("Bad_Namespace", 2, "dbprov/server:1", "--namespace")]
    [TestCase("dbprov", 0, "dbprov/server:1", "--replicas")]
    [TestCase("dbprov", 10, "dbprov/server:1", "--replicas")]
    [TestCase("dbprov", 2, "", "--image")]
    [TestCase("dbprov", 2, "dbprov/server:1 --privileged", "--image")]
    public void Bad_options_are_refused_naming_the_option(string ns, int replicas, string image, string option)
    {
        var options = new ApplianceManifestOptions { Namespace = ns, Replicas = replicas, Image = image };
        Assert.Multiple(() =>
        {
            Assert.That(options.Refusal()?.Option, Is.EqualTo(option));
            Assert.Throws<ArgumentException>(() => ApplianceManifests.Build(options));
        });
    }
}

/// <summary>The built server executable's <c>manifests</c> sub-command, parsed back as a cluster would read it.</summary>
[TestFixture]
[Category("Fast")]
public sealed class ManifestsCommandTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task The_server_writes_manifests_that_parse_back_into_the_objects_it_built()
    {
        var (exit, output, error) = await RunServerAsync("manifests", "--namespace", "dbprov-test", "--replicas", "2", "--image", "example/dbprov:9");

        Assert.That(exit, Is.Zero, error);
        var objects = KubernetesYaml.LoadAllFromString(output);
        var expected = ApplianceManifests.Build(new ApplianceManifestOptions { Namespace = "dbprov-test", Replicas = 2, Image = "example/dbprov:9" });
        Assert.Multiple(() =>
        {
            Assert.That(objects.Select(o => o.GetType()), Is.EqualTo(expected.Select(o => o.GetType())));
            Assert.That(objects.Cast<IKubernetesObject>().Select(o => $"{o.ApiVersion}/{o.Kind}"), Is.EqualTo(expected.Select(o => $"{o.ApiVersion}/{o.Kind}")));
            var deployment = objects.OfType<V1Deployment>().Single();
            Assert.That(deployment.Spec.Replicas, Is.EqualTo(2));
            Assert.That(deployment.Spec.Template.Spec.Containers.Single().Image, Is.EqualTo("example/dbprov:9"));
            Assert.That(deployment.Spec.Template.Spec.Containers.Single().LivenessProbe.HttpGet.Path, Is.EqualTo("/healthz/live"));
            Assert.That(objects.OfType<V1Role>().Single().Rules.SelectMany(r => r.Verbs), Has.None.EqualTo("*"));
            Assert.That(output, Does.Not.Contain("kind: Secret"));
        });
    }

    [TestCase("--replicas", "two", "--replicas")]
    [TestCase("--namespace", "Not_A_Label", "--namespace")]
    [TestCase("--colour", "red", "'--colour'")]
    public async Task Bad_usage_exits_2_naming_the_option_and_writes_no_yaml(string option, string value, string named)
    {
        var (exit, output, error) = await RunServerAsync("manifests", option, value);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(error, Does.Contain(named));
            Assert.That(output, Is.Empty);
        });
    }

    private static async Task<(int Exit, string Output, string Error)> RunServerAsync(params string[] args)
    {
        var dll = ServerDll();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    /// <summary>The server as built (artifacts/bin/DbProvisioner.Server/&lt;config&gt;/), found upwards from this test assembly.</summary>
    private static string ServerDll()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Name;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (dir.Name == "bin" && dir.Parent?.Name == "artifacts")
            {
                var dll = Path.Combine(dir.FullName, "DbProvisioner.Server", configuration, "DbProvisioner.Server.dll");
                return File.Exists(dll) ? dll : throw new FileNotFoundException("the server is not built", dll);
            }
        }
        throw new DirectoryNotFoundException($"No artifacts/bin above {AppContext.BaseDirectory}");
    }
}
