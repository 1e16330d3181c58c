"""Checker for the chaos test's stream workload (pure Python 3, stdlib only).

The stream workload (stream_workload.py) hands jobs out through a Redis
stream consumer group: producers XADD unique jobs to a few stream keys;
consumers take entries with XREADGROUP (">": new entries; an id: their own
pending entries, the "history"), process them, XACK them, and take over
entries left pending by others with XAUTOCLAIM. Like checker.py this module
owns no cluster and no client: it is tested on hand-made histories
(test_stream_checker.py), and a saved run is re-checked from its
stream-history.jsonl.

HISTORY FORMAT
--------------
checker.py's events: an "invoke", later one completion with the same
"process" ("ok": it happened; "fail": it certainly did not; "info":
unknown - it may have happened, at any time after its invoke); one op
outstanding per process. c is a consumer's name in the group (a string or
an integer), an id "<ms>-<seq>", an entry [id, job] (job null: the server
sent the entry without fields, as for an entry gone from the stream).

  f           invoke fields             ok fields
  add         key, job                  id                XADD key * job <job>
  read        key, consumer, start      entries           XREADGROUP GROUP g c COUNT n
              (">" or an id)                              [BLOCK ms] STREAMS key <start>
  claim       key, consumer,            entries, next,    XAUTOCLAIM key g c <min_idle_ms>
              min_idle_ms, cursor       deleted: [id]     <cursor> COUNT n
  pending     key, consumer, start, end pending:          XPENDING key g <start> <end> n c
                                        [[id, c, deliveries]]
  ack         key, consumer, id         acked: 0 or 1     XACK key g <id>
  final-read  key, node, phase          entries, stream,  on one node, on its own data:
                                        groups,           XRANGE key - +, XINFO STREAM (an
                                        pending_count,    object of scalars), XINFO GROUPS
                                        pending           (a list of them), XPENDING key g
                                                          (its count), XPENDING key g - + n
  process     key, consumer, id, job    -                 c processed the entry
  abandon     key, consumer, ids        -                 c will neither process nor ack these
  restart     consumer                  -                 c has a new connection
  vanish      consumer                  -                 c stops for good

The last four the client records itself (always ok; abandon, restart and
vanish are shown only). The workload's contract (a breach raises
HistoryError: a harness bug, not a finding): a job is added once; a
consumer processes only an entry delivered to it before, and acks only an
entry it processed before.

WHAT IS CHECKED
---------------
An entry is (key, id). A DELIVERY of it to c is an ok read or claim by c
that returned it: "new" (a read from ">"), "history" (a read from an id)
or "claim". Each command takes effect once, at one point between its
invoke and its completion, in one order that every replica applies (the
Raft log). In that order XADD * gives ids above every earlier id of its
key; the group's last delivered id only grows; ">" hands out entries above
it, into the reader's pending list with delivery count 1; a history read
returns entries pending for the reader, XAUTOCLAIM pending entries (moving
them to the claimer), both adding 1 to their delivery counts; XACK takes
an entry out of the pending list for good. Nothing here deletes, trims,
moves the group's id or reads with NOACK. Hence (the anomaly kinds quoted):

1. Every acknowledged XADD is eventually acknowledged by the group: its
   entry is processed, then an XACK of it answers 1 or has an unknown
   outcome ("lost entry"). An XACK answering 0 found the entry acknowledged
   already (by another XACK, which counts); one of unknown outcome counts
   since, had it not applied, rule 6 would see the entry pending. An add of
   unknown outcome whose job is in a final XRANGE is held to the same
   ("stranded entry"): the drain ran until the group had delivered up to
   the stream's last id and nothing was pending.
2. Nothing comes from nowhere, nothing vanishes: a job seen (delivered or in
   a final XRANGE) belongs to an add of that key, ok or unknown, invoked
   before it was seen ("phantom entry"); one id names one job ("two jobs
   under one id"); no entry is delivered without its fields, no XAUTOCLAIM
   reports deleted ids, and a final read's XINFO STREAM has length = the
   XRANGE's count = entries-added and max-deleted-entry-id 0-0 ("vanished
   from the stream").
3. Ids are the same everywhere: a job has one id, its acknowledged add's,
   else the first one seen ("id changed"); every job seen is in every ok
   final XRANGE of its key ("missing from the stream"); the ok final reads
   of a key in one phase are equal on every node: XRANGE, XINFO STREAM,
   XINFO GROUPS and XPENDING ("replicas differ").
4. Ids grow: an add's id is above that of every acknowledged add of its
   key that completed before the add began, and a final XRANGE lists its
   ids in order ("id went back"); a read from ">" returns ids in order,
   above those of every read from ">" of its key that completed before it
   began ("group cursor went back").
5. Deliveries. Allowed again: a claim of a pending entry (by anyone, its
   holder too), a history read of an entry pending for the reader. Not:
     "delivered twice"      two reads from ">" returned the entry, or one
                            began after another delivery of it completed;
     "never delivered"      a claim returned an entry that no read from ">"
                            invoked before the claim completed could have
                            put in the pending list (one that returned it,
                            or one of its key of unknown outcome); a history
                            read by c returned an entry that nothing invoked
                            before it completed could have put in c's
                            pending list (a delivery of it to c, a read from
                            ">" or a claim of its key by c of unknown
                            outcome);
     "back after its ack"   a delivery of the entry, or an XACK of it
                            answering 1, began after an XACK of it answered 1;
     "delivery count"       the XPENDING after a claim shows an entry in the
                            name of another consumer than the one asked
                            for, or a delivery count below the deliveries of
                            it completed before the XPENDING began, or above
                            those invoked before it completed plus the reads
                            and claims of its key of unknown outcome.
   So an entry whose XREADGROUP reply was lost is pending for its reader,
   and a claim or that reader's history read may show it first.
6. Nothing is left pending: no ok final read shows a pending entry
   (XPENDING's count and entries, XINFO GROUPS' pending) ("leftover
   pending"). A key of the history without an ok final read leaves the
   check incomplete (not valid).

RESULT
------
check(history) returns {"valid", "reason", "anomalies", "incomplete",
"stats"}; an anomaly is {"kind", "key", "entry" (an id, a job or None),
"explanation", "slice"} (the ops behind it, as op_dict() makes them, in
history order). stats: adds (ok, fail, info), entries_delivered,
deliveries (new, history, claim), claimed (entries delivered by a claim),
processed, processed_more_than_once, acked (by an XACK answering 1),
acked_unknown_only, lost, stranded, redeliveries_allowed,
duplicates_not_allowed, leftover_pending, consumers, restarts, abandoned,
vanished, and ops by f and outcome. A malformed history raises
HistoryError.

Command line: stream_checker.py STREAM-HISTORY.jsonl [--json]; exit 0
valid, 1 not, 2 unreadable.
"""

import bisect
import re
import sys

# The history format's error and the workload checkers' shared parts are
# the register checker's.
from checker import (HistoryError, WorkloadOp, _fail, cap_anomalies, checker_main, op_line,
                     op_slice, pair_events, workload_report)

MAX_ENTRIES = 100_000            # entries in one reply
MAX_FIELD_CHARS = 1000           # a key, job, consumer, node or phase
MAX_ANOMALIES_PER_KIND = 20
MAX_ANOMALIES = 200
SHOWN = 8                        # items quoted in one explanation or line
ID_RE = re.compile(r"[0-9]{1,20}-[0-9]{1,20}\Z")


# ---------------------------------------------------------------------------
# Reading a history


def _name(v):
    return isinstance(v, str) and 0 < len(v) <= MAX_FIELD_CHARS


def _count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _consumer(v):
    return _count(v) or _name(v)


def _id(v):
    return isinstance(v, str) and ID_RE.match(v) is not None


def _list(v, item):
    return isinstance(v, list) and len(v) <= MAX_ENTRIES and all(item(x) for x in v)


def _entry(e):
    return (isinstance(e, list) and len(e) == 2 and _id(e[0])
            and (e[1] is None or isinstance(e[1], str)))


def _pending_row(p):
    return isinstance(p, list) and len(p) == 3 and _id(p[0]) and _consumer(p[1]) and _count(p[2])


def _scalars(v):
    return isinstance(v, dict) and all(x is None or isinstance(x, (str, int, float))
                                       for x in v.values())


KEY, CONSUMER = ("key", _name), ("consumer", _consumer)
ENTRIES = ("entries", lambda v: _list(v, _entry))
PENDING = ("pending", lambda v: _list(v, _pending_row))
# Each f's fields and their checks: at the invoke, and in an ok completion.
INVOKE = {
    "add": (KEY, ("job", _name)),
    "read": (KEY, CONSUMER, ("start", lambda v: v == ">" or _id(v))),
    "claim": (KEY, CONSUMER, ("min_idle_ms", _count), ("cursor", _id)),
    "pending": (KEY, CONSUMER, ("start", _id), ("end", _id)),
    "ack": (KEY, CONSUMER, ("id", _id)),
    "process": (KEY, CONSUMER, ("id", _id), ("job", lambda v: v is None or isinstance(v, str))),
    "abandon": (KEY, CONSUMER, ("ids", lambda v: _list(v, _id))),
    "restart": (CONSUMER,),
    "vanish": (CONSUMER,),
    "final-read": (KEY, ("node", _name), ("phase", _name)),
}
OK = {
    "add": (("id", _id),),
    "read": (ENTRIES,),
    "claim": (ENTRIES, ("next", _id), ("deleted", lambda v: _list(v, _id))),
    "pending": (PENDING,),
    "ack": (("acked", lambda v: _count(v) and v <= 1),),
    "final-read": (ENTRIES, ("stream", _scalars), ("groups", lambda v: _list(v, _scalars)),
                   ("pending_count", _count), PENDING),
}
FS = tuple(INVOKE)
CLIENT_FS = ("process", "abandon", "restart", "vanish")
FIELDS = tuple(dict.fromkeys(name for schema in (INVOKE, OK) for fields in schema.values()
                             for name, _ in fields))


class Op(WorkloadOp):
    __slots__ = FIELDS
    # node stays in extra too: it says where any op ran
    CONTRACT_FIELDS = WorkloadOp.CONTRACT_FIELDS + tuple(f for f in FIELDS if f != "node")

    def __init__(self, index, ev):
        for name in FIELDS:
            setattr(self, name, None)
        super().__init__(index, ev)


def _reader(schema):
    """parse(index, ev, op): ev's fields of op.f's schema, checked, onto op."""
    def parse(index, ev, op):
        for name, valid in schema.get(op.f, ()):
            v = ev.get(name)
            if not valid(v):
                _fail(index, "%s%s needs a valid %r, not %.80r"
                      % ("ok " if schema is OK else "", op.f, name, v))
            setattr(op, name, v)
    return parse


def parse_history(history):
    """Pairs invokes with completions; returns the ops in invoke order."""
    return pair_events(history, FS, Op, _reader(INVOKE), _reader(OK), client_fs=CLIENT_FS)


# ---------------------------------------------------------------------------
# The verdict


def order(i):
    """An id's place in its stream: (ms, seq)."""
    ms, seq = i.split("-")
    return int(ms), int(seq)


class Delivery:
    """Entry id (with job) of op.key, returned to op.consumer by op: an ok
    read ("new" or "history") or claim."""

    __slots__ = ("op", "id", "job", "via")

    def __init__(self, op, eid, job):
        self.op, self.id, self.job = op, eid, job
        self.via = "claim" if op.f == "claim" else "new" if op.start == ">" else "history"

    def __str__(self):
        return "%s %s by %r" % (self.via, self.op.ref(), self.op.consumer)


def _anomaly(kind, key, entry, explanation, ops):
    return {"kind": kind, "key": key, "entry": entry, "explanation": explanation,
            "slice": op_slice(ops, op_dict)}


def _shown(items):
    items = list(items)
    return ", ".join(str(i) for i in items[:SHOWN]) + (
        " (+%d more)" % (len(items) - SHOWN) if len(items) > SHOWN else "")


class _Index:
    """The history's ops arranged by job, entry, key and consumer."""

    def __init__(self, ops):
        self.ops = ops
        self.adds = {}          # job -> its add
        self.deliveries = {}    # (key, id) -> [Delivery], in completion order
        self.unknown = {}       # key -> invoke positions of reads and claims of unknown outcome
        self.unknown_new = {}   # key -> ... of reads from ">"
        self.unknown_own = {}   # (key, consumer) -> ... of reads from ">" and claims
        self.processed = {}     # (key, id) -> [process]
        self.acks = {}          # (key, id) -> [ack]
        self.finals = {}        # key -> [ok final-read]
        for op in ops:          # in invoke order: the position lists come sorted
            if op.f == "add":
                if op.job in self.adds:
                    raise HistoryError("events #%d and #%d add the same job %r"
                                       % (self.adds[op.job].index, op.index, op.job))
                self.adds[op.job] = op
            elif op.f in ("read", "claim") and op.type == "ok":
                for eid, job in op.entries:
                    self.deliveries.setdefault((op.key, eid), []).append(Delivery(op, eid, job))
            elif op.f in ("read", "claim") and op.type == "info":
                new = op.f == "read" and op.start == ">"
                self.unknown.setdefault(op.key, []).append(op.index)
                if new:
                    self.unknown_new.setdefault(op.key, []).append(op.index)
                if new or op.f == "claim":
                    self.unknown_own.setdefault((op.key, op.consumer), []).append(op.index)
            elif op.f in ("process", "ack"):
                table = self.processed if op.f == "process" else self.acks
                table.setdefault((op.key, op.id), []).append(op)
            elif op.f == "final-read" and op.type == "ok":
                self.finals.setdefault(op.key, []).append(op)
        for ds in self.deliveries.values():
            ds.sort(key=lambda d: d.op.complete_index)
        self.keys = {op.key for op in ops if op.key is not None}
        self.consumers = {op.consumer for op in ops if op.consumer is not None}

    @staticmethod
    def began_before(table, k, pos):
        """How many ops of table[k] (invoke positions) began before pos."""
        return bisect.bisect_left(table.get(k, ()), pos)

    def counted_acks(self, key, eid):
        """The XACKs of entry (key, eid) that count for rule 1: answering 1,
        or of unknown outcome (each follows a process of it: the contract)."""
        return [a for a in self.acks.get((key, eid), ()) if a.type == "info" or a.acked]


def _check_contract(ix):
    for (key, eid), procs in ix.processed.items():
        ds = ix.deliveries.get((key, eid), ())
        for p in procs:
            if not any(d.op.consumer == p.consumer and d.op.complete_index < p.index for d in ds):
                raise HistoryError("event #%d: consumer %r processed %s %s, which no delivery "
                                   "to it returned before" % (p.index, p.consumer, key, eid))
    for (key, eid), acks in ix.acks.items():
        procs = ix.processed.get((key, eid), ())
        for a in acks:
            if not any(p.consumer == a.consumer and p.complete_index < a.index for p in procs):
                raise HistoryError("event #%d: consumer %r acks %s %s, which it did not process "
                                   "before" % (a.index, a.consumer, key, eid))


def _identity(ix):
    """Rules 2 and 3 on every job an ok op showed, in history order: no
    phantoms, one id per job, one job per id. Returns (anomalies, known):
    known maps (key, job) to (its id, the op that fixed it)."""
    found, reported = [], set()
    known = {(a.key, a.job): (a.id, a) for a in ix.adds.values() if a.type == "ok"}
    owner = {}  # (key, id) -> (job, op)

    def report(kind, key, entry, explanation, ops):
        if (kind, key, entry) not in reported:
            reported.add((kind, key, entry))
            found.append(_anomaly(kind, key, entry, explanation, ops))

    shown = sorted((op for op in ix.ops if op.type == "ok"
                    and op.f in ("add", "read", "claim", "final-read")),
                   key=lambda op: op.complete_index)
    for op in shown:
        key = op.key
        for eid, job in [(op.id, op.job)] if op.f == "add" else op.entries:
            if job is None:
                continue  # gone from the stream: _vanished
            add = ix.adds.get(job)
            if add is None:
                why = "no add of it was invoked"
            elif add.type == "fail":
                why = "its add %s certainly failed" % add.ref()
            elif add.key != key:
                why = "its add %s was to %s" % (add.ref(), add.key)
            elif add.index > op.complete_index:
                why = "its add %s began after" % add.ref()
            else:
                why = None
            if why:
                report("phantom entry", key, job, "%s %s showed %s %s with job %r, but %s"
                       % (op.f, op.ref(), key, eid, job, why), [add, op])
                continue
            first_id, first = known.setdefault((key, job), (eid, op))
            if first_id != eid:
                report("id changed", key, job, "job %r is %s %s (%s %s), but %s %s shows it as %s"
                       % (job, key, first_id, first.f, first.ref(), op.f, op.ref(), eid),
                       [first, add, op])
            held, by = owner.setdefault((key, eid), (job, op))
            if held != job:
                report("two jobs under one id", key, eid, "%s %s is job %r (%s %s) and job %r "
                       "(%s %s)" % (key, eid, held, by.f, by.ref(), job, op.f, op.ref()),
                       [by, op])
    return found, known


def _vanished(ix):
    """Rule 2: no entry gone from a stream."""
    found = []
    for (key, eid), ds in ix.deliveries.items():
        gone = [d for d in ds if d.job is None]
        if gone:
            found.append(_anomaly("vanished from the stream", key, eid,
                                  "%s returned %s %s without its fields: the entry is gone from "
                                  "the stream" % (gone[0], key, eid), [d.op for d in gone]))
    for op in ix.ops:
        if op.f == "claim" and op.type == "ok" and op.deleted:
            found.append(_anomaly("vanished from the stream", op.key, op.deleted[0],
                                  "claim %s found pending entries gone from the stream: %s"
                                  % (op.ref(), _shown(op.deleted)), [op]))
    for key, reads in ix.finals.items():
        for r in reads:
            s, why = r.stream, []
            if s.get("length", len(r.entries)) != len(r.entries):
                why.append("XINFO STREAM length %r, XRANGE %d entries"
                           % (s["length"], len(r.entries)))
            if s.get("entries-added", s.get("length")) != s.get("length"):
                why.append("entries-added %r, length %r" % (s["entries-added"], s.get("length")))
            if s.get("max-deleted-entry-id", "0-0") != "0-0":
                why.append("max-deleted-entry-id %r" % s["max-deleted-entry-id"])
            if why:
                found.append(_anomaly("vanished from the stream", key, None,
                                      "final read %s of %s on %s: %s"
                                      % (r.ref(), key, r.node, "; ".join(why)), [r]))
    return found


def _lost(ix, known, stats):
    """Rule 1, with what became of each entry."""
    found = []
    listed, pending_at_end = {}, {}
    for key, reads in ix.finals.items():
        for r in reads:
            for _, job in r.entries:
                listed.setdefault((key, job), r)
            for eid, who, _ in r.pending:
                pending_at_end.setdefault((key, eid), (who, r))
    for add in ix.adds.values():
        key, job = add.key, add.job
        if add.type == "fail" or add.type == "info" and (key, job) not in listed:
            continue
        if (key, job) not in known:
            continue  # a phantom in the final XRANGE (rule 2)
        eid = known[(key, job)][0]
        if ix.counted_acks(key, eid):
            continue
        stats["lost" if add.type == "ok" else "stranded"] += 1
        ds, procs = ix.deliveries.get((key, eid), []), ix.processed.get((key, eid), [])
        acks = ix.acks.get((key, eid), [])
        if procs:
            fate = "processed by %s, and no XACK of it answered 1 or had an unknown outcome " \
                   "(%d XACKs)" % (_shown(sorted({repr(p.consumer) for p in procs})), len(acks))
        else:
            fate = "delivered (%s), never processed" % _shown(ds) if ds else "never delivered"
        if (key, eid) in pending_at_end:
            who, r = pending_at_end[(key, eid)]
            fate += "; pending for %r at the end (%s on %s)" % (who, r.ref(), r.node)
        else:
            fate += "; in the final XRANGE" if (key, job) in listed else "; in no final XRANGE"
        what = ("add %s of %r got %s %s" % (add.ref(), job, key, eid) if add.type == "ok" else
                "add %s of %r had an unknown outcome, and %s %s holds it"
                % (add.ref(), job, key, eid))
        found.append(_anomaly("lost entry" if add.type == "ok" else "stranded entry", key, eid,
                              "%s, but the group never acknowledged it: %s" % (what, fate),
                              [add] + [d.op for d in ds] + procs + acks + [listed.get((key, job))]))
    return found


def _missing(ix, known):
    """Rule 3: every job seen in every final XRANGE of its key."""
    found, listed = [], {}
    for key, reads in ix.finals.items():
        listed[key] = [(r, {job for _, job in r.entries}) for r in reads]
    for (key, job), (eid, op) in known.items():
        missing = [r for r, jobs in listed.get(key, ()) if job not in jobs]
        if missing:
            found.append(_anomaly(
                "missing from the stream", key, job,
                "%s %s shows job %r as %s %s, but %d final read(s) do not list it (first: %s on "
                "%s, phase %r)" % (op.f, op.ref(), job, key, eid, len(missing), missing[0].ref(),
                                   missing[0].node, missing[0].phase), [op] + missing))
    return found


FINAL_PARTS = {"entries": "XRANGE", "stream": "XINFO STREAM", "groups": "XINFO GROUPS",
               "pending_count": "XPENDING count", "pending": "XPENDING entries"}


def _replicas(ix):
    """Rule 3: the ok final reads of a key in one phase, node against node."""
    found = []
    for key, reads in ix.finals.items():
        for phase in dict.fromkeys(r.phase for r in reads):
            first, *others = [r for r in reads if r.phase == phase]
            for r in others:
                parts = [p for p in FINAL_PARTS if getattr(r, p) != getattr(first, p)]
                if parts:
                    found.append(_anomaly(
                        "replicas differ", key, None, "final reads of %s in phase %r differ: %s "
                        "(%s) against %s (%s): %s" % (key, phase, first.node, first.ref(), r.node,
                                                      r.ref(), "; ".join(_part_diff(p, first, r)
                                                                         for p in parts)),
                        [first, r]))
                    break  # one per key and phase
    return found


def _part_diff(part, a, b):
    x, y = getattr(a, part), getattr(b, part)
    if part == "entries":
        n = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
        return "XRANGE: %d and %d entries, first difference at %d: %s / %s" % (
            len(x), len(y), n, x[n] if n < len(x) else "end", y[n] if n < len(y) else "end")
    if part == "stream":
        return "XINFO STREAM: " + ", ".join("%s %r / %r" % (k, x.get(k), y.get(k)) for k in
                                            sorted(set(x) | set(y)) if x.get(k) != y.get(k))
    return "%s: %s / %s" % (FINAL_PARTS[part], str(x)[:200], str(y)[:200])


def _floor_breaks(items):
    """items: (op, ids, raises) of one key. Yields (op, lowest id, floor id,
    floor op) for each op whose lowest id is not above the floor: the
    highest id of the ops with raises that completed before op began."""
    points = sorted([(op.index, op, ids, False) for op, ids, _ in items]
                    + [(op.complete_index, op, ids, True) for op, ids, raises in items if raises],
                    key=lambda p: p[0])
    floor = None
    for _, op, ids, completion in points:
        if completion:
            top = max(ids, key=order)
            if floor is None or order(top) > order(floor[0]):
                floor = (top, op)
        elif floor is not None:
            low = min(ids, key=order)
            if order(low) <= order(floor[0]):
                yield op, low, floor[0], floor[1]


def _in_order(ids):
    return all(order(a) < order(b) for a, b in zip(ids, ids[1:]))


def _went_back(ix, known):
    """Rule 4: add ids and the group's cursor, per key."""
    found, adds, reads = [], {}, {}
    for (key, job), (eid, _) in known.items():
        add = ix.adds[job]
        adds.setdefault(key, []).append((add, [eid], add.type == "ok"))
    for key, items in adds.items():
        for add, eid, floor, by in _floor_breaks(items):
            found.append(_anomaly("id went back", key, eid, "add %s of %r got %s %s, not above "
                                  "%s, which add %s had got before it began"
                                  % (add.ref(), add.job, key, eid, floor, by.ref()), [by, add]))
    for key, rs in ix.finals.items():
        for r in rs:
            if not _in_order([eid for eid, _ in r.entries]):
                found.append(_anomaly("id went back", key, None, "final read %s of %s on %s "
                                      "lists ids out of order" % (r.ref(), key, r.node), [r]))
    for op in ix.ops:
        if op.f == "read" and op.type == "ok" and op.start == ">" and op.entries:
            ids = [eid for eid, _ in op.entries]
            reads.setdefault(op.key, []).append((op, ids, True))
            if not _in_order(ids):
                found.append(_anomaly("group cursor went back", op.key, ids[0], "read %s returned "
                                      "ids out of order: %s" % (op.ref(), _shown(ids)), [op]))
    for key, items in reads.items():
        for r, eid, floor, by in _floor_breaks(items):
            found.append(_anomaly("group cursor went back", key, eid, "read %s by %r from \">\" "
                                  "returned %s %s, not above %s, which read %s by %r returned "
                                  "before it began" % (r.ref(), r.consumer, key, eid, floor,
                                                       by.ref(), by.consumer), [by, r]))
    return found


def _deliveries(ix, stats):
    """Rule 5 but the delivery counts."""
    found, bad = [], set()
    for (key, eid), ds in ix.deliveries.items():
        add = ix.adds.get(ds[0].job)
        for d in ds:
            op = d.op
            if d.via == "new":
                x = next((x for x in ds if x is not d and (
                    x.via == "new" and x.op.complete_index < op.complete_index
                    or x.op.complete_index < op.index)), None)
                if x is not None:
                    bad.add(d)
                    found.append(_anomaly("delivered twice", key, eid, "%s returned %s %s, which "
                                          "%s had %s" % (d, key, eid, x, "returned too"
                                                         if x.via == "new" else
                                                         "delivered before it began"),
                                          [x.op, op, add]))
                continue
            if d.via == "claim":
                explained = (any(x.via == "new" and x.op.index < op.complete_index for x in ds)
                             or ix.began_before(ix.unknown_new, key, op.complete_index))
                where = "the pending list"
            else:
                explained = (any(x is not d and x.op.consumer == op.consumer
                                 and x.op.index < op.complete_index for x in ds)
                             or ix.began_before(ix.unknown_own, (key, op.consumer),
                                                op.complete_index))
                where = "%r's pending list" % (op.consumer,)
            if explained:
                stats["redeliveries_allowed"] += 1
            else:
                found.append(_anomaly("never delivered", key, eid, "%s returned %s %s, which "
                                      "nothing invoked before it completed could have put in %s"
                                      % (d, key, eid, where), [x.op for x in ds] + [add]))
        acked = [a for a in ix.acks.get((key, eid), ()) if a.type == "ok" and a.acked]
        if acked:
            first = min(acked, key=lambda a: a.complete_index)
            back = [d for d in ds if d.op.index > first.complete_index]
            bad.update(back)
            after = sorted([d.op for d in back] + [a for a in acked
                                                   if a.index > first.complete_index],
                           key=lambda o: o.index)
            if after:
                found.append(_anomaly("back after its ack", key, eid,
                                      "%s %s by %r %s %s %s after ack %s by %r had taken it out "
                                      "of the pending list"
                                      % (after[0].f, after[0].ref(), after[0].consumer,
                                         "acked" if after[0].f == "ack" else "returned", key,
                                         eid, first.ref(), first.consumer), [first] + after))
    stats["duplicates_not_allowed"] = len(bad)
    return found


def _counts(ix):
    """Rule 5: the delivery counts and owners the XPENDING after a claim shows."""
    found = []
    for op in ix.ops:
        if op.f != "pending" or op.type != "ok":
            continue
        unknown = ix.began_before(ix.unknown, op.key, op.complete_index)
        for eid, who, n in op.pending:
            ds = ix.deliveries.get((op.key, eid), ())
            lo = sum(1 for d in ds if d.op.complete_index < op.index)
            hi = sum(1 for d in ds if d.op.index < op.complete_index) + unknown
            if who != op.consumer:
                why = "lists it in the name of %r, though asked for %r's" % (who, op.consumer)
            elif n < lo:
                why = ("shows delivery count %d, but %d deliveries of it completed before the "
                       "XPENDING began" % (n, lo))
            elif n > hi:
                why = ("shows delivery count %d, but at most %d deliveries of it (%d of unknown "
                       "outcome) could have happened by then" % (n, hi, unknown))
            else:
                continue
            found.append(_anomaly("delivery count", op.key, eid, "XPENDING %s of %s %s %s"
                                  % (op.ref(), op.key, eid, why), [d.op for d in ds] + [op]))
    return found


def _leftovers(ix, stats):
    """Rule 6 (one anomaly per key and phase); the keys left incomplete."""
    found, incomplete = [], []
    for key in sorted(ix.keys, key=str):
        reads = ix.finals.get(key)
        if not reads:
            incomplete.append({"key": key, "explanation": "no successful final read of %s" % key})
            continue
        left = [(r, max([r.pending_count, len(r.pending)] + [
            g["pending"] for g in r.groups if _count(g.get("pending"))])) for r in reads]
        left = [(r, n) for r, n in left if n]
        stats["leftover_pending"] += max((n for _, n in left), default=0)
        for phase in dict.fromkeys(r.phase for r, _ in left):
            rs = [(r, n) for r, n in left if r.phase == phase]
            r, n = rs[0]
            found.append(_anomaly(
                "leftover pending", key, r.pending[0][0] if r.pending else None,
                "final read %s of %s on %s (phase %r) shows %d pending entr(ies)%s; %d of the "
                "phase's %d final reads show some"
                % (r.ref(), key, r.node, phase, n,
                   ": " + _shown("%s (%r, %d deliveries)" % tuple(p) for p in r.pending)
                   if r.pending else "", len(rs), sum(1 for x in reads if x.phase == phase)),
                [x for x, _ in rs]))
    return found, incomplete


def _figures(ix, stats):
    for add in ix.adds.values():
        stats["adds"][add.type] += 1
    for ds in ix.deliveries.values():
        for d in ds:
            stats["deliveries"][d.via] += 1
        stats["claimed"] += any(d.via == "claim" for d in ds)
    stats["entries_delivered"] = len(ix.deliveries)
    stats["processed"] = len(ix.processed)
    stats["processed_more_than_once"] = sum(1 for ps in ix.processed.values() if len(ps) > 1)
    for key, eid in ix.acks:
        acks = ix.counted_acks(key, eid)
        if any(a.type == "ok" for a in acks):
            stats["acked"] += 1
        elif acks:
            stats["acked_unknown_only"] += 1
    stats["consumers"] = len(ix.consumers)
    for f, name in (("restart", "restarts"), ("vanish", "vanished")):
        stats[name] = stats["ops"].get(f, {}).get("ok", 0)
    stats["abandoned"] = sum(len(op.ids) for op in ix.ops if op.f == "abandon")


def check(history):
    """Checks a stream history (list of event dicts); see the module docstring."""
    ops = parse_history(history)
    stats = {"events": len(history), "ops": {}, "adds": {"ok": 0, "fail": 0, "info": 0},
             "entries_delivered": 0, "deliveries": {"new": 0, "history": 0, "claim": 0},
             "claimed": 0, "processed": 0, "processed_more_than_once": 0, "acked": 0,
             "acked_unknown_only": 0, "lost": 0, "stranded": 0, "redeliveries_allowed": 0,
             "duplicates_not_allowed": 0, "leftover_pending": 0, "consumers": 0, "restarts": 0,
             "abandoned": 0, "vanished": 0, "anomalies_dropped": 0}
    for op in ops:
        stats["ops"].setdefault(op.f, {"ok": 0, "fail": 0, "info": 0})[op.type] += 1
    ix = _Index(ops)
    _check_contract(ix)
    _figures(ix, stats)
    anomalies, known = _identity(ix)
    anomalies += _lost(ix, known, stats)
    anomalies += _vanished(ix) + _missing(ix, known) + _replicas(ix)
    anomalies += _deliveries(ix, stats) + _counts(ix) + _went_back(ix, known)
    leftovers, incomplete = _leftovers(ix, stats)
    anomalies = cap_anomalies(anomalies + leftovers, stats, MAX_ANOMALIES_PER_KIND, MAX_ANOMALIES)
    reasons = []
    if anomalies:
        reasons.append("%d anomalies (%s)" % (len(anomalies) + stats["anomalies_dropped"],
                                              ", ".join(sorted({a["kind"] for a in anomalies}))))
    if incomplete:
        reasons.append("incomplete: " + "; ".join(i["explanation"] for i in incomplete[:10]))
    return {"valid": not anomalies and not incomplete, "reason": "; ".join(reasons),
            "anomalies": anomalies, "incomplete": incomplete, "stats": stats}


# ---------------------------------------------------------------------------
# Presentation


def op_dict(op):
    return op.as_dict(**{name: getattr(op, name) for name in FIELDS})


def _entries_text(entries):
    return "[%s]" % _shown("%s %r" % (eid, job) for eid, job in entries)


def format_op(d, t0=None):
    f, ok, key = d["f"], d["type"] == "ok", d.get("key", "")
    if f == "add":
        what = "add %s %r" % (key, d["job"]) + (" -> %s" % d["id"] if ok else "")
    elif f == "read":
        what = "read %s %s" % (key, d["start"]) + (
            " -> %s" % _entries_text(d["entries"]) if ok else "")
    elif f == "claim":
        what = "claim %s idle>=%dms from %s" % (key, d["min_idle_ms"], d["cursor"]) + (
            " -> %s next %s%s" % (_entries_text(d["entries"]), d["next"],
                                  " deleted %s" % d["deleted"] if d["deleted"] else "")
            if ok else "")
    elif f == "pending":
        what = "pending %s %s..%s" % (key, d["start"], d["end"]) + (
            " -> [%s]" % _shown("%s %s x%d" % tuple(p) for p in d["pending"]) if ok else "")
    elif f in ("process", "ack"):
        what = "%s %s %s" % (f, key, d["id"]) + (" %r" % d.get("job") if f == "process" else
                                                 " acked %d" % d["acked"] if ok else "")
    elif f == "abandon":
        what = "abandon %s [%s]" % (key, _shown(d["ids"]))
    elif f == "final-read":
        what = "final-read %s (%s)" % (key, d["phase"]) + (
            " -> %d entries %s, pending %d" % (len(d["entries"]), _entries_text(d["entries"]),
                                               d["pending_count"]) if ok else "")
    else:
        what = f
    return op_line(d, ("%s " % (d["consumer"],) if "consumer" in d else "") + what, t0, pad=6)


def figures(stats):
    """The headline figures as one line."""
    a, v = stats["adds"], stats["deliveries"]
    return ("XADDs ok %d, failed %d, unknown %d; entries delivered %d (deliveries: new %d, "
            "history %d, claim %d), claimed %d, processed %d (more than once %d), acked %d "
            "(+%d by an XACK of unknown outcome only), lost %d, stranded %d, re-deliveries "
            "allowed %d, duplicates not allowed %d, leftover pending %d; consumers %d, "
            "restarts %d, entries abandoned %d, vanished %d"
            % (a["ok"], a["fail"], a["info"], stats["entries_delivered"], v["new"], v["history"],
               v["claim"], stats["claimed"], stats["processed"],
               stats["processed_more_than_once"], stats["acked"], stats["acked_unknown_only"],
               stats["lost"], stats["stranded"], stats["redeliveries_allowed"],
               stats["duplicates_not_allowed"], stats["leftover_pending"], stats["consumers"],
               stats["restarts"], stats["abandoned"], stats["vanished"]))


def format_report(result, t0=None):
    return workload_report(result, FS, figures, format_op, t0,
                           lambda a: " ".join(str(x) for x in (a["key"], a["entry"])
                                              if x is not None))


def main(argv):
    return checker_main(argv, "stream_checker", "Check a chaos run's stream history.",
                        "JSON-lines stream history file (stream-history.jsonl)", check,
                        format_report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
