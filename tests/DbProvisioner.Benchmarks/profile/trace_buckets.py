#!/usr/bin/env python3
"""CPU buckets and top frames of a dotnet-trace sampled-thread-time trace, waits left out (see ../PROFILE.md).

usage: dotnet-trace convert X.nettrace --format speedscope -o X; trace_buckets.py X.speedscope.json [exclusive-N] [inclusive-N]
The sampler records every thread, running or not: a sample is kept only when its thread ran (not blocked in a wait,
the socket engine's epoll, or an idle thread-pool worker). Each kept sample goes to one bucket (first rule that matches).
"""
import collections, json, re, sys

WAIT = re.compile(r'WaitOneNoCheck|WaitNative|Monitor\.Wait|WaitForSignal|PollGC|LowLevelSpinWaiter|Thread\.Sleep|'
                  r'LowLevelLifoSemaphore\.Wait\(|SemaphoreSlim\.Wait|WaitHandle|WaitForSocketEvents|Thread\.Join|ManualResetEventSlim\.Wait|InternalWaitCore')
IDLE_NATIVE = re.compile(r'EventLoop|WaitFor|Wait\(|Sleep|TimerThread|RunPlatformWatchdog|PollForValues')
RULES = [  # (bucket, pattern over the whole stack) in order
    ('orleans GetGrain type lookup', r'GrainFactory\.GetGrain\('),
    ('storage (MySqlConnector, group commit, Polly)', r'MySqlConnector|MySqlGrainStorage|GroupCommit|StoragePipeline'),
]
LEAF_RULES = [  # innermost frame that matches one of these
    ('orleans serialization', r'OrleansCodeGen.*(Codec_|Copier_)|Orleans\.Serialization|OrleansGrainStorageSerializer|Orleans\.Storage\.Memory|MemoryGrainStorage|MemoryStorageGrain'),
    ('orleans messaging/scheduling', r'OrleansCodeGen.*(Invokable_|Proxy_)|Orleans|GrainReference|ActivationData|MessageCenter'),
    ('json (System.Text.Json of Domain types)', r'System\.Text\.Json|Utf8Json'),
    ('domain decisions', r'DbProvisioner\.Domain'),
    ('gc/alloc', r'\bGC\b|GC\.|gc_heap|Allocat'),
    ('project (grains, contracts)', r'DbProvisioner'),
]


def main():
    d = json.load(open(sys.argv[1]))
    n_excl = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    n_incl = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    frames = [f['name'] for f in d['shared']['frames']]
    incl, excl, buckets = collections.Counter(), collections.Counter(), collections.Counter()
    kept = dropped = 0.0
    for prof in d['profiles']:
        stack, last = [], None
        for ev in prof['events']:
            t = ev['at']
            if stack and last is not None:
                dt, names = t - last, [frames[i] for i in stack]
                pseudo = names[-1] if names[-1] in ('UNMANAGED_CODE_TIME', 'CPU_TIME') else None
                if pseudo:
                    names = names[:-1]
                idle = not names or any(WAIT.search(x) for x in names[-3:]) \
                    or (names[-1] == '?!?' and any('SocketAsyncEngine.EventLoop' in x for x in names)) \
                    or re.search(r'WorkerThreadStart|Thread\.StartCallback', names[-1]) \
                    or (pseudo == 'UNMANAGED_CODE_TIME' and any(IDLE_NATIVE.search(x) for x in names))
                if idle:
                    dropped += dt
                else:
                    kept += dt
                    excl[names[-1]] += dt
                    for x in set(names):
                        incl[x] += dt
                    b = next((name for name, p in RULES if any(re.search(p, x) for x in names)), None)
                    if b is None:
                        b = next((name for x in reversed(names) for name, p in LEAF_RULES if re.search(p, x)), 'runtime/other')
                    buckets[b] += dt
            last = t
            if ev['type'] == 'O':
                stack.append(ev['frame'])
            elif stack:
                stack.pop()
    print(f"{sys.argv[1]}: {kept / (kept + dropped) * 100:.1f}% of thread samples running")
    print("buckets:")
    for k, v in buckets.most_common():
        print(f"  {v / kept * 100:5.1f}%  {k}")
    print("exclusive:")
    for k, v in excl.most_common(n_excl):
        print(f"  {v / kept * 100:5.1f}%  {k[:140]}")
    print("inclusive (threading and async plumbing left out):")
    plumbing = re.compile(r'AsyncStateMachineBox|AsyncMethodBuilder|ExecutionContext|System\.Threading|Thread \(|Process64|'
                          r'Non-Activities|^Threads$|WorkItemGroup|RunMessageLoop|GrainMethodInvoker|TaskRequest|Polly|'
                          r'StateStorageBridge|InvokeIncomingRequest|ProcessPendingRequests|InvokeInner|MoveNext|SetResult|\.Start\(')
    for k, v in [(k, v) for k, v in incl.most_common(600) if not plumbing.search(k)][:n_incl]:
        print(f"  {v / kept * 100:5.1f}%  {k[:140]}")


if __name__ == '__main__':
    main()
