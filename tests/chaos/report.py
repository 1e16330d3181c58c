"""The results of a chaos run as a table: ops by f and outcome, availability
per 10-second window, faults by kind, convergence, snapshots, crashes, the
checkers' verdicts and their first anomalies (register/KV, queue, cache,
stream, script).
Pure formatting over data run.py collected; nothing here talks to the
cluster.
"""

import json
from collections import Counter, defaultdict

F_ORDER = ["write", "read", "incr", "txn-write", "txn-read"]
WINDOW_S = 10
SLICE_LINES = 30


def op_counts(events):
    """{f: Counter(type)} over completions."""
    counts = defaultdict(Counter)
    for ev in events:
        if ev["type"] != "invoke":
            counts[ev["f"]][ev["type"]] += 1
    return counts


def availability(events, t0):
    """[(window start s, ok, all)] by invoke time, and (ok, all) overall.
    An op counts in the window its invoke falls in."""
    per = defaultdict(lambda: [0, 0])
    open_inv = {}
    for ev in events:
        if ev["type"] == "invoke":
            open_inv[ev["process"]] = ev["time"]
            continue
        t = open_inv.pop(ev["process"], None)
        if t is None:
            continue
        w = int((t - t0) // WINDOW_S)
        per[w][1] += 1
        if ev["type"] == "ok":
            per[w][0] += 1
    rows = [(w * WINDOW_S, ok, n) for w, (ok, n) in sorted(per.items())]
    return rows, (sum(r[1] for r in rows), sum(r[2] for r in rows))


def pct(ok, n):
    return f"{100.0 * ok / n:5.1f}%" if n else "   - "


def fmt_anomaly(a, format_op=None, t0=None):
    """A readable anomaly, whatever shape the checker gives it; slice ops
    through the checker's own format_op when it has one."""
    if not isinstance(a, dict):
        return [repr(a)[:2000]]
    lines = []
    for k, v in a.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            lines.append(f"  {k}: ({len(v)} ops)")
            for ev in v[:SLICE_LINES]:
                lines.append("    " + (format_op(ev, t0) if format_op else json.dumps(ev)))
            if len(v) > SLICE_LINES:
                lines.append(f"    ... {len(v) - SLICE_LINES} more")
        else:
            lines.append(f"  {k}: {v if isinstance(v, str) else json.dumps(v, default=repr)}"[:2000])
    return lines


def ops_section(work, final):
    out = [f"{'ops':<12}{'ok':>8}{'fail':>8}{'info':>8}{'total':>8}"]
    counts = op_counts(work)
    tot = Counter()
    for f in F_ORDER + sorted(set(counts) - set(F_ORDER)):
        c = counts.get(f, Counter())
        tot.update(c)
        out.append(f"{f:<12}{c['ok']:>8}{c['fail']:>8}{c['info']:>8}{sum(c.values()):>8}")
    out.append(f"{'all':<12}{tot['ok']:>8}{tot['fail']:>8}{tot['info']:>8}{sum(tot.values()):>8}")
    fc = op_counts(final).get("read", Counter())
    out.append(f"{'final read':<12}{fc['ok']:>8}{fc['fail']:>8}{fc['info']:>8}{sum(fc.values()):>8}")
    return out


def availability_section(work, t0):
    rows, (ok, n) = availability(work, t0)
    out = [f"availability (ok / all ops, by invoke time, {WINDOW_S}s windows from the start):"]
    cells = [f"{start:>4}s {pct(wok, wn)}" for start, wok, wn in rows]
    for i in range(0, len(cells), 5):
        out.append("  " + "   ".join(cells[i:i + 5]))
    out.append(f"  overall {pct(ok, n)} ({ok}/{n})")
    return out


def cluster_section(r):
    faults = r["faults"]
    out = [f"faults injected ({sum(faults.values())}): "
           + (", ".join(f"{k} {v}" for k, v in sorted(faults.items())) or "none"),
           f"convergence after healing: {'yes' if r['converged'] else 'NO'} "
           f"({r['converge_detail']})",
           f"convergence after kill -9 of all and restart: "
           f"{'yes' if r['converged_restart'] else 'NO'} ({r['converge_restart_detail']})",
           "snapshots taken/installed from the leader, per slot (node logs): " + (", ".join(
               f"{k} {c}/{rcv}" for k, (c, rcv) in sorted(r["snapshots"].items())) or "none"),
           f"node crashes: {len(r['crashes'])}" + "".join(
               f"\n  {who} status {rc} at {t - r['t0']:.1f}s" for t, who, rc, _ in r["crashes"])]
    probes = r.get("probes") or []
    out.append(f"partition probes (a SET sent to each minority node): {len(probes)}, "
               f"acknowledged {sum(1 for _, ok, _ in probes if ok)}"
               + (f" (replies: {', '.join(sorted({reply for _, _, reply in probes}))})"
                  if probes else ""))
    if r.get("final_unread"):
        out.append(f"final reads: could not read {r['final_unread']}")
    out.append(f"ops still outstanding at the end (completed as info): {r['outstanding']}")
    return out


def checker_section(chk, format_op, t0):
    if chk is None:
        return ["checker: not run"]
    anomalies = chk.get("anomalies") or []
    out = [f"checker: valid={chk.get('valid')}, anomalies {len(anomalies)}"
           + (f" ({chk['reason']})" if chk.get("reason") else "")]
    for u in chk.get("unknown_keys") or []:
        out.append(f"  unknown key {u.get('key')!r}: {u.get('explanation')}")
    if chk.get("stats") is not None:
        scalars = {k: v for k, v in chk["stats"].items() if isinstance(v, (int, float))}
        out.append("  stats: " + ", ".join(f"{k} {v}" for k, v in scalars.items())[:1500])
    if anomalies:
        kinds = Counter(a.get("kind", "?") if isinstance(a, dict) else "?" for a in anomalies)
        out.append("  by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        out.append("first anomaly (times from the start of the run):")
        out.extend(fmt_anomaly(anomalies[0], format_op, t0))
    return out


def workload_ops(name, events, f_order):
    """A side workload's ops by f (f_order first) and outcome."""
    counts = op_counts(events)
    out = [f"  {name + ' ops':<12}{'ok':>8}{'fail':>8}{'info':>8}{'total':>8}"]
    for f in f_order + sorted(set(counts) - set(f_order)):
        c = counts.get(f, Counter())
        out.append(f"  {f:<12}{c['ok']:>8}{c['fail']:>8}{c['info']:>8}{sum(c.values()):>8}")
    return out


def workload_check(name, r, chk):
    """A side workload checker's verdict, figures (r[name + "_figures"]) and
    first anomaly (its ops through r[name + "_format_op"])."""
    if chk is None:
        return [f"  {name} checker: not run"]
    out = [f"  {name} checker: valid={chk.get('valid')}"
           + (f" ({chk['reason']})" if chk.get("reason") else "")]
    figures = r.get(name + "_figures")
    if figures is not None:
        out.append("  " + figures(chk["stats"]))
    anomalies = chk.get("anomalies") or []
    if anomalies:
        kinds = Counter(a.get("kind", "?") for a in anomalies)
        out.append("  by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        out.append(f"first {name} anomaly (times from the start of the run):")
        out.extend(fmt_anomaly(anomalies[0], r.get(name + "_format_op"), r["t0"]))
    return out


QUEUE_F_ORDER = ["push", "take", "recover", "done", "ack", "restart", "final-read"]


def queue_section(r):
    """The queue workload: ops, drain, the queue checker's figures and first anomaly."""
    q = r.get("queue") or {}
    out = [f"queue workload: {q.get('status', 'not run')}"]
    if q.get("status") != "ran":
        return out
    out += workload_ops("queue", r.get("queue_events") or [], QUEUE_F_ORDER)
    out.append(f"  drain after healing: {'yes' if q.get('drained') else 'NO'} "
               f"({q.get('drain_detail')})")
    if q.get("unread"):
        out.append(f"  final reads: could not read {q['unread']}")
    return out + workload_check("queue", r, q.get("check"))


CACHE_F_ORDER = ["write", "read"]


def cache_section(r):
    """The cache workload: maxmemory, ops, eviction counters, the cache
    checker's figures and first anomaly."""
    c = r.get("cache") or {}
    out = [f"cache workload: {c.get('status', 'not run')}"]
    if c.get("status") != "ran":
        return out
    out.append(f"  maxmemory {c.get('maxmemory')} (volatile-lru; used_memory at setup "
               f"{c.get('used_memory_at_setup')})")
    out += workload_ops("cache", r.get("cache_events") or [], CACHE_F_ORDER)
    out.append(f"  evicted_keys under the faults (each process since its start): "
               f"{c.get('evicted_under_faults', 'not read')}")
    out.append(f"  evicted_keys since the reset after healing (fill: leader evicted "
               f"{c.get('fill_leader_evicted', '-')}): {c.get('evicted_after_reset', 'not read')}")
    if c.get("unread"):
        out.append(f"  final reads: could not read {c['unread']}")
    return out + workload_check("cache", r, c.get("check"))


STREAM_F_ORDER = ["add", "read", "claim", "pending", "process", "ack", "abandon", "restart",
                  "vanish", "final-read"]


def stream_section(r):
    """The stream workload: ops, drain, the stream checker's figures and first anomaly."""
    s = r.get("stream") or {}
    out = [f"stream workload: {s.get('status', 'not run')}"]
    if s.get("status") != "ran":
        return out
    out += workload_ops("stream", r.get("stream_events") or [], STREAM_F_ORDER)
    out.append(f"  drain after healing: {'yes' if s.get('drained') else 'NO'} "
               f"({s.get('drain_detail')}); convergence after it: "
               f"{s.get('converged_after_drain', 'not checked')}")
    if s.get("unread"):
        out.append(f"  final reads: could not read {s['unread']}")
    return out + workload_check("stream", r, s.get("check"))


SCRIPT_F_ORDER = ["eval"]


def script_section(r):
    """The script workload: ops, the script keys among the digests compared
    at each convergence check, the script checker's figures and first
    anomaly."""
    s = r.get("script") or {}
    out = [f"script workload: {s.get('status', 'not run')}"]
    if s.get("status") != "ran":
        return out
    out += workload_ops("script", r.get("script_events") or [], SCRIPT_F_ORDER)
    for phase in ("after healing", "after restart"):
        out.append(f"  script keys in every node's digest {phase}: "
                   f"{s.get('keys_' + phase.replace(' ', '_'), 'not read')}")
    return out + workload_check("script", r, s.get("check"))


def render(r):
    """r: the dict run.py assembled. Returns the table as text."""
    out = [f"raftcache chaos run: seed {r['seed']}, {r['nodes']} nodes, {r['time_s']:g}s of "
           f"workload and faults, elapsed {r['elapsed_s']:.1f}s",
           f"results: {r['out_dir']}", ""]
    workloads = r.get("workloads") or r.get("workload", "kv").split(",")
    kv = bool({"kv", "all", "both"} & set(workloads))
    if kv:
        out += ops_section(r["workload_events"], r["final_events"]) + [""]
        out += availability_section(r["workload_events"], r["t0"]) + [""]
    else:
        out += [f"register/KV workload: not selected (--workload {r.get('workload')})", ""]
    out += cluster_section(r) + [""]
    if kv:
        out += checker_section(r.get("check"), r.get("format_op"), r["t0"]) + [""]
    out += queue_section(r) + [""]
    out += cache_section(r) + [""]
    out += stream_section(r) + [""]
    out += script_section(r) + [""]
    out.append("verdict: " + ("PASS" if not r["failures"] else "FAIL: " + "; ".join(r["failures"])))
    return "\n".join(out) + "\n"
