using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Fake;

/// <summary>What the fake kubelet does with a pod bound to a Ready node.</summary>
public enum PodFate
{
    /// <summary>Pending → Running → Ready.</summary>
    Ready,
    /// <summary>Pending → Running, then mysqld exits and restarts (CrashLoopBackOff).</summary>
    CrashLoop,
    /// <summary>Stays Pending (e.g. its image never arrives).</summary>
    StayPending,
    /// <summary>Stays Pending until the test calls <see cref="FakeKubernetesApiServer.StartHeldPod"/>, then as <see cref="Ready"/>.</summary>
    Held,
}

/// <summary>
/// A FAKE of the Kubernetes API server, in process (an <see cref="HttpMessageHandler"/> under KubernetesClient), not a
/// cluster. It implements exactly what the Kubernetes runtime relies on: create/get/list/watch/delete of Pods, PVs,
/// PVCs, ConfigMaps, Secrets, Jobs, StorageClasses and Nodes; 409 AlreadyExists on create and 409 Conflict on a PUT
/// with a stale resourceVersion; watches from a resourceVersion with 410 Gone once the history is compacted; label and
/// metadata.name field selectors. A fake kubelet moves pods on Ready nodes Pending → Running → Ready and a fake job
/// controller completes or fails Jobs; a lost node runs nothing and its pods lose Ready. What it does not do (admission,
/// the scheduler, finalizers, PV binding, cgroups) is not checked by any test against it.
/// </summary>
public sealed class FakeKubernetesApiServer : DelegatingHandler
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly List<(long Rv, string Plural, string? Ns, string Type, JsonObject Obj)> _history = [];
    private readonly List<Watch> _watches = [];
    private readonly List<string> _requests = [];
    private long _rv = 100;
    private long _compactedThrough;

    private sealed record Watch(string Plural, string? Ns, string? Name, Dictionary<string, string> Labels, Channel<byte[]> Channel);

    /// <summary>What the fake kubelet does with each pod (by name); Ready by default.</summary>
    public Func<string, PodFate> PodFates { get; set; } = _ => PodFate.Ready;

    /// <summary>Why a Job fails (by name), or null when it completes.</summary>
    public Func<string, string?> JobFailures { get; set; } = _ => null;

    /// <summary>Jobs (by name) the fake job controller leaves running until the test calls <see cref="FinishHeldJob"/>.</summary>
    public Func<string, bool> JobsHeld { get; set; } = _ => false;

    /// <summary>The fake job controller finishes a held Job now (complete, or failed by <see cref="JobFailures"/>).</summary>
    public Task FinishHeldJob(string ns, string name) => Task.Run(() => JobControllerAsync(ns, name, held: false));

    /// <summary>Every request as "METHOD path?query", in order.</summary>
    public IReadOnlyList<string> Requests { get { lock (_lock) return [.. _requests]; } }

    /// <summary>The next <paramref name="count"/> requests answer 503, as an API server that is restarting.</summary>
    public void FailNext(int count) { lock (_lock) _failNext = count; }
    private int _failNext;

    /// <summary>A client of this fake for one cluster, as the runtime factory would make from a kubeconfig.</summary>
    public IKubernetes Client() => new k8s.Kubernetes(new KubernetesClientConfiguration { Host = "http://fake-apiserver.invalid" }, this)
    {
        CreateWebSocketBuilder = () => new FakeExecBuilder(Exec),
    };

    /// <summary>
    /// The fake kubelet's CPU manager policy of each node (by name): "static" gives a Guaranteed pod as many exclusive
    /// CPUs as it asks, chosen by the kubelet (the highest free ones, so never the appliance's lowest-first choice);
    /// "none" lets every pod run on all the node's CPUs.
    /// </summary>
    public Func<string, string> CpuManagerPolicies { get; set; } = _ => "static";

    private readonly Dictionary<string, CpuSetText> _cpusets = new(StringComparer.Ordinal);
    private sealed record CpuSetText(string Node, int[] Cpus)
    {
        public override string ToString() => Domain.Topology.CpuSet.Of(Cpus).ToString();
    }

    /// <summary>The CPUs the fake kubelet gave the pod, as Cpus_allowed_list shows them; null before it runs.</summary>
    public string? CpusetOf(string ns, string pod) { lock (_lock) return _cpusets.GetValueOrDefault(Key("pods", ns, pod))?.ToString(); }

    private void AssignCpus(string ns, string name, JsonObject pod)
    {
        var key = Key("pods", ns, name);
        if (_cpusets.ContainsKey(key)) return;
        var node = pod["spec"]!["nodeName"]!.GetValue<string>();
        var nodeCpus = (int)new k8s.Models.ResourceQuantity(_objects[Key("nodes", null, node)]["status"]!["allocatable"]!["cpu"]!.GetValue<string>()).ToDecimal();
        var asked = (int)new k8s.Models.ResourceQuantity(pod["spec"]!["containers"]![0]!["resources"]?["limits"]?["cpu"]?.GetValue<string>() ?? "0").ToDecimal();
        if (CpuManagerPolicies(node) != "static" || asked < 1)
        {
            _cpusets[key] = new CpuSetText(node, [.. Enumerable.Range(0, nodeCpus)]);
            return;
        }
        var taken = _cpusets.Values.Where(c => c.Node == node && c.Cpus.Length < nodeCpus).SelectMany(c => c.Cpus).ToHashSet();
        _cpusets[key] = new CpuSetText(node, [.. Enumerable.Range(0, nodeCpus).Reverse().Where(c => !taken.Contains(c)).Take(asked).Order()]);
    }

    /// <summary>An exec in a pod: only what the runtime runs (grep Cpus_allowed_list /proc/1/status) is answered.</summary>
    private (string Stdout, int ExitCode) Exec(Uri uri)
    {
        var (_, ns, name) = Route(uri.AbsolutePath);
        lock (_lock)
        {
            _requests.Add($"GET {uri.PathAndQuery}");
            var pod = name?.Split('/')[0];
            var command = System.Web.HttpUtility.ParseQueryString(uri.Query).GetValues("command") ?? [];
            if (!command.SequenceEqual(["grep", "Cpus_allowed_list", "/proc/1/status"])) return ("", 127);
            return pod is not null && _cpusets.TryGetValue(Key("pods", ns, pod), out var cpus) ? ($"Cpus_allowed_list:\t{cpus}\n", 0) : ("", 1);
        }
    }

    // ---------------------------------------------------------------- nodes and the fake kubelet

    public void AddNode(string name, int cpus = 8, long memoryMiB = 32768)
    {
        var node = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Node",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["kubernetes.io/hostname"] = name } },
            ["status"] = new JsonObject
            {
                ["capacity"] = new JsonObject { ["cpu"] = cpus.ToString(CultureInfo.InvariantCulture), ["memory"] = $"{memoryMiB}Mi" },
                ["allocatable"] = new JsonObject { ["cpu"] = cpus.ToString(CultureInfo.InvariantCulture), ["memory"] = $"{memoryMiB}Mi" },
                ["conditions"] = new JsonArray(Condition("Ready", "True", "KubeletReady")),
            },
        };
        lock (_lock) Put("nodes", null, name, node, "ADDED");
    }

    /// <summary>
    /// The node's NodeResourceTopology object (as resource-topology-exporter writes it), served at
    /// /apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies/{node}; without one that GET is a 404 as with no CRD.
    /// </summary>
    public void SetNodeTopology(string node, JsonObject nodeResourceTopology)
    {
        nodeResourceTopology["apiVersion"] = "topology.node.k8s.io/v1alpha2";
        nodeResourceTopology["kind"] = "NodeResourceTopology";
        nodeResourceTopology["metadata"] = new JsonObject { ["name"] = node };
        lock (_lock) Put("noderesourcetopologies", null, node, nodeResourceTopology, "ADDED");
    }

    /// <summary>An NRT object of Node zones "node-0", "node-1", … with these allocatable CPUs (capacity = allocatable + reserved).</summary>
    public static JsonObject NumaZones(int reservedPerZone, params int[] allocatableCpus) => new()
    {
        ["zones"] = new JsonArray([.. allocatableCpus.Select((cpus, i) => (JsonNode)new JsonObject
        {
            ["name"] = $"node-{i}", ["type"] = "Node",
            ["resources"] = new JsonArray(new JsonObject
            {
                ["name"] = "cpu", ["capacity"] = $"{cpus + reservedPerZone}", ["allocatable"] = $"{cpus}", ["available"] = $"{cpus}",
            }),
        })]),
    };

    /// <summary>The node's kubelet stops: the node goes NotReady, its pods lose Ready, nothing more runs there.</summary>
    public void LoseNode(string name)
    {
        lock (_lock)
        {
            var node = _objects[Key("nodes", null, name)];
            node["status"]!["conditions"] = new JsonArray(Condition("Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."));
            Put("nodes", null, name, node, "MODIFIED");
            foreach (var (key, pod) in _objects.Where(o => o.Key.StartsWith("pods/", StringComparison.Ordinal)).ToList())
            {
                if (pod["spec"]?["nodeName"]?.GetValue<string>() != name) continue;
                pod["status"]!["conditions"] = new JsonArray(Condition("Ready", "False", "NodeLost"));
                Put("pods", pod["metadata"]!["namespace"]!.GetValue<string>(), pod["metadata"]!["name"]!.GetValue<string>(), pod, "MODIFIED");
            }
        }
    }

    /// <summary>Forgets the event history: a watch from an older resourceVersion is answered 410 Gone.</summary>
    public void CompactHistory() { lock (_lock) { _compactedThrough = _rv; _history.Clear(); } }

    /// <summary>The stored objects of a kind ("pods", "persistentvolumes", …) as KubernetesClient models.</summary>
    public IReadOnlyList<T> Objects<T>(string plural)
    {
        lock (_lock)
            return [.. _objects.Where(o => o.Key.StartsWith(plural + "/", StringComparison.Ordinal)).Select(o => KubernetesJson.Deserialize<T>(o.Value.ToJsonString()))];
    }

    private bool NodeReady(string? name) =>
        name is not null && _objects.TryGetValue(Key("nodes", null, name), out var node)
        && node["status"]!["conditions"]!.AsArray().Any(c => c!["type"]!.GetValue<string>() == "Ready" && c["status"]!.GetValue<string>() == "True");

    /// <summary>The fake kubelet runs a <see cref="PodFate.Held"/> pod now (Pending → Running → Ready).</summary>
    public Task StartHeldPod(string ns, string name) => Task.Run(() => KubeletAsync(ns, name, PodFate.Ready));

    private async Task KubeletAsync(string ns, string name, PodFate? fateNow = null)
    {
        var fate = fateNow ?? PodFates(name);
        if (fate is PodFate.StayPending or PodFate.Held) return;
        // Each step is its own change (its own resourceVersion), so a watch sees Pending, Running, then Ready.
        foreach (var step in fate == PodFate.Ready ? new[] { "running", "ready" } : ["running", "crash"])
        {
            await Task.Yield();
            lock (_lock)
            {
                if (!_objects.TryGetValue(Key("pods", ns, name), out var pod) || !NodeReady(pod["spec"]?["nodeName"]?.GetValue<string>())) return;
                AssignCpus(ns, name, pod);
                var status = pod["status"]!.AsObject();
                status["phase"] = "Running";
                status["conditions"] = new JsonArray(Condition("Ready", step == "ready" ? "True" : "False", step == "ready" ? "" : "ContainersNotReady"));
                var container = new JsonObject { ["name"] = "mysqld", ["restartCount"] = step == "crash" ? 1 : 0, ["ready"] = step == "ready" };
                container["state"] = step == "crash"
                    ? new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "CrashLoopBackOff", ["message"] = "back-off 10s restarting failed container" } }
                    : new JsonObject { ["running"] = new JsonObject { ["startedAt"] = "2026-01-01T00:00:00Z" } };
                if (step == "crash") container["lastState"] = new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = 1, ["reason"] = "Error", ["message"] = "[ERROR] Can't start server: Bind on TCP/IP port: Address already in use" } };
                status["containerStatuses"] = new JsonArray(container);
                Put("pods", ns, name, pod, "MODIFIED");
            }
        }
    }

    private async Task JobControllerAsync(string ns, string name, bool? held = null)
    {
        if (held ?? JobsHeld(name)) return;
        await Task.Yield();
        lock (_lock)
        {
            if (!_objects.TryGetValue(Key("jobs", ns, name), out var job)) return;
            if (!NodeReady(job["spec"]?["template"]?["spec"]?["nodeName"]?.GetValue<string>())) return; // its pod never starts
            var failure = JobFailures(name);
            job["status"] = failure is null
                ? new JsonObject { ["succeeded"] = 1, ["conditions"] = new JsonArray(Condition("Complete", "True", "")) }
                : new JsonObject { ["failed"] = 1, ["conditions"] = new JsonArray(Condition("Failed", "True", "BackoffLimitExceeded", failure)) };
            Put("jobs", ns, name, job, "MODIFIED");
        }
    }

    private static JsonObject Condition(string type, string status, string reason, string message = "") =>
        new() { ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message };

    // ---------------------------------------------------------------- the API

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await AnswerAsync(request, cancellationToken).ConfigureAwait(false);
        response.RequestMessage = request;
        return response;
    }

    private async Task<HttpResponseMessage> AnswerAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _requests.Add($"{request.Method} {uri.PathAndQuery}");
            if (_failNext > 0)
            {
                _failNext--;
                return Status(HttpStatusCode.ServiceUnavailable, "ServiceUnavailable", "the fake API server is restarting");
            }
        }
        var (plural, ns, name) = Route(uri.AbsolutePath);
        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        var method = request.Method.Method;
        lock (_lock)
        {
            if (method == "GET" && name is null && query["watch"] == "true") return OpenWatch(plural, ns, query);
            return (method, name) switch
            {
                ("GET", null) => List(plural, ns, query),
                ("GET", _) => _objects.TryGetValue(Key(plural, ns, name), out var found) ? Ok(found) : NotFound(plural, name),
                ("POST", null) => Create(plural, ns, JsonNode.Parse(body!)!.AsObject()),
                ("PUT", { } n) => Replace(plural, ns, n, JsonNode.Parse(body!)!.AsObject()),
                ("DELETE", { } n) => Delete(plural, ns, n),
                _ => Status(HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", $"{method} {uri.AbsolutePath}"),
            };
        }
    }

    private static (string Plural, string? Ns, string? Name) Route(string path)
    {
        var s = path.Trim('/').Split('/');
        var rest = s[0] == "api" ? s[2..] : s[3..]; // api/v1/… or apis/<group>/<version>/…
        return rest[0] == "namespaces" && rest.Length >= 3
            ? (rest[2], rest[1], rest.Length > 3 ? rest[3] : null)
            : (rest[0], null, rest.Length > 1 ? rest[1] : null);
    }

    private static string Key(string plural, string? ns, string name) => $"{plural}/{ns}/{name}";

    private HttpResponseMessage Create(string plural, string? ns, JsonObject obj)
    {
        var meta = obj["metadata"]!.AsObject();
        var name = meta["name"]!.GetValue<string>();
        if (_objects.ContainsKey(Key(plural, ns, name))) return Status(HttpStatusCode.Conflict, "AlreadyExists", $"{plural} \"{name}\" already exists");
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = "2026-01-01T00:00:00Z";
        if (ns is not null) meta["namespace"] = ns;
        if (plural == "pods") obj["status"] = new JsonObject { ["phase"] = "Pending", ["conditions"] = new JsonArray(Condition("PodScheduled", "True", "")) };
        if (plural == "jobs") obj["status"] = new JsonObject { ["active"] = 1 };
        Put(plural, ns, name, obj, "ADDED");
        if (plural == "pods") _ = Task.Run(() => KubeletAsync(ns!, name));
        if (plural == "jobs") _ = Task.Run(() => JobControllerAsync(ns!, name));
        return Ok(obj, HttpStatusCode.Created);
    }

    private HttpResponseMessage Replace(string plural, string? ns, string name, JsonObject obj)
    {
        if (!_objects.TryGetValue(Key(plural, ns, name), out var current)) return NotFound(plural, name);
        var sent = obj["metadata"]?["resourceVersion"]?.GetValue<string>();
        if (sent != current["metadata"]!["resourceVersion"]!.GetValue<string>())
            return Status(HttpStatusCode.Conflict, "Conflict", $"Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
        obj["metadata"]!["uid"] = current["metadata"]!["uid"]!.DeepClone();
        Put(plural, ns, name, obj, "MODIFIED");
        return Ok(obj);
    }

    private HttpResponseMessage Delete(string plural, string? ns, string name)
    {
        if (!_objects.Remove(Key(plural, ns, name), out var gone)) return NotFound(plural, name);
        _cpusets.Remove(Key(plural, ns, name));
        Record(plural, ns, "DELETED", gone, ++_rv);
        return Ok(gone);
    }

    private void Put(string plural, string? ns, string name, JsonObject obj, string type)
    {
        var rv = ++_rv;
        obj["metadata"]!["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        _objects[Key(plural, ns, name)] = obj;
        Record(plural, ns, type, obj, rv);
    }

    private void Record(string plural, string? ns, string type, JsonObject obj, long rv)
    {
        var copy = obj.DeepClone().AsObject();
        copy["metadata"]!["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture);
        _history.Add((rv, plural, ns, type, copy));
        foreach (var w in _watches.Where(w => Matches(w, plural, ns, copy))) Send(w, type, copy);
    }

    private HttpResponseMessage List(string plural, string? ns, System.Collections.Specialized.NameValueCollection query)
    {
        var labels = Selector(query["labelSelector"]);
        var name = FieldName(query["fieldSelector"]);
        var items = new JsonArray([.. _objects.Where(o => o.Key.StartsWith($"{plural}/{ns}/", StringComparison.Ordinal) || (ns is null && o.Key.StartsWith(plural + "/", StringComparison.Ordinal)))
            .Select(o => o.Value).Where(o => Matches(labels, name, o)).Select(o => o.DeepClone())]);
        return Ok(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "List", ["metadata"] = new JsonObject { ["resourceVersion"] = _rv.ToString(CultureInfo.InvariantCulture) }, ["items"] = items });
    }

    private HttpResponseMessage OpenWatch(string plural, string? ns, System.Collections.Specialized.NameValueCollection query)
    {
        var watch = new Watch(plural, ns, FieldName(query["fieldSelector"]), Selector(query["labelSelector"]), Channel.CreateUnbounded<byte[]>());
        var from = long.Parse(query["resourceVersion"] ?? _rv.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (from < _compactedThrough)
        {
            Send(watch, "ERROR", new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["code"] = 410, ["reason"] = "Expired", ["message"] = $"too old resource version: {from} ({_compactedThrough})" });
            watch.Channel.Writer.Complete();
        }
        else
        {
            // Replay what happened after the caller's resourceVersion, then follow: no change between its read and its watch is lost.
            foreach (var e in _history.Where(e => e.Rv > from && Matches(watch, e.Plural, e.Ns, e.Obj))) Send(watch, e.Type, e.Obj);
            _watches.Add(watch);
        }
        var stream = new ChannelStream(watch.Channel.Reader, () => { lock (_lock) _watches.Remove(watch); });
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(stream) };
    }

    private static void Send(Watch w, string type, JsonObject obj) =>
        w.Channel.Writer.TryWrite(Encoding.UTF8.GetBytes(new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString() + "\n"));

    private static bool Matches(Watch w, string plural, string? ns, JsonObject obj) => w.Plural == plural && (w.Ns is null || w.Ns == ns) && Matches(w.Labels, w.Name, obj);

    private static bool Matches(Dictionary<string, string> labels, string? name, JsonObject obj)
    {
        var meta = obj["metadata"]!;
        if (name is not null && meta["name"]?.GetValue<string>() != name) return false;
        return labels.All(l => meta["labels"]?[l.Key]?.GetValue<string>() == l.Value);
    }

    private static Dictionary<string, string> Selector(string? selector) =>
        (selector ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(t => t.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    private static string? FieldName(string? selector) =>
        selector is null ? null : selector.StartsWith("metadata.name=", StringComparison.Ordinal) ? selector["metadata.name=".Length..] : throw new NotSupportedException($"field selector {selector}");

    private static HttpResponseMessage Ok(JsonObject obj, HttpStatusCode code = HttpStatusCode.OK) =>
        new(code) { Content = new StringContent(obj.ToJsonString(), Encoding.UTF8, "application/json") };

    private static HttpResponseMessage NotFound(string plural, string name) => Status(HttpStatusCode.NotFound, "NotFound", $"{plural} \"{name}\" not found");

    private static HttpResponseMessage Status(HttpStatusCode code, string reason, string message) =>
        Ok(new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = reason, ["message"] = message, ["code"] = (int)code }, code);
}
