using System.Collections.Concurrent;

namespace DbProvisioner.Grains.Tests.Cluster;

/// <summary>One grain call a traced request caused: which grain interface and method, in the order calls arrived.</summary>
public sealed record RecordedCall(string Interface, string Method, GrainId Target)
{
    public override string ToString() => $"{Interface}.{Method}";
}

/// <summary>
/// Records every grain call that carries a test's trace id in its request context (set by the test before its first
/// call; Orleans passes it on to every call made while handling it, including the instance's background steps), and
/// can hold chosen calls back, to show that a later call does not wait for them.
/// </summary>
public sealed class GrainCallRecorder : IIncomingGrainCallFilter
{
    public const string TraceKey = "dbprov.test.trace";

    private static readonly ConcurrentDictionary<string, Trace> Traces = new(StringComparer.Ordinal);

    /// <summary>Starts recording the calls of a new trace, and sets it on the caller's request context.</summary>
    public static Trace Start()
    {
        var trace = new Trace(Guid.NewGuid().ToString("N"));
        Traces[trace.Id] = trace;
        RequestContext.Set(TraceKey, trace.Id);
        return trace;
    }

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        // The project's grains only: the test silo's in-memory storage is a grain too, the meta database is not.
        if (RequestContext.Get(TraceKey) is string id && Traces.TryGetValue(id, out var trace)
            && context.InterfaceName.StartsWith("DbProvisioner.", StringComparison.Ordinal))
        {
            var call = new RecordedCall(context.InterfaceName.Split('.')[^1], context.MethodName, context.TargetId);
            await trace.ArriveAsync(call);
        }
        await context.Invoke();
    }

    public sealed class Trace(string id) : IDisposable
    {
        private readonly List<RecordedCall> _calls = [];
        private readonly List<(Func<RecordedCall, bool> Which, Task Release)> _holds = [];
        private readonly List<(Func<RecordedCall, bool> Which, TaskCompletionSource Seen)> _awaited = [];

        public string Id { get; } = id;

        /// <summary>Every call so far, in the order they arrived.</summary>
        public IReadOnlyList<RecordedCall> Calls
        {
            get { lock (_calls) return [.. _calls]; }
        }

        /// <summary>Calls matching <paramref name="which"/> wait (after being recorded) until <paramref name="release"/> completes.</summary>
        public void Hold(Func<RecordedCall, bool> which, Task release)
        {
            lock (_calls) _holds.Add((which, release));
        }

        /// <summary>Completes when a call matching <paramref name="which"/> arrives.</summary>
        public Task Arrival(Func<RecordedCall, bool> which)
        {
            lock (_calls)
            {
                if (_calls.Any(which)) return Task.CompletedTask;
                var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _awaited.Add((which, seen));
                return seen.Task;
            }
        }

        internal Task ArriveAsync(RecordedCall call)
        {
            Task[] holds;
            lock (_calls)
            {
                _calls.Add(call);
                foreach (var (which, seen) in _awaited.Where(a => a.Which(call))) seen.TrySetResult();
                holds = [.. _holds.Where(h => h.Which(call)).Select(static h => h.Release)];
            }
            return Task.WhenAll(holds);
        }

        public void Dispose()
        {
            Traces.TryRemove(Id, out _);
            RequestContext.Remove(TraceKey);
        }
    }
}
