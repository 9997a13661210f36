using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DbProvisioner.Api;
using DbProvisioner.Testing;

namespace DbProvisioner.EndToEnd.Tests.Support;

/// <summary>How one seeded run went: where the fault landed, how long recovery took, and what the invariants found.</summary>
public sealed record CrashOutcome(
    CrashPlan Plan,
    string StateAtFault,
    TimeSpan FaultAt,
    TimeSpan? ServerBack,
    TimeSpan? MetaBack,
    TimeSpan? ApiBack,
    TimeSpan? Settled,
    TimeSpan Total,
    IReadOnlyList<string> Violations,
    string Note);

/// <summary>
/// One seeded run: prepare the fleet, start the operation, inject the fault where the plan says, bring back what
/// was hit, retry what a client would retry, wait until the fleet is at rest, then check every invariant. After a
/// meta DB restart, the server is restarted once more: what it served before must be what it stored.
/// </summary>
public sealed class CrashRun(CrashFleet fleet, CrashPlan plan)
{
    private static readonly TimeSpan WatchTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ApiTimeout = TimeSpan.FromSeconds(90);

    private readonly List<string> _violations = [];
    private readonly List<string> _notes = [];
    private readonly string _tag = $"crash-{plan.Seed}-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..3])}";

    private E2eDeployment E2e => fleet.E2e;

    public async Task<CrashOutcome> ExecuteAsync()
    {
        var total = Stopwatch.StartNew();
        var prepared = await fleet.PrepareAsync(plan.Scenario);
        if (prepared.Note.Length > 0)
        {
            _notes.Add(prepared.Note);
        }

        var clock = Stopwatch.StartNew();
        var operation = StartOperationAsync(prepared);
        var stateAtFault = await TriggerAsync(operation, prepared, clock);
        var faultAt = clock.Elapsed;
        var settleClock = Stopwatch.StartNew();
        TimeSpan? serverBack = null, metaBack = null, apiBack = null;
        if (plan.Fault == CrashFault.ServerKill)
        {
            await E2e.Server.KillAsync();
            var down = Stopwatch.StartNew();
            await E2e.Server.StartAsync(CancellationToken.None);
            serverBack = down.Elapsed;
        }
        else
        {
            (metaBack, apiBack) = await RestartMetaDbAsync();
        }

        var ids = await FinishOperationAsync(operation, prepared);
        var requests = prepared.Requests.Concat(prepared.Request is { } r ? [r.Id] : []).ToList();
        var (snapshot, unsettled, _) = await fleet.WaitAtRestAsync(ids.Concat(prepared.Touched), requests);
        TimeSpan? settled = unsettled.Count == 0 ? settleClock.Elapsed : null;
        if (unsettled.Count > 0)
        {
            _violations.Add($"not at rest {settleClock.Elapsed.TotalSeconds:F0} s after the fault ({string.Join("; ", unsettled)})");
        }

        await CheckAsync(snapshot, ids, prepared.Touched, requests);
        if (plan.Fault == CrashFault.MetaDbRestart)
        {
            await CheckServedWasStoredAsync(snapshot, ids.Concat(prepared.Touched));
        }

        if (_violations.Count == 0)
        {
            fleet.Retire(snapshot);
        }

        return new CrashOutcome(plan, stateAtFault, faultAt, serverBack, metaBack, apiBack, settled, total.Elapsed, _violations, string.Join("; ", _notes));
    }

    /// <summary>The operation's HTTP call, left running while the fault lands; its result is the instance ids it made or touched.</summary>
    private Task<IReadOnlyList<string>> StartOperationAsync(PreparedRun prepared) => plan.Scenario switch
    {
        CrashScenario.SingleInstance => CreateInstanceAsync(),
        CrashScenario.Cluster => CreateClusterAsync(),
        _ => ApproveAsync(prepared.Request!),
    };

    private async Task<string> TriggerAsync(Task<IReadOnlyList<string>> operation, PreparedRun prepared, Stopwatch clock)
    {
        if (plan.Trigger == CrashTrigger.AfterDelay)
        {
            var wait = plan.Delay - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var id = Watched(operation, prepared);
            return id is null ? "request in flight" : await PeekAsync(id);
        }

        try
        {
            await operation.WaitAsync(WatchTimeout);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or InvalidOperationException)
        {
            return $"operation failed before the fault: {e.Message}";
        }

        return await WatchAsync(Watched(operation, prepared)!);
    }

    private string? Watched(Task<IReadOnlyList<string>> operation, PreparedRun prepared) =>
        plan.Scenario == CrashScenario.Removal ? prepared.Target
        : operation.IsCompletedSuccessfully && operation.Result.Count > 0 ? operation.Result[Math.Min(plan.Member, operation.Result.Count - 1)]
        : null;

    /// <summary>Polls the instance until it shows the plan's state (or has passed it); returns what it showed.</summary>
    private async Task<string> WatchAsync(string id)
    {
        var order = CrashPlan.Steps(plan.Scenario).ToList();
        var target = order.IndexOf(plan.State);
        bool Passed(string state) =>
            order.IndexOf(state) > target || state is "Failed" or "Removed" || (state == "Ready" && plan.Scenario != CrashScenario.Removal);
        // The fault must land as close to the state as can be: a short, flat pause between looks.
        var polled = await Eventually.PollAsync(() => PeekAsync(id), state => state == plan.State || Passed(state), WatchTimeout, TimeSpan.FromMilliseconds(10));
        return polled.Last == plan.State ? polled.Last : $"{polled.Last} (missed {plan.State})";
    }

    private async Task<string> PeekAsync(string id)
    {
        try
        {
            return (await E2e.Admin.GetOrThrowAsync<InstanceView>($"instances/{id}")).State;
        }
        catch (HttpRequestException e)
        {
            return $"unknown ({e.StatusCode})";
        }
    }

    /// <summary><c>docker restart dbprov-meta</c>; how long until MySQL answered, and until the API answered a meta-DB read again.</summary>
    private async Task<(TimeSpan MetaBack, TimeSpan ApiBack)> RestartMetaDbAsync()
    {
        var watch = Stopwatch.StartNew();
        var metaBack = await MetaServer.RestartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(E2e.Server.BaseAddress, "api/v1/"), Timeout = TimeSpan.FromSeconds(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", E2e.Keys["viewer"]);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync("audit?limit=1");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    break;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Still away.
            }

            if (!E2e.Server.IsRunning)
            {
                _violations.Add("the server process exited while the meta DB restarted");
                await E2e.Server.StartAsync(CancellationToken.None);
            }
            else if (watch.Elapsed > ApiTimeout)
            {
                _violations.Add($"the API did not read the meta DB again within {ApiTimeout.TotalSeconds:F0} s after it restarted");
                break;
            }

            await Task.Delay(100);
        }

        return (metaBack, watch.Elapsed);
    }

    private async Task<IReadOnlyList<string>> CreateInstanceAsync()
    {
        using var response = await PostInstanceAsync();
        return [await IdOfAsync(response)];
    }

    private async Task<HttpResponseMessage> PostInstanceAsync()
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "instances") { Content = JsonContent(E2eRequests.Instance()) };
        // A client that retries after a lost answer gets the same instance.
        message.Headers.Add("Idempotency-Key", _tag);
        return await E2e.Requester.SendAsync(message);
    }

    private async Task<IReadOnlyList<string>> CreateClusterAsync()
    {
        using var response = await E2e.Requester.PostAsync("clusters", ClusterRequest());
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"POST /clusters answered {(int)response.StatusCode}: {body}");
        }

        return [.. JsonSerializer.Deserialize<ClusterView>(body, ApiClient.Json)!.Members.Select(m => m.InstanceId)];
    }

    private CreateClusterRequest ClusterRequest() => new(_tag, E2eLayout.Pool, 1, 2, SpreadSpec.HostHard, E2eRequests.Template());

    private async Task<IReadOnlyList<string>> ApproveAsync(ScaleDownView request)
    {
        var (status, body) = await ScaleDowns.ApproveAsync(E2e, request);
        return status == HttpStatusCode.OK ? [request.InstanceId] : throw new InvalidOperationException($"approve answered {(int)status}: {body}");
    }

    /// <summary>The operation's ids; when its answer was lost to the fault, a retry as a client would make it.</summary>
    private async Task<IReadOnlyList<string>> FinishOperationAsync(Task<IReadOnlyList<string>> operation, PreparedRun prepared)
    {
        try
        {
            return await operation.WaitAsync(OperationTimeout);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or TimeoutException or InvalidOperationException)
        {
            _notes.Add($"answer lost ({Short(e.Message)}), retried");
        }

        try
        {
            return plan.Scenario switch
            {
                CrashScenario.SingleInstance => await CreateInstanceAsync(),
                CrashScenario.Cluster => await RetryClusterAsync(),
                _ => await ApproveAsync(prepared.Request!),
            };
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            _violations.Add($"the retried {plan.Scenario} failed after recovery: {e.Message}");
            return plan.Scenario == CrashScenario.Removal ? [prepared.Target!] : [];
        }
    }

    private async Task<IReadOnlyList<string>> RetryClusterAsync()
    {
        using (var retry = await E2e.Requester.PostAsync("clusters", ClusterRequest()))
        {
            _notes.Add($"retried POST /clusters: {(int)retry.StatusCode}");
        }

        var cluster = await E2e.Viewer.GetOrThrowAsync<ClusterView>($"clusters/{_tag}");
        return [.. cluster.Members.Select(m => m.InstanceId)];
    }

    private async Task CheckAsync(FleetSnapshot snapshot, IReadOnlyList<string> ids, IEnumerable<string> touched, IEnumerable<string> requests)
    {
        _violations.AddRange(await FleetInvariants.CheckAsync(E2e, snapshot, ids.Concat(touched)));
        foreach (var request in requests)
        {
            var view = await E2e.Viewer.GetOrThrowAsync<ScaleDownView>($"scale-downs/{request}");
            _violations.AddRange(await AuditInvariants.ScaleDownAsync(E2e, request, snapshot.Details.GetValueOrDefault(view.InstanceId)));
        }

        if (plan.Scenario == CrashScenario.Cluster && ids.Count > 0)
        {
            _violations.AddRange(await AuditInvariants.ClusterAsync(E2e, _tag, snapshot));
        }
    }

    /// <summary>
    /// A write the meta DB refused must not be served: after a restart of the server (grains read from storage),
    /// every instance of the run shows the state and version it showed at rest.
    /// </summary>
    private async Task CheckServedWasStoredAsync(FleetSnapshot snapshot, IEnumerable<string> ids)
    {
        await E2e.RestartAsync();
        foreach (var id in ids.Distinct(StringComparer.Ordinal))
        {
            if (!snapshot.Details.TryGetValue(id, out var before))
            {
                continue;
            }

            using var response = await E2e.Admin.GetAsync($"instances/{id}");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                _violations.Add($"{id}: served {before.State} v{before.Version}; after a server restart GET answers {(int)response.StatusCode}");
                continue;
            }

            var after = JsonSerializer.Deserialize<InstanceView>(await response.Content.ReadAsStringAsync(), ApiClient.Json)!;
            if (after.Version < before.Version || (after.Version == before.Version && after.State != before.State))
            {
                _violations.Add($"{id}: served {before.State} v{before.Version} at rest, but after a server restart storage gives {after.State} v{after.Version}: it served a state it did not store");
            }
        }
    }

    private static async Task<string> IdOfAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"POST /instances answered {(int)response.StatusCode}: {Short(body)}");
        }

        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("id").GetString()!;
    }

    private static StringContent JsonContent<T>(T body) =>
        new(JsonSerializer.Serialize(body, ApiClient.Json), System.Text.Encoding.UTF8, "application/json");

    private static string Short(string text) => text.Length <= 160 ? text : text[..160] + "…";
}
