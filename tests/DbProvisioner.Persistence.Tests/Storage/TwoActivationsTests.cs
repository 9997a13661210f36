using System.Collections.Concurrent;
using System.Security.Cryptography;
using DbProvisioner.Api;
using DbProvisioner.Contracts;
using DbProvisioner.Domain.Hosts;
using DbProvisioner.Domain.Topology;
using DbProvisioner.Grains;
using DbProvisioner.Runtime;
using DbProvisioner.Testing.Simulation;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace DbProvisioner.Persistence.Tests.Storage;

/// <summary>
/// What a silo's death can cause for a moment: two live activations of one host grain, each with its own copy of the
/// state, both deciding reservations. Two independent clusters on the same meta database make that permanent, so the
/// versioned storage is the only thing between them and a double allocation.
/// </summary>
[Category("MetaDb")]
public sealed class TwoActivationsTests
{
    // 24 disks bound the host (32 whole cores, 48 ports): the rest are refused for want of a disk.
    private const int Requests = 60, Disks = 24, Attempts = 50;

    [Test]
    public async Task TwoActivationsOfOneHost_UnderConcurrentReservations_NeverGiveACpuDiskOrPortTwice()
    {
        var hostId = $"host-{Guid.NewGuid():N}"[..15];
        var pool = $"pool-{Guid.NewGuid():N}"[..15];
        await using var first = await StartSiloAsync(hostId);
        await using var second = await StartSiloAsync(hostId);
        await RegisterWithReadyDisksAsync(first.Client, hostId, pool);

        // Both activations exist and hold the registered state before the burst.
        Assert.That((await first.Client.GetGrain<IHostGrain>(hostId).GetAsync())?.Disks.Count(d => d.State == "Ready"), Is.EqualTo(Disks));
        Assert.That((await second.Client.GetGrain<IHostGrain>(hostId).GetAsync())?.Disks.Count(d => d.State == "Ready"), Is.EqualTo(Disks));

        var told = new ConcurrentDictionary<string, HostReservation>(StringComparer.Ordinal);
        var refusals = new ConcurrentBag<string>();
        var conflicts = 0;
        await Task.WhenAll(Enumerable.Range(0, Requests).Select(n => Task.Run(async () =>
        {
            var instanceId = $"i-{n:D2}-{Guid.NewGuid():N}"[..16];
            var request = new InstanceRequest(instanceId, Cpus: 1, MemoryMiB: 256, NumaPolicy.None, DiskGiB: 10, DiskClass: "ssd");
            for (var attempt = 0; attempt < Attempts; attempt++)
            {
                // Alternate silos per attempt, as a caller whose first silo died would.
                var client = (n + attempt) % 2 == 0 ? first.Client : second.Client;
                try
                {
                    var outcome = await client.GetGrain<IHostGrain>(hostId).ReserveAsync(request);
                    if (outcome.Reservation is { } reservation) told[instanceId] = reservation;
                    else refusals.Add(outcome.Reason);
                    return;
                }
                catch (StorageUnavailableException e) when (e.Message.Contains("expected version", StringComparison.Ordinal))
                {
                    // The other activation wrote first: this decision was not stored, and the activation re-read.
                    Interlocked.Increment(ref conflicts);
                }
            }

            Assert.Fail($"{instanceId}: still conflicting after {Attempts} attempts");
        })));

        await TestContext.Out.WriteLineAsync($"{told.Count} reserved, {refusals.Count} refused, {conflicts} version conflicts retried");
        var reservations = told.Values.ToList();
        Assert.Multiple(() =>
        {
            Assert.That(conflicts, Is.GreaterThan(0), "the two activations never raced: the test proved nothing");
            Assert.That(reservations, Has.Count.EqualTo(Disks), "every disk given, none twice");
            Assert.That(reservations.Select(r => r.Disk.Id), Is.Unique, "a disk given twice");
            Assert.That(reservations.Select(r => r.Port), Is.Unique, "a port given twice");
            Assert.That(reservations.SelectMany(r => r.Cpu.Cpus.Cpus()), Is.Unique, "a CPU given twice");
            Assert.That(refusals, Has.Count.EqualTo(Requests - Disks));
            Assert.That(refusals, Has.All.Contains("disk").IgnoreCase, "a full host refuses with the resource that ran out");
        });

        // A fresh activation reads only what was stored: exactly what the winners were told.
        var host = first.Client.GetGrain<IHostGrain>(hostId);
        await first.DeactivateAsync(host);
        await first.WaitForDeactivationAsync(host);
        var stored = await host.GetAsync() ?? throw new AssertionException("host not stored");
        Assert.Multiple(() =>
        {
            Assert.That(stored.Instances.Select(i => (i.Id, i.Cpus, i.Port)),
                Is.EquivalentTo(reservations.Select(r => (r.InstanceId, r.Cpu.Cpus.ToString(), r.Port))), "stored bookings are the ones told");
            Assert.That(stored.Disks.Where(d => d.ClaimedBy is not null).Select(d => (d.Id, d.ClaimedBy)),
                Is.EquivalentTo(reservations.Select(r => (r.Disk.Id, (string?)r.InstanceId))), "stored disk claims are the ones told");
        });
    }

    private static async Task RegisterWithReadyDisksAsync(IClusterClient client, string hostId, string pool)
    {
        var request = new RegisterHostRequest(
            Id: hostId,
            EngineEndpoint: $"tcp://{hostId}.sim:2375",
            Zone: "zone-a",
            Rack: "rack-a",
            Pool: pool,
            Disks: [.. Enumerable.Range(0, Disks).Select(i => new DiskSpec($"/dev/sim-disk-{i}", 100, "ssd"))],
            ReservedCpus: null,
            Ports: new PortRangeSpec(3306, 3306 + (2 * Disks) - 1),
            Labels: new Dictionary<string, string> { ["simulated"] = "true" },
            Topology: new TopologySpec(2, 16, 2, 65536),
            Watermarks: [new WatermarkSpec("ssd", Disks, 0)],
            SwapMiB: 0);
        var registered = await client.GetGrain<IHostGrain>(hostId).RegisterAsync(request);
        Assert.That(registered.Ok, Is.True, $"register: {registered.Kind} {registered.Error}");
        // A described host learns its image at its first answered heartbeat (the server beats every few seconds): beat once.
        await client.GetGrain<IHostGrain>(hostId).HeartbeatAsync();
        await client.GetGrain<IImagePullGrain>(hostId).PullAsync();
        await client.GetGrain<IDiskPoolGrain>(hostId).RunUntilIdleAsync();
    }

    /// <summary>One silo of its own cluster, with the grains on the meta database and a simulated engine that knows the host.</summary>
    private static async Task<InProcessTestCluster> StartSiloAsync(string hostId)
    {
        var runtime = new SimulatedHostRuntimeFactory();
        runtime.SetTopology(hostId, TopologyBuilder.Uniform(2, 16, 2, 65536));
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureClient(client => client.Services.AddDomainSerialization());
        builder.ConfigureSilo((_, silo) =>
        {
            silo.ConfigureMetaDb(options =>
                {
                    var test = MetaDbTestDatabase.Options;
                    options.Host = test.Host;
                    options.Port = test.Port;
                    options.Database = test.Database;
                    options.User = test.User;
                    options.PasswordFile = test.PasswordFile;
                })
                .AddMetaDbGrainStorageAsDefault();
            silo.Services.AddDbProvisionerGrains(null, new AesGcmCredentialProtector(RandomNumberGenerator.GetBytes(32)));
            silo.Services.AddSingleton<IHostRuntimeFactory>(runtime);
            silo.Services.AddSingleton<IMySqlAdmin>(new SimulatedMySqlAdmin());
            silo.Services.AddSingleton<IAuditSink>(new RecordingAuditSink());
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
