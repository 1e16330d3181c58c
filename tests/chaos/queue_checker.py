"""Checker for the chaos test's queue workload (pure Python 3, stdlib only).

The queue workload (queue_workload.py) runs a reliable queue on lists:
producers LPUSH unique job ids onto the pending list; each consumer c moves
jobs with BLMOVE pending -> its own processing list (RIGHT LEFT, timeout
about 1 s), records the job done, then LREMs it from its processing list.
After an error a consumer restarts: it first reads its own processing list
(LRANGE) and takes every job there as handed to it again. This module gives
the verdict on such a history; like checker.py it owns no cluster and no
client, so it is tested on hand-made histories (test_checker.py) and a saved
run can be re-checked from its queue-history.jsonl.

HISTORY FORMAT
--------------
Events in real-time order, each op an "invoke" and later one completion
with the same "process" ("ok" it happened, "fail" it certainly did not,
"info" unknown: it may have happened, at any time after its invoke), as in
checker.py; a process has at most one op outstanding. The ops:

  f = "push"       {"job": str}                     LPUSH pending job
  f = "take"       {"consumer": c}                  BLMOVE pending -> c's list;
                   ok: {"job": str|None}            None: timed out, moved nothing
  f = "recover"    {"consumer": c}                  LRANGE of c's processing list;
                   ok: {"jobs": [str]}              its items (head first)
  f = "done"       {"consumer": c, "job": str}      c recorded the job's result
                                                    (client-side: always ok)
  f = "ack"        {"consumer": c, "job": str}      LREM c's list 1 job;
                   ok: {"removed": int}
  f = "restart"    {"consumer": c, "reason": str}   c restarts (shown only; ok)
  f = "final-read" {"list": str, "consumer": c|None} LRANGE at the end, after
                   ok: {"jobs": [str]}              healing, on the leader;
                                                    consumer None: the pending list

c is an int or a string naming the consumer (its processing list); the
process ids of one consumer change after an "info", as in checker.py. The
workload pushes each job id at most once.

A HAND-OVER of job j to consumer c is a take that returned j (ok) or a
recover whose list held j: c then holds j and owes its result.

WHAT IS CHECKED
---------------
A correct server moves each job at most once: out of the pending list into
the processing list of the consumer whose BLMOVE moved it (that BLMOVE's
reply may be lost: "info"), and out of that list by that consumer's LREM.
Nobody but c ever takes from c's list. Hence:

1. "lost job": a job whose push was acknowledged (ok) is done at some point.
2. Duplicates. A job's hand-overs after its first are duplicates. One is
   ALLOWED only when it is a recover by the same consumer that the earlier
   hand-over's outcome was unknown to: the consumer restarted before it
   recorded the result, or its ack (LREM) did not come back acknowledged
   (info, fail, or not sent) - the job is then rightly still in its list.
   Not allowed (anomalies):
     "handed to two consumers"  j was in two consumers' hands; a job leaves
                                the pending list once, into one list;
     "taken twice"              a second take returned j: it was in the
                                pending list again (pushed or restored twice);
     "back after its ack"       a recover shows j after an LREM of it
                                answered removed >= 1;
     "twice in one list"        a recover shows j twice.
   A BLMOVE of unknown outcome (info) explains a job found in its consumer's
   list that no take returned; it does not excuse a second consumer or a
   second take: with its move applied the job left the pending list, and
   without it the job was never in c's list. Figures: duplicate hand-overs
   allowed and not allowed (and the jobs they concern).
3. Leftovers: every ok final-read of the pending list and of each consumer's
   list (every consumer the history names) is empty ("leftover items"); a
   list with no ok final-read leaves the check "incomplete" (not valid).
4. "never pushed": a job handed over, done or read at the end whose push was
   never invoked or certainly failed, or that was handed over before its
   push was invoked.
Two cheap consistency rules complete them:
   "unexplained in a processing list": more jobs appeared in c's list (by
       recover) than c's takes returned plus c's takes of unknown outcome
       invoked before they appeared;
   "vanished from a processing list": an ack answered removed 0 for a job
       handed to that consumer earlier and not possibly removed by an
       earlier ack of it (ok with removed >= 1, or info).

RESULT
------
check(history) returns {"valid", "reason", "anomalies", "incomplete",
"stats"}; an anomaly is {"kind", "job" or "list", "explanation", "slice"}
(a slice: the ops behind it, as op_dict() makes them, in history order).
stats holds the figures: jobs_acknowledged, pushes_unknown, pushes_failed,
done, done_push_unknown, lost, handovers, duplicates_allowed (and by
reason), duplicates_not_allowed, duplicate_jobs_allowed,
duplicate_jobs_not_allowed, leftover_items, never_pushed, restarts, and ops
by f and outcome. A malformed history raises HistoryError.

Command line: queue_checker.py QUEUE-HISTORY.jsonl [--json]; exit 0 valid,
1 not, 2 unreadable.
"""

import bisect
import sys

# The history format's reader, limits, error and the workload checkers'
# shared parts are the register checker's.
from checker import (MAX_EVENTS, HistoryError, WorkloadOp, _fail, cap_anomalies,  # noqa: F401
                     checker_main, load_jsonl, op_line, op_slice, pair_events, workload_report)

MAX_LIST_ITEMS = 100_000         # items in one recover / final-read reply
MAX_ANOMALIES_PER_KIND = 20
MAX_ANOMALIES = 200
JOBS_SHOWN = 20                  # jobs quoted in one explanation

FS = ("push", "take", "recover", "done", "ack", "restart", "final-read")
CONSUMER_FS = ("take", "recover", "done", "ack", "restart")

ALLOWED_RESTART = "restarted before recording the result"
ALLOWED_ACK = "ack not acknowledged"


class Op(WorkloadOp):
    __slots__ = ("consumer", "job", "jobs", "removed", "list")
    CONTRACT_FIELDS = WorkloadOp.CONTRACT_FIELDS + ("job", "jobs", "consumer", "removed", "list")

    def __init__(self, index, ev):
        super().__init__(index, ev)
        self.consumer = ev.get("consumer")
        self.job = ev.get("job")
        self.jobs = None
        self.removed = None
        self.list = ev.get("list")


# ---------------------------------------------------------------------------
# Reading a history


def _is_consumer(c):
    return isinstance(c, (int, str)) and not isinstance(c, bool)


def _job_list(index, ev, f):
    jobs = ev.get("jobs")
    if (not isinstance(jobs, list) or len(jobs) > MAX_LIST_ITEMS
            or not all(isinstance(j, str) for j in jobs)):
        _fail(index, "ok %s needs \"jobs\": a list of at most %d strings" % (f, MAX_LIST_ITEMS))
    return list(jobs)


def _parse_invoke(index, ev, op):
    f = op.f
    if f in CONSUMER_FS and not _is_consumer(op.consumer):
        _fail(index, "%s needs a consumer (an integer or a string)" % f)
    if f in ("push", "done", "ack") and not isinstance(op.job, str):
        _fail(index, "%s needs a string job" % f)
    if f == "take":
        op.job = None
    if f == "final-read":
        if not isinstance(op.list, str):
            _fail(index, "final-read needs a string list name")
        if op.consumer is not None and not _is_consumer(op.consumer):
            _fail(index, "final-read's consumer must be an integer, a string or null")


def _parse_result(index, ev, op):
    f = op.f
    if f == "take":
        if "job" not in ev or not (ev["job"] is None or isinstance(ev["job"], str)):
            _fail(index, "ok take needs \"job\": a string or null")
        op.job = ev["job"]
    elif f in ("recover", "final-read"):
        op.jobs = _job_list(index, ev, f)
    elif f == "ack":
        r = ev.get("removed")
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            _fail(index, "ok ack needs \"removed\": an integer >= 0")
        op.removed = r


def parse_history(history):
    """Pairs invokes with completions; returns the ops in invoke order."""
    return pair_events(history, FS, Op, _parse_invoke, _parse_result,
                       client_fs=("done", "restart"))


# ---------------------------------------------------------------------------
# The verdict


class Handover:
    """Job `job` reached consumer `consumer` through op `op` (a take or a recover)."""

    __slots__ = ("op", "job", "consumer", "via")

    def __init__(self, op, job, via):
        self.op, self.job, self.consumer, self.via = op, job, op.consumer, via

    @property
    def at(self):
        return self.op.complete_index


def _jobs_text(jobs):
    jobs = list(jobs)
    shown = ", ".join(repr(j) for j in jobs[:JOBS_SHOWN])
    return shown + (" (+%d more)" % (len(jobs) - JOBS_SHOWN) if len(jobs) > JOBS_SHOWN else "")


def _anomaly(kind, where, explanation, ops):
    key = "list" if kind == "leftover items" else "job"
    return {"kind": kind, key: where, "explanation": explanation,
            "slice": op_slice(ops, op_dict)}


class _Index:
    """The history's ops arranged by job and by consumer."""

    def __init__(self, ops):
        self.push = {}                 # job -> its push op
        self.handovers = {}            # job -> [Handover], by completion
        self.done = {}                 # job -> [done op]
        self.acks = {}                 # (job, consumer) -> [ack op]
        self.take_info = {}            # consumer -> sorted invoke positions of info takes
        self.final = {}                # consumer or None -> [final-read op]
        self.final_names = {}          # consumer or None -> list name
        self.consumers = set()
        self.twice_in_list = []        # (recover op, job)
        for op in ops:
            if op.f in CONSUMER_FS:
                self.consumers.add(op.consumer)
            if op.f == "push":
                if op.job in self.push:
                    raise HistoryError("events #%d and #%d push the same job %r"
                                       % (self.push[op.job].index, op.index, op.job))
                self.push[op.job] = op
            elif op.f == "take":
                if op.type == "ok" and op.job is not None:
                    self.handovers.setdefault(op.job, []).append(Handover(op, op.job, "take"))
                elif op.type == "info":
                    self.take_info.setdefault(op.consumer, []).append(op.index)
            elif op.f == "recover" and op.type == "ok":
                seen = set()
                for j in op.jobs:
                    if j in seen:
                        self.twice_in_list.append((op, j))
                        continue
                    seen.add(j)
                    self.handovers.setdefault(j, []).append(Handover(op, j, "recover"))
            elif op.f == "done":
                self.done.setdefault(op.job, []).append(op)
            elif op.f == "ack":
                self.acks.setdefault((op.job, op.consumer), []).append(op)
            elif op.f == "final-read":
                self.final.setdefault(op.consumer, []).append(op)
                self.final_names.setdefault(op.consumer, op.list)
        for hs in self.handovers.values():
            hs.sort(key=lambda h: h.at)


def _check_done_follows_handover(ix):
    for job, dones in ix.done.items():
        for d in dones:
            if not any(h.consumer == d.consumer and h.at < d.index
                       for h in ix.handovers.get(job, ())):
                raise HistoryError("event #%d: consumer %r recorded job %r done, but no "
                                   "hand-over of it to that consumer came before"
                                   % (d.index, d.consumer, job))


def _lost(ix, stats):
    found = []
    where_at_end = {}
    for c, reads in ix.final.items():
        for r in reads:
            for j in r.jobs or ():
                where_at_end.setdefault(j, (c, r))
    for job, p in ix.push.items():
        if p.type != "ok" or job in ix.done:
            continue
        stats["lost"] += 1
        hs = ix.handovers.get(job, [])
        if job in where_at_end:
            c, r = where_at_end[job]
            place = ("still in the pending list at the end" if c is None
                     else "still in consumer %r's processing list at the end" % (c,))
        else:
            place = "in no list read at the end"
            r = None
        if hs:
            last = hs[-1]
            fate = "handed to consumer %r by %s %s, never recorded done" % (
                last.consumer, last.via, last.op.ref())
        else:
            fate = "never handed to a consumer"
        found.append(_anomaly(
            "lost job", job,
            "push %s of %r was acknowledged, but the job was never done: %s; %s"
            % (p.ref(), job, fate, place),
            [p] + [h.op for h in hs] + [r]))
    return found


def _never_pushed(ix, stats):
    found = []
    seen = set(ix.handovers) | set(ix.done)
    read_at_end = {}
    for reads in ix.final.values():
        for r in reads:
            for j in r.jobs or ():
                read_at_end.setdefault(j, r)
    seen.update(read_at_end)
    for job in sorted(seen):
        p = ix.push.get(job)
        hs = ix.handovers.get(job, [])
        early = [h for h in hs if p is not None and h.at < p.index]
        if p is not None and p.type != "fail" and not early:
            continue
        stats["never_pushed"] += 1
        shown = [h.op for h in hs] + ix.done.get(job, []) + [read_at_end.get(job)]
        if p is None:
            why = "no push of it was invoked"
        elif p.type == "fail":
            why = "its only push %s certainly failed" % p.ref()
            shown.append(p)
        else:
            why = "%s %s handed it over before its push %s was invoked" % (
                early[0].via, early[0].op.ref(), p.ref())
            shown.append(p)
        what = "handed over" if hs else ("done" if job in ix.done else "read at the end")
        found.append(_anomaly("never pushed", job, "job %r was %s, but %s" % (job, what, why),
                              shown))
    return found


def _duplicates(ix, stats):
    found = []
    for job, hs in ix.handovers.items():
        if len(hs) < 2:
            continue
        first = hs[0]
        bad, allowed = [], 0
        for prev, h in zip(hs, hs[1:]):
            if h.consumer != first.consumer:
                bad.append(("handed to two consumers",
                            "job %r was handed to consumer %r (%s %s) and to consumer %r "
                            "(%s %s): a job leaves the pending list once, into one list"
                            % (job, first.consumer, first.via, first.op.ref(), h.consumer,
                               h.via, h.op.ref()), h))
                continue
            if h.via == "take":
                bad.append(("taken twice",
                            "take %s returned job %r, already handed to consumer %r by %s %s: "
                            "it was in the pending list twice"
                            % (h.op.ref(), job, first.consumer, first.via, first.op.ref()), h))
                continue
            acked = [a for a in ix.acks.get((job, h.consumer), ())
                     if a.type == "ok" and a.removed and a.complete_index < h.op.index]
            if acked:
                bad.append(("back after its ack",
                            "recover %s found job %r in consumer %r's list after ack %s "
                            "removed it (removed %d)"
                            % (h.op.ref(), job, h.consumer, acked[0].ref(), acked[0].removed),
                            h))
                continue
            recorded = any(d.consumer == h.consumer and prev.at < d.index < h.op.index
                           for d in ix.done.get(job, ()))
            reason = ALLOWED_ACK if recorded else ALLOWED_RESTART
            stats["duplicates_allowed_by_reason"][reason] = \
                stats["duplicates_allowed_by_reason"].get(reason, 0) + 1
            allowed += 1
        stats["duplicates_allowed"] += allowed
        stats["duplicate_jobs_allowed"] += allowed > 0
        stats["duplicates_not_allowed"] += len(bad)
        stats["duplicate_jobs_not_allowed"] += bool(bad)
        if bad:
            kind, explanation, _ = bad[0]
            if len(bad) > 1:
                explanation += "; %d more duplicate hand-over(s) not allowed" % (len(bad) - 1)
            shown = [h.op for h in hs] + ix.done.get(job, []) + [
                a for c in {h.consumer for h in hs} for a in ix.acks.get((job, c), ())]
            found.append(_anomaly(kind, job, explanation, shown + [ix.push.get(job)]))
    for op, job in ix.twice_in_list:
        stats["duplicates_not_allowed"] += 1
        found.append(_anomaly("twice in one list", job,
                              "recover %s found job %r twice in consumer %r's list"
                              % (op.ref(), job, op.consumer), [op, ix.push.get(job)]))
    return found


def _unexplained(ix):
    """Jobs in c's list (by recover) that no take of c returned need one take
    of c of unknown outcome each, invoked before they were seen."""
    found = []
    need = {}  # consumer -> [(first recover completion, job, op)]
    for job, hs in ix.handovers.items():
        for c in {h.consumer for h in hs}:
            own = [h for h in hs if h.consumer == c]
            if any(h.via == "take" for h in own):
                continue
            first = own[0]
            need.setdefault(c, []).append((first.at, job, first.op))
    for c, items in need.items():
        items.sort(key=lambda x: (x[0], x[1]))
        infos = ix.take_info.get(c, [])
        excess = [(job, op) for n, (at, job, op) in enumerate(items, 1)
                  if bisect.bisect_left(infos, at) < n]
        if not excess:
            continue
        job, op = excess[0]
        found.append(_anomaly(
            "unexplained in a processing list", job,
            "%d job(s) appeared in consumer %r's processing list that neither its takes "
            "returned nor its %d take(s) of unknown outcome could have moved there: %s "
            "(first: recover %s)" % (len(excess), c, len(infos),
                                     _jobs_text(j for j, _ in excess), op.ref()),
            [o for _, o in excess] + [ix.push.get(job)]))
    return found


def _vanished(ix):
    found = []
    for (job, c), acks in ix.acks.items():
        for a in acks:
            if a.type != "ok" or a.removed != 0:
                continue
            held = [h for h in ix.handovers.get(job, ()) if h.consumer == c and h.at < a.index]
            if not held:
                continue
            removed_before = [x for x in acks if x is not a and x.index < a.index and
                              (x.type == "info" or (x.type == "ok" and x.removed))]
            if removed_before:
                continue
            found.append(_anomaly(
                "vanished from a processing list", job,
                "ack %s of job %r by consumer %r removed nothing, but %s %s had put it in "
                "that list and no earlier ack of it could have removed it"
                % (a.ref(), job, c, held[-1].via, held[-1].op.ref()),
                [held[-1].op, a, ix.push.get(job)]))
            break
    return found


def _final(ix, stats):
    found, incomplete = [], []
    wanted = [None] + sorted(ix.consumers, key=repr)
    for c in wanted:
        name = ix.final_names.get(c, "pending" if c is None else "processing list of %r" % (c,))
        reads = [r for r in ix.final.get(c, ()) if r.type == "ok"]
        if not reads:
            incomplete.append({"list": name, "consumer": c,
                               "explanation": "no successful final read of %s" % name})
            continue
        for r in reads:
            if r.jobs:
                stats["leftover_items"] += len(r.jobs)
                owner = "the pending list" if c is None else "consumer %r's list" % (c,)
                found.append(_anomaly(
                    "leftover items", name,
                    "final read %s of %s (%s) found %d item(s): %s"
                    % (r.ref(), name, owner, len(r.jobs), _jobs_text(r.jobs)), [r]))
    return found, incomplete


def check(history):
    """Checks a queue history (list of event dicts); see the module docstring."""
    ops = parse_history(history)
    stats = {"events": len(history), "ops": {}, "jobs_pushed": 0, "jobs_acknowledged": 0,
             "pushes_unknown": 0, "pushes_failed": 0, "done": 0, "done_push_unknown": 0,
             "lost": 0, "handovers": {"take": 0, "recover": 0},
             "duplicates_allowed": 0, "duplicate_jobs_allowed": 0,
             "duplicates_allowed_by_reason": {}, "duplicates_not_allowed": 0,
             "duplicate_jobs_not_allowed": 0, "leftover_items": 0, "never_pushed": 0,
             "restarts": 0, "consumers": 0, "anomalies_dropped": 0}
    for op in ops:
        by = stats["ops"].setdefault(op.f, {"ok": 0, "fail": 0, "info": 0})
        by[op.type] += 1
    ix = _Index(ops)
    _check_done_follows_handover(ix)
    for p in ix.push.values():
        stats["jobs_pushed"] += 1
        stats[{"ok": "jobs_acknowledged", "info": "pushes_unknown",
               "fail": "pushes_failed"}[p.type]] += 1
    stats["done"] = len(ix.done)
    stats["done_push_unknown"] = sum(1 for j in ix.done
                                     if j in ix.push and ix.push[j].type == "info")
    for hs in ix.handovers.values():
        for h in hs:
            stats["handovers"][h.via] += 1
    stats["restarts"] = stats["ops"].get("restart", {}).get("ok", 0)
    stats["consumers"] = len(ix.consumers)

    anomalies = _lost(ix, stats)
    anomalies += _duplicates(ix, stats)
    anomalies += _never_pushed(ix, stats)
    anomalies += _unexplained(ix)
    anomalies += _vanished(ix)
    final, incomplete = _final(ix, stats)
    anomalies += final
    anomalies = cap_anomalies(anomalies, stats, MAX_ANOMALIES_PER_KIND, MAX_ANOMALIES)
    reasons = []
    if anomalies:
        kinds = sorted({a["kind"] for a in anomalies})
        reasons.append("%d anomalies (%s)" % (len(anomalies) + stats["anomalies_dropped"],
                                              ", ".join(kinds)))
    if incomplete:
        reasons.append("incomplete: " + "; ".join(i["explanation"] for i in incomplete[:10]))
    valid = not anomalies and not incomplete
    return {"valid": valid, "reason": "; ".join(reasons), "anomalies": anomalies,
            "incomplete": incomplete, "stats": stats}


# ---------------------------------------------------------------------------
# Presentation


def op_dict(op):
    return op.as_dict(consumer=op.consumer, job=op.job,
                      jobs=None if op.jobs is None else list(op.jobs), removed=op.removed,
                      list=op.list)


def format_op(d, t0=None):
    who = "" if d.get("consumer") is None else "c%s " % (d["consumer"],)
    f = d["f"]
    if f == "push":
        what = "push %r" % d.get("job")
    elif f == "take":
        what = "take" + (" -> %r" % d.get("job") if d["type"] == "ok" else "")
    elif f in ("recover", "final-read"):
        what = f + (" " + d["list"] if d.get("list") else "")
        if d["type"] == "ok":
            jobs = d.get("jobs") or []
            what += " -> [%s]" % _jobs_text(jobs)
    elif f == "ack":
        what = "ack %r" % d.get("job") + (" removed %s" % d.get("removed")
                                          if d["type"] == "ok" else "")
    else:
        what = "%s %s" % (f, repr(d["job"]) if d.get("job") is not None else "")
    return op_line(d, who + what, t0)


def figures(stats):
    """The headline figures as one line."""
    reasons = stats.get("duplicates_allowed_by_reason") or {}
    why = ", ".join("%s %d" % (r, n) for r, n in sorted(reasons.items()))
    return ("jobs acknowledged %d, pushes unknown %d, pushes failed %d, done %d "
            "(%d of unknown pushes), lost %d, duplicated hand-overs allowed %d (%d jobs%s) / "
            "not allowed %d (%d jobs), leftover items %d, never pushed %d, hand-overs %d "
            "(take %d, recover %d), consumer restarts %d"
            % (stats["jobs_acknowledged"], stats["pushes_unknown"], stats["pushes_failed"],
               stats["done"], stats["done_push_unknown"], stats["lost"],
               stats["duplicates_allowed"], stats["duplicate_jobs_allowed"],
               (": " + why) if why else "", stats["duplicates_not_allowed"],
               stats["duplicate_jobs_not_allowed"], stats["leftover_items"],
               stats["never_pushed"], sum(stats["handovers"].values()),
               stats["handovers"]["take"], stats["handovers"]["recover"], stats["restarts"]))


def format_report(result, t0=None):
    return workload_report(result, FS, figures, format_op, t0,
                           lambda a: a.get("job", a.get("list")))


def main(argv):
    return checker_main(argv, "queue_checker", "Check a chaos run's queue history.",
                        "JSON-lines queue history file (queue-history.jsonl)", check, format_report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
