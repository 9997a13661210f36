using System.Diagnostics;
using System.Net;
using DbProvisioner.Api;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>What a run starts from: the instances its preparation touched, and for a removal the target and its Pending request.</summary>
public sealed record PreparedRun(IReadOnlyList<string> Touched, IReadOnlyList<string> Requests, string? Target, ScaleDownView? Request, string Note);

/// <summary>Preparation that could not bring the fleet to a run's starting point without faults: itself a finding.</summary>
public sealed class CrashPrepException(string message) : Exception(message);

/// <summary>
/// The deployment the crash runs share, and the fault-free moves between runs: wait until the fleet is at rest, free
/// the hosts a scenario needs (approved removals) or provision the Ready instance a removal needs. A run leaves its
/// instances for the next one where they fit (a single instance becomes the next removal's target).
/// </summary>
public sealed class CrashFleet : IAsyncDisposable
{
    /// <summary>The longest a recovery may take (a loaded machine can be slow)…</summary>
    public static readonly TimeSpan RestTimeout = TimeSpan.FromSeconds(90);

    /// <summary>…but a fleet where nothing changes for longer than the disk pool's period (30 s) is stuck.</summary>
    public static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(35);
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Removed or Failed instances found sound at the end of a run: snapshots no longer fetch them.</summary>
    private readonly HashSet<string> _retired = new(StringComparer.Ordinal);

    private CrashFleet(E2eDeployment e2e) => E2e = e2e;

    public E2eDeployment E2e { get; private set; }

    /// <summary>A short drain: nothing stays connected in these runs, but a stuck drain must not hold a run for 30 s.</summary>
    public static IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string> { ["Provisioning:DrainTimeout"] = "00:00:05" };

    public static async Task<CrashFleet> StartAsync() => new(await E2eDeployment.StartAsync(Settings));

    /// <summary>Throws the deployment away (server, containers, meta database) and starts a fresh one.</summary>
    public async Task RedeployAsync()
    {
        await E2e.DisposeAsync();
        _retired.Clear();
        E2e = await E2eDeployment.StartAsync(Settings);
    }

    /// <summary>After a run without violations: its Removed and Failed instances need no further look.</summary>
    public void Retire(FleetSnapshot fleet) =>
        _retired.UnionWith(fleet.Details.Values.Where(v => v.State is "Removed" or "Failed").Select(v => v.Id));

    /// <summary>
    /// Polls until no instance among the listed and <paramref name="ids"/> is unfinished, no disk is being formatted,
    /// no helper runs and none of the scale-down <paramref name="requests"/> is still removing; answers that fail meanwhile (an outage) are waited through. Gives up after
    /// <see cref="RestTimeout"/>, or sooner when nothing at all has changed for <see cref="StallTimeout"/> (stuck).
    /// </summary>
    public async Task<(FleetSnapshot Fleet, IReadOnlyList<string> Unsettled, TimeSpan Elapsed)> WaitAtRestAsync(IEnumerable<string> ids, IEnumerable<string>? requests = null)
    {
        var known = ids.ToList();
        var removals = (requests ?? []).ToList();
        var watch = Stopwatch.StartNew();
        var lastChange = TimeSpan.Zero;
        var lastPrint = "";
        FleetSnapshot? fleet = null;
        IReadOnlyList<string> unsettled = ["no answer from the API"];
        while (true)
        {
            try
            {
                fleet = await FleetSnapshot.TakeAsync(E2e, known, _retired);
                var removing = new List<string>();
                foreach (var request in removals)
                {
                    var view = await E2e.Viewer.GetOrThrowAsync<ScaleDownView>($"scale-downs/{request}");
                    if (view.State is "Approved" or "Draining")
                    {
                        removing.Add($"scale-down {request} is {view.State}");
                    }
                }

                unsettled = [.. fleet.Unsettled(fleet.Details.Keys.Concat(fleet.NotFound)), .. removing];
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                unsettled = [$"API: {e.Message}"];
            }

            var print = fleet?.Fingerprint() + string.Join("|", unsettled);
            if (print != lastPrint)
            {
                (lastPrint, lastChange) = (print, watch.Elapsed);
            }

            var stalled = watch.Elapsed - lastChange > StallTimeout;
            if ((unsettled.Count == 0 && fleet is not null) || stalled || watch.Elapsed > RestTimeout)
            {
                var why = unsettled.Count == 0 ? unsettled
                    : [$"{(stalled ? $"no change for {StallTimeout.TotalSeconds:F0} s" : $"still moving after {RestTimeout.TotalSeconds:F0} s")}: {string.Join("; ", unsettled)}"];
                return (fleet ?? throw new TimeoutException($"no snapshot of the fleet: {string.Join("; ", unsettled)}"), why, watch.Elapsed);
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Brings the fleet, at rest, to the scenario's starting point without faults.</summary>
    public async Task<PreparedRun> PrepareAsync(CrashScenario scenario)
    {
        var (fleet, unsettled, _) = await WaitAtRestAsync([]);
        if (unsettled.Count > 0)
        {
            throw new CrashPrepException($"the fleet did not come to rest before the run: {string.Join("; ", unsettled)}");
        }

        var ready = fleet.Details.Values.Where(v => v.State == "Ready").ToList();
        var freeHosts = fleet.Hosts.Count(h => h.Instances.Count == 0);
        var touched = new List<string>();
        var requests = new List<string>();
        var notes = new List<string>();
        async Task RemoveReadyAsync()
        {
            var ended = await ScaleDowns.RemoveAllAsync(E2e, ready.Select(v => v.Id), OperationTimeout);
            touched.AddRange(ended.Select(r => r.InstanceId));
            requests.AddRange(ended.Select(r => r.Id));
            notes.Add($"removed {ended.Count} before");
            var stuck = ended.Where(r => r.State != "Removed").ToList();
            if (stuck.Count > 0)
            {
                throw new CrashPrepException("a fault-free removal did not end Removed: " + string.Join("; ", stuck.Select(r => $"{r.InstanceId} {r.State} {r.Reason}")));
            }

            ready.Clear();
            freeHosts = fleet.Hosts.Count;
        }

        if ((scenario == CrashScenario.SingleInstance && freeHosts == 0) || (scenario == CrashScenario.Cluster && ready.Count > 0))
        {
            await RemoveReadyAsync();
        }

        if (scenario != CrashScenario.Removal)
        {
            return new PreparedRun(touched, requests, null, null, string.Join(", ", notes));
        }

        var target = ready.FirstOrDefault(v => v.Spec.Cluster == "standalone")?.Id;
        if (target is null)
        {
            if (freeHosts == 0)
            {
                await RemoveReadyAsync();
            }

            target = await ProvisionReadyAsync();
            touched.Add(target);
            notes.Add("provisioned the target");
        }

        var request = await ScaleDowns.RequestAsync(E2e, target);
        return new PreparedRun(touched, requests, target, request, string.Join(", ", notes));
    }

    public ValueTask DisposeAsync() => E2e.DisposeAsync();

    private async Task<string> ProvisionReadyAsync()
    {
        using var response = await E2e.Requester.PostAsync("instances", E2eRequests.Instance());
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new CrashPrepException($"POST /instances answered {(int)response.StatusCode}: {body}");
        }

        var id = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        var view = await E2e.Admin.WaitForInstanceAsync(id, v => v.State is "Ready" or "Failed", OperationTimeout, "to be Ready or Failed", TimeSpan.FromMilliseconds(100));
        return view.State == "Ready" ? id : throw new CrashPrepException($"a fault-free instance did not get Ready: {E2eRequests.Describe(view)}");
    }
}
