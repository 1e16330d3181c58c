#!/usr/bin/python3
"""Jepsen-style fault test of raftcache: the entry point.

    tests/chaos/run.py --time SECONDS --seed N --nodes 3|5 [--out DIR]
                       [--workload all|kv|queue|cache|stream|script|kv,stream|...]
    make chaos TIME=120 SEED=7 NODES=5        make chaos-short

Runs as root (network namespaces). One run: a fresh network (netns.py) and
cluster (cluster.py), client threads recording histories while the nemesis
injects faults for --time seconds (nemesis.py): the register/KV workload
(workload.py), the queue workload (queue_workload.py), the cache
workload (cache_workload.py: maxmemory and volatile-lru on every node), the
stream workload (stream_workload.py: a consumer group) and the script
workload (script_workload.py: writing EVALs whose result would depend on
the node if a script's run were not a pure function of its log entry) run
side by side under the same faults, each with its own history. Then heal
everything, check convergence (every node the same DEBUG DIGEST of the
whole keyspace, the script keys included: their count on every node is
reported), drain the queue (consumers run until every list stays empty)
and read its lists, drain the stream group (consumers run until nothing is
pending) and read every stream on every node, check the cache's eviction
counters (equal on every node) and read its keys, kill -9 every node, restart them, read every key, every
list, every stream and every cache key once more, check convergence again
(the script keys counted again), and hand the histories to
tests/chaos/checker.py, queue_checker.py, cache_checker.py,
stream_checker.py and script_checker.py. Prints the results table
(report.py) and writes it with history.jsonl, queue-history.jsonl,
cache-history.jsonl, stream-history.jsonl, script-history.jsonl,
nemesis.log and the node logs to the results dir (default
build/chaos/<seed>-<date>/).

--workload: all (the default: kv, queue, cache, stream and script), one of
kv, queue, cache, stream, script, or a comma-separated list of them (both:
kv,queue).
A server that does not know the commands of a workload selected (COMMAND
INFO: the queue's LPUSH BLMOVE LREM LRANGE LLEN, the stream's XADD XGROUP
XREADGROUP XACK XAUTOCLAIM XPENDING XINFO XRANGE) is a harness error (exit
2).

Exit status: 0 pass; 1 a finding (anomaly, no convergence, a node that
crashed by itself, cluster unavailable after healing, a queue or a stream
group that did not drain, evicted_keys that differ between the nodes or
stay 0 after healing, script keys counted differently on the nodes or
absent after a convergence check); 2 a harness error
(or not root); 130 interrupted. Namespaces and processes are removed on
every path out, Ctrl-C and SIGTERM included; leftovers of a crashed earlier
run are removed at start.
"""

import argparse
import datetime
import importlib.util
import json
import os
import random
import shutil
import signal
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import netns  # noqa: E402
import report  # noqa: E402
import cluster  # noqa: E402
from cluster import Cluster, HarnessError, NoLeader  # noqa: E402
from nemesis import FAULT_DECK, Nemesis, stamp  # noqa: E402
from workload import ALL_KEYS, History, Worker, final_reads  # noqa: E402
from queue_workload import QUEUE_COMMANDS, QueueWorkload, missing_commands  # noqa: E402
from cache_workload import CacheWorkload  # noqa: E402
from stream_workload import STREAM_COMMANDS, StreamWorkload  # noqa: E402
from script_workload import ScriptWorkload  # noqa: E402

N_WORKERS = 8
OP_DELAY_S = 0.05       # pause between one thread's ops (rate limit)
N_SPARE = 1             # empty slots for member-replace
WORKLOADS = ("kv", "queue", "cache", "stream", "script")
SIDE_WORKLOADS = ("queue", "cache", "stream", "script")  # each with its own history and checker
WORKLOAD_ALIASES = {"all": WORKLOADS, "both": ("kv", "queue")}
STREAM_VANISH = (0.2, 0.6)  # a stream consumer vanishes at this fraction of --time
FINAL_PROCESS = 100000  # process ids of the final reads


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--time", type=float, default=120, help="seconds of workload and faults")
    p.add_argument("--seed", type=int, default=None, help="nemesis seed (default: random)")
    p.add_argument("--nodes", type=int, default=5, choices=(3, 5))
    p.add_argument("--out", default=None, help="results dir (default build/chaos/<seed>-<date>)")
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "raftcache"))
    p.add_argument("--workload", default="all",
                   help="all (default: kv, queue, cache, stream, script), kv, queue, cache, "
                        "stream, script, or a comma-separated list (both: kv,queue)")
    p.add_argument("--faults", default="",
                   help="comma-separated fault kinds to deal (default: every kind; see nemesis.py)")
    args = p.parse_args()
    names = [w for w in args.workload.replace(" ", "").split(",") if w]
    bad = [w for w in names if w not in WORKLOADS and w not in WORKLOAD_ALIASES]
    if bad or not names:
        p.error(f"unknown workload(s) {', '.join(bad) or '(none)'}; known: all, both, "
                f"{', '.join(WORKLOADS)}")
    args.workloads = {x for w in names for x in WORKLOAD_ALIASES.get(w, (w,))}
    kinds = {k for k, _ in FAULT_DECK}
    args.faults = [k for k in args.faults.replace(" ", "").split(",") if k]
    unknown = [k for k in args.faults if k not in kinds]
    if unknown:
        p.error(f"unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(sorted(kinds))}")
    if args.faults and set(args.faults) <= {"member-readd", "member-replace"}:
        p.error("--faults needs at least one kind besides member-readd/member-replace "
                "(those are skipped when they cannot run)")
    return args


def preflight(args):
    """Refuses to start (exit 2, with the reason) when a run cannot work."""
    why = None
    if os.geteuid() != 0:
        why = ("must run as root: it creates network namespaces and veth links (ip netns); "
               "run `sudo make chaos` or as root")
    elif shutil.which("ip") is None:
        why = "the `ip` command (Debian package iproute2) is missing"
    elif not os.access(args.bin, os.X_OK):
        why = f"{args.bin} not found; run `make` first"
    elif not all(os.path.exists(os.path.join(HERE, f"{w}checker.py"))
                 for w in ("", "queue_", "cache_", "stream_", "script_")):
        why = ("tests/chaos/checker.py, queue_checker.py, cache_checker.py, "
               "stream_checker.py or script_checker.py not found")
    if why:
        print(f"chaos: {why}", file=sys.stderr)
        sys.exit(2)


def load_checker(name="checker"):
    spec = importlib.util.spec_from_file_location("chaos_" + name, os.path.join(HERE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def on_sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


class Run:
    def __init__(self, args, seed, out):
        self.args, self.seed, self.out = args, seed, out
        self.t_start = time.monotonic()
        self.log_file = open(os.path.join(out, "nemesis.log"), "a")
        self.net = netns.Network(args.nodes + N_SPARE, log=self.say)
        self.cl = None
        self.history = History()
        self.workers = []
        self.nemesis = None
        self.queue = None
        self.cache = None
        self.stream = None
        self.script = None
        self.failures = []
        self.r = {"seed": seed, "nodes": args.nodes, "time_s": args.time, "out_dir": out,
                  "workload": args.workload, "workloads": sorted(args.workloads),
                  "cache": {"status": "not selected" if "cache" not in args.workloads
                            else "not started", "check": None, "unread": []},
                  "queue": {"status": "not selected" if "queue" not in args.workloads
                            else "not started",
                            "drained": None, "drain_detail": "not reached", "check": None,
                            "unread": []},
                  "stream": {"status": "not selected" if "stream" not in args.workloads
                             else "not started",
                             "drained": None, "drain_detail": "not reached", "check": None,
                             "unread": []},
                  "script": {"status": "not selected" if "script" not in args.workloads
                             else "not started", "check": None},
                  "faults": {}, "converged": False, "converge_detail": "not reached",
                  "converged_restart": False, "converge_restart_detail": "not reached",
                  "snapshots": {}, "crashes": [], "outstanding": 0, "check": None,
                  "t0": self.t_start, "final_unread": None, "probes": []}
        self.final_start = None

    def say(self, msg):
        line = f"{time.monotonic() - self.t_start:8.3f} {stamp()}  {msg}"
        self.log_file.write(line + "\n")
        self.log_file.flush()
        print(f"[chaos]   {line}", flush=True)

    # -- phases ----------------------------------------------------------------------
    def run(self):
        self.net.create()
        self.cl = Cluster(self.net, self.args.nodes, N_SPARE, self.out, self.args.bin, self.say)
        self.cl.start_initial()
        ld = self.cl.wait_leader(30)
        self.say(f"cluster up: {self.args.nodes} nodes, leader {ld}")
        self.setup_queue(ld)
        self.setup_stream(ld)
        self.setup_cache()
        self.setup_script()
        self.workload_and_faults()
        self.heal_and_converge()
        self.drain_queue()
        self.drain_stream()
        self.cache_after_heal()
        self.restart_all_and_read()
        self.check()

    def require_commands(self, leader, commands, what):
        """HarnessError unless the server knows commands (COMMAND INFO)."""
        for attempt in range(3):
            try:
                missing = missing_commands(leader, commands=commands)
                break
            except HarnessError:
                if attempt == 2:
                    raise
                time.sleep(1)
        if missing:
            why = f"the server does not know {' '.join(missing)} (COMMAND INFO)"
            raise HarnessError(f"{what} workload: {why}")

    def setup_queue(self, leader):
        """The queue workload, if selected (the server must know the list commands)."""
        if "queue" not in self.args.workloads:
            return
        self.require_commands(leader, QUEUE_COMMANDS, "queue")
        self.queue = QueueWorkload(self.cl, self.seed, log=self.say)
        self.r["queue"]["status"] = "ran"

    def setup_stream(self, leader):
        """The stream workload, if selected (the server must know the stream
        and consumer group commands): its group on every stream key. One
        consumer vanishes at a seeded point of the fault window."""
        if "stream" not in self.args.workloads:
            return
        self.require_commands(leader, STREAM_COMMANDS, "stream")
        vanish = random.Random(f"{self.seed}/stream-vanish").uniform(*STREAM_VANISH)
        self.stream = StreamWorkload(self.cl, self.seed, log=self.say,
                                     vanish_after_s=vanish * self.args.time)
        self.stream.setup()
        self.r["stream"]["status"] = "ran"

    def setup_cache(self):
        """The cache workload, if selected: maxmemory and the policy on every node."""
        if "cache" not in self.args.workloads:
            return
        self.cache = CacheWorkload(self.cl, self.seed, log=self.say)
        self.cache.setup()
        self.r["cache"].update(status="ran", maxmemory=self.cache.maxmemory,
                               used_memory_at_setup=self.cache.used_at_setup)

    def setup_script(self):
        """The script workload, if selected (EVAL of divergence-prone scripts)."""
        if "script" not in self.args.workloads:
            return
        self.script = ScriptWorkload(self.cl, self.seed, log=self.say)
        self.r["script"]["status"] = "ran"

    def script_keys(self, phase):
        """How many script keys each member holds, read right after a
        convergence check that compared every member's digest of the whole
        keyspace: the report shows they were among the keys compared."""
        if not self.script:
            return
        counts = self.script.key_counts()
        self.r["script"]["keys_" + phase.replace(" ", "_")] = counts
        self.say(f"script keys {phase} (in the digests compared): {counts}")
        ok = [n for n in counts.values() if isinstance(n, int)]
        evals = sum(1 for ev in self.script.history.snapshot() if ev["type"] == "ok")
        if len(ok) != len(counts) or len(set(ok)) > 1 or (evals and not any(ok)):
            self.failures.append(f"script keys {phase}: {counts}")

    def side_workloads(self):
        """The queue, cache, stream and script workloads of the run (those selected)."""
        return [w for w in (self.queue, self.cache, self.stream, self.script) if w is not None]

    def clients(self):
        """Every client thread of the fault window (the nemesis quiesces them)."""
        return self.workers + [c for w in self.side_workloads() for c in w.clients()]

    def workload_and_faults(self):
        stop = threading.Event()
        t0 = self.t_start  # one time origin for the logs, the nemesis and the report
        deadline = time.monotonic() + self.args.time
        if "kv" in self.args.workloads:
            self.workers = [Worker(i, N_WORKERS, self.cl, self.history, self.seed, stop,
                                   OP_DELAY_S) for i in range(N_WORKERS)]
        self.nemesis = Nemesis(self.cl, self.net, self.seed, deadline - t0, self.log_file, t0,
                               self.clients,
                               kinds=self.args.faults)
        for w in self.workers:
            w.start()
        for w in self.side_workloads():
            w.start(stop)
        self.nemesis.start()
        while time.monotonic() < deadline and self.nemesis.is_alive():
            time.sleep(0.5)  # the run's own duration
        self.nemesis.stop.set()
        self.nemesis.join(120)
        if self.nemesis.is_alive():
            raise HarnessError("the nemesis did not stop within 120s")
        stop.set()
        for w in self.workers:
            w.join(10)
        for w in self.side_workloads():
            w.join()
        self.r["outstanding"] = self.history.close()
        errors = [f"{w.name}: {w.error}" for w in self.workers if w.error]
        for w in self.side_workloads():
            errors += w.errors()
        if self.nemesis.error:
            errors.append(f"nemesis: {self.nemesis.error}")
        if errors:
            raise HarnessError("; ".join(errors))
        self.say(f"workload stopped: {len(self.history.events)} events, "
                 f"{self.r['outstanding']} ops still outstanding"
                 + "".join(f"; {w.name}: {len(w.history.events)} events"
                           for w in self.side_workloads()))

    def heal_and_converge(self):
        try:
            self.nemesis.heal_all(final=True)
            ld = self.cl.wait_leader(30)
        except (NoLeader, cluster.WaitTimeout) as e:
            self.failures.append(f"no leader after healing ({e})")
            raise Finding() from None
        self.say(f"healed: leader {ld}, members {self.cl.member_slots()}")
        ok, detail = self.cl.wait_converged(60)
        self.r["converged"], self.r["converge_detail"] = ok, detail
        self.say(f"convergence: {'yes' if ok else 'NO'}: {detail}")
        if not ok:
            self.failures.append("nodes did not converge")
        else:
            self.script_keys("after healing")
        # From the logs: RAFT.INFO's counters restart with each process.
        for s in self.cl.slots:
            made = self.cl.log_count(s, b"Background snapshot started")
            got = self.cl.log_count(s, b"Snapshot from the leader installed")
            if made or got:
                self.r["snapshots"][f"slot{s.index}"] = (made, got)
        # Released log entries read back from disk for lagging followers
        # (raft-log-max-memory), by the processes alive now.
        # And the follower read rounds (RAFT.READONLY) the leader confirmed
        # and did not, by the same processes.
        read_back, rounds = {}, {}
        for s in self.cl.slots:
            info = s.raft_info(timeout_s=1) or {}
            if int(info.get("log_disk_entries_read", 0)):
                read_back[f"slot{s.index}"] = int(info["log_disk_entries_read"])
            ok, failed = (int(info.get(f, 0)) for f in ("follower_read_rounds",
                                                         "follower_read_rounds_failed"))
            if ok or failed:
                rounds[f"slot{s.index}"] = (ok, failed)
        self.say(f"log entries read back from disk: {read_back or 'none'}")
        self.say(f"follower read rounds (confirmed, not) since each node's start: "
                 f"{rounds or 'none'}")

    def drain_queue(self):
        """Consumers run again on the healed cluster until every list stays
        empty (or a deadline); then one read of every list on the leader."""
        if not self.queue:
            return
        q = self.r["queue"]
        q["drained"], q["drain_detail"] = self.queue.drain()
        self.say(f"queue drain: {'done' if q['drained'] else 'NOT DONE'}: {q['drain_detail']}")
        errors = self.queue.errors()
        if errors:
            raise HarnessError("; ".join(errors))
        if not q["drained"]:
            self.failures.append("the queue did not drain")
        self.queue.history.close()
        unread = self.queue.final_reads("after drain")
        if unread:
            q["unread"] += unread
            self.failures.append(f"queue final reads of {unread} did not succeed")

    def drain_stream(self):
        """The stream consumers run again on the healed cluster until nothing
        is pending (or a deadline); once the nodes converged, every stream
        read on every node."""
        if not self.stream:
            return
        s = self.r["stream"]
        s["drained"], s["drain_detail"] = self.stream.drain()
        self.say(f"stream drain: {'done' if s['drained'] else 'NOT DONE'}: {s['drain_detail']}")
        errors = self.stream.errors()
        if errors:
            raise HarnessError("; ".join(errors))
        if not s["drained"]:
            self.failures.append("the stream group did not drain")
        self.stream.history.close()
        ok, detail = self.cl.wait_converged(60)
        s["converged_after_drain"] = f"{'yes' if ok else 'NO'}: {detail}"
        if not ok:
            self.failures.append("nodes did not converge after the stream's drain")
        self.stream_final_reads("after drain")

    def stream_final_reads(self, phase):
        unread = self.stream.final_reads(phase)
        if unread:
            self.r["stream"]["unread"] += unread
            self.failures.append(f"stream final reads of {unread} {phase} did not succeed")
        self.say(f"stream final reads ({phase}) done")

    def cache_after_heal(self):
        """The eviction counters' check, then one read of every cache key."""
        if not self.cache:
            return
        failures, figures = self.cache.after_heal()
        self.r["cache"].update(figures)
        self.failures += failures
        self.cache_final_reads("after healing")

    def cache_final_reads(self, phase):
        left = self.cache.final_reads(phase)
        if left:
            self.r["cache"]["unread"].append(f"{left} keys {phase}")
            self.failures.append(f"cache final reads of {left} keys {phase} did not succeed")
        self.say(f"cache final reads ({phase}) done")

    def restart_all_and_read(self):
        members = self.cl.member_slots()
        for s in members:
            self.cl.kill9(s)
        self.say(f"kill -9 of every node: {members}")
        for s in members:
            self.cl.launch(s)
        for s in members:
            if not self.cl.wait_ping(s):
                self.cl.check_crashes()
        try:
            ld = self.cl.wait_leader(60)
        except cluster.WaitTimeout as e:
            self.failures.append(f"no leader after the final restart ({e})")
            raise Finding() from None
        self.say(f"restarted every node: leader {ld}")
        used = {ev.get("key") for ev in self.history.events if ev.get("key")}
        used |= {k for ev in self.history.events for k in ev.get("keys", [])}
        keys = [k for k in ALL_KEYS if k in used]
        keys += sorted(k for k in used if "#" in k and k not in ALL_KEYS)  # set members
        self.final_start = len(self.history.events)
        unread = final_reads(self.cl, self.history, keys, FINAL_PROCESS, log=self.say)
        if unread:
            self.r["final_unread"] = unread
            self.failures.append(f"final reads of {unread} did not succeed")
        self.say(f"final reads of {len(keys)} keys done")
        if self.queue:
            unread = self.queue.final_reads("after restart")
            if unread:
                self.r["queue"]["unread"] += unread
                self.failures.append(f"queue final reads of {unread} after the restart "
                                     f"did not succeed")
            self.say("final reads of the queue's lists done")
        if self.cache:
            self.cache_final_reads("after restart")
        ok, detail = self.cl.wait_converged(60)
        self.r["converged_restart"], self.r["converge_restart_detail"] = ok, detail
        self.say(f"convergence after the restart: {'yes' if ok else 'NO'}: {detail}")
        if not ok:
            self.failures.append("nodes did not converge after the final restart")
        else:
            self.script_keys("after restart")
        if self.stream:
            self.stream_final_reads("after restart")  # on every node: after convergence
        self.cl.check_crashes()  # last look before teardown kills everything

    def check(self):
        self.write_history()
        if "kv" in self.args.workloads:
            checker = load_checker()
            t = time.monotonic()
            result = checker.check(self.history.snapshot())
            self.say(f"checker done in {time.monotonic() - t:.1f}s: valid={result.get('valid')}")
            self.r["check"] = result
            self.r["format_op"] = getattr(checker, "format_op", None)
            if result.get("valid") is not True or result.get("anomalies"):
                self.failures.append(f"checker: valid={result.get('valid')}, "
                                     f"{len(result.get('anomalies') or [])} anomalies")
        for w in self.side_workloads():
            mod = load_checker(f"{w.name}_checker")
            result = mod.check(w.history.snapshot())
            self.say(f"{w.name} checker: valid={result['valid']}: {mod.figures(result['stats'])}")
            self.r[w.name]["check"] = result
            self.r[f"{w.name}_format_op"] = mod.format_op
            self.r[f"{w.name}_figures"] = mod.figures
            if not result["valid"]:
                self.failures.append(f"{w.name} checker: {result['reason']}")

    # -- output ----------------------------------------------------------------------
    def write_history(self):
        self.history.write_jsonl(os.path.join(self.out, "history.jsonl"))
        for w in self.side_workloads():
            w.history.write_jsonl(os.path.join(self.out, f"{w.name}-history.jsonl"))

    def finish(self):
        """Results table and files; returns the table."""
        events = self.history.snapshot()
        split = self.final_start if self.final_start is not None else len(events)
        self.r["workload_events"], self.r["final_events"] = events[:split], events[split:]
        for name in SIDE_WORKLOADS:
            w = getattr(self, name)
            self.r[f"{name}_events"] = w.history.snapshot() if w else []
        self.r["elapsed_s"] = time.monotonic() - self.t_start
        if self.nemesis is not None:
            self.r["faults"] = dict(self.nemesis.counts)
            self.r["probes"] = list(self.nemesis.probes)
            if any(ok for _, ok, _ in self.nemesis.probes):
                self.failures.append("a node cut off in a minority acknowledged a write")
        if self.cl is not None:
            self.r["crashes"] = list(self.cl.crashes)
            if self.cl.crashes:
                self.failures.append(f"{len(self.cl.crashes)} node crash(es)")
        self.r["failures"] = self.failures
        text = report.render(self.r)
        with open(os.path.join(self.out, "results.txt"), "w") as f:
            f.write(text)
        skip = {"workload_events", "final_events", "format_op"} | {
            f"{name}_{part}" for name in SIDE_WORKLOADS for part in ("events", "format_op",
                                                                       "figures")}
        summary = {k: v for k, v in self.r.items() if k not in skip}
        with open(os.path.join(self.out, "results.json"), "w") as f:
            json.dump(summary, f, indent=1, default=repr)
        if self.cl is not None and self.cl.crashes:
            with open(os.path.join(self.out, "crashes.txt"), "w") as f:
                for t, who, rc, tail in self.cl.crashes:
                    f.write(f"==== {who} status {rc} at {t - self.r['t0']:.1f}s\n{tail}\n")
        return text

    def teardown(self):
        if self.nemesis is not None:
            self.nemesis.stop.set()
        if self.cl is not None:
            self.cl.stop_all()
        self.net.teardown()
        self.log_file.close()


class Finding(Exception):
    """Ends the run early with a failure already recorded in Run.failures."""


def main():
    args = parse_args()
    preflight(args)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    date = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.abspath(args.out or os.path.join(ROOT, "build", "chaos", f"{seed}-{date}"))
    os.makedirs(out, exist_ok=True)
    print(f"chaos: seed {seed} ({args.nodes} nodes, {args.time:g}s); results in {out}", flush=True)
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    netns.cleanup_stale(log=lambda m: print(f"chaos: {m}", flush=True))
    run = Run(args, seed, out)
    status = 0
    try:
        run.run()
    except Finding:
        pass
    except KeyboardInterrupt:
        print("chaos: interrupted; tearing down", flush=True)
        run.failures.append("interrupted")
        status = 130
    except Exception as e:  # noqa: BLE001 - any harness failure: report, tear down, exit 2
        traceback.print_exc()
        run.failures.append(f"harness error: {type(e).__name__}: {e}")
        status = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # teardown must finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            run.teardown()
        finally:
            run.write_history()
    text = run.finish()
    print(text, end="", flush=True)
    if status == 0 and run.failures:
        status = 1
    if status == 0:
        shutil.rmtree(os.path.join(out, "data"), ignore_errors=True)  # logs stay
    print(f"chaos: seed {seed}: {'PASS' if status == 0 else 'FAIL'} (exit {status}); "
          f"results in {out}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
