"""Checker for the chaos test's cache workload (pure Python 3, stdlib only).

The cache workload (cache_workload.py) runs with maxmemory and a volatile-*
policy: its keys, and only its keys, carry a TTL, so they are the only ones
the leader may evict, at any time, and a read of one may answer nil
whenever eviction took it. This module gives the verdict on such a history;
it owns no cluster and no client, so it is tested on hand-made histories
(test_cache_checker.py) and a saved run can be re-checked from its
cache-history.jsonl.

HISTORY FORMAT
--------------
Events in real-time order, each op an "invoke" and later one completion
with the same "process" ("ok" it happened, "fail" it certainly did not,
"info" unknown: it may have happened, at any time after its invoke), as in
checker.py; a process has at most one op outstanding. The ops:

  f = "write"  {"key": str, "version": int >= 1}   SET key value EX <long>
  f = "read"   {"key": str}                        GET key
               ok: {"value": str|None}
  f = "read"   {"keys": [str]}                     MGET keys (the final reads)
               ok: {"values": [str|None]}          one per key

A value is recorded as the workload decoded it: "v:<key>:<version>" when
the bytes read are exactly what the write of that version of that key
stored (the padding included), anything else (another key's value,
corrupted bytes) as some other string. A read with a "phase" field (a
string naming when: "after healing", "after restart") is a final read,
counted apart in the figures. Other fields (node, error) are kept for
display only.

The workload's contract, which the checker verifies (a breach raises
HistoryError: a harness bug, not a finding): every key has ONE writer, which
writes it sequentially - each write of a key completes before the next one
is invoked - with strictly increasing versions, and stops writing a key
after a write of unknown outcome (info; a write never completed counts as
info). A write-once key is a key with a single version (1).

WHY THESE RULES HOLD ON A CORRECT SERVER
----------------------------------------
Reads are linearizable (raftcache serves them on the leader, as the
register checker assumes), so a read returns the key's state at one point
between its invoke and its completion. Under the contract the key's writes
enter the log in version order: version j+1 is sent after version j was
acknowledged (committed) or certainly refused (never applied), and the only
write that may take effect late is the last one (an info), after every
other. Eviction only deletes, at any log position, and deletes every
replica's copy at the same position. So at every point the key holds nil or
the latest version applied so far, and the applied versions only grow.
Hence, for an ok read R of key k that returned version n (not nil):

1. "wrong value": the value is not "v:<k>:<n>" for R's key (another key's
   value, bytes no write of k stored).
2. "never written": no write of version n of k was invoked before R
   completed (a value from nowhere, or from the future).
3. "failed write read": the write of version n certainly failed.
4. "stale version": a write of k with a version > n was acknowledged before
   R was invoked: once it was applied, n could only come back by a write of
   n, and versions are written once.
5. "went back": a read of k that completed before R was invoked returned a
   version > n (applied versions only grow, and nil is not a version).
6. "resurrected": a read R' of k that returned nil completed before R was
   invoked, and R' itself started after version m >= n was acknowledged or
   after a read returned m >= n: at R''s point every version <= m was
   applied and then deleted, and only versions applied later (> m) can be
   read afterwards. For a write-once key: once a read that began after the
   write's acknowledgement saw nil, the value never comes back.
A nil read is always allowed (eviction may take any cache key at any time);
hence this checker cannot tell a lost write from an eviction: durability of
acknowledged writes is the register checker's (checker.py). Reads of keys
never written are allowed when nil (rule 2 otherwise).

RESULT
------
check(history) returns {"valid", "reason", "anomalies", "stats"}; an anomaly
is {"kind", "key", "explanation", "slice"} (a slice: the ops behind it, as
op_dict() makes them, in history order). stats: events, ops by f and
outcome, keys_written, versioned_keys (keys with more than one version),
writes_acknowledged, reads (the clients' key reads: hit, nil),
final_reads (the same by phase), anomalies_dropped. A malformed history raises HistoryError.

Command line: cache_checker.py CACHE-HISTORY.jsonl [--json]; exit 0 valid,
1 not, 2 unreadable.
"""

import re
import sys

# The history format's reader, limits, error and the workload checkers'
# shared parts are the register checker's.
from checker import (EXTRA_CHARS_MAX, MAX_EVENTS, HistoryError, WorkloadOp, _fail,  # noqa: F401
                     cap_anomalies, checker_main, load_jsonl, op_line, op_slice, pair_events,
                     workload_report)

MAX_READ_KEYS = 10_000           # keys in one batch read
MAX_KEY_CHARS = 1000
MAX_ANOMALIES_PER_KIND = 20
MAX_ANOMALIES = 200
KEYS_SHOWN = 8                   # keys of a batch read shown by format_op

FS = ("write", "read")
VALUE_RE = re.compile(r"v:(.*):([0-9]{1,18})\Z", re.S)


def value_of(key, version):
    """The head of the value version `version` of `key` stores (the workload
    pads it, and records only this head when the bytes read match)."""
    return "v:%s:%d" % (key, version)


class Op(WorkloadOp):
    __slots__ = ("key", "keys", "version", "values")
    CONTRACT_FIELDS = WorkloadOp.CONTRACT_FIELDS + ("key", "keys", "version", "value", "values")

    def __init__(self, index, ev):
        super().__init__(index, ev)
        self.key = ev.get("key")
        self.keys = None
        self.version = ev.get("version")
        self.values = None


# ---------------------------------------------------------------------------
# Reading a history


def _is_key(k):
    return isinstance(k, str) and 0 < len(k) <= MAX_KEY_CHARS


def _parse_invoke(index, ev, op):
    if op.f == "write":
        v = op.version
        if not _is_key(op.key) or isinstance(v, bool) or not isinstance(v, int) or v < 1:
            _fail(index, "write needs a string key and an integer version >= 1")
        return
    keys = ev.get("keys")
    if keys is None:
        if not _is_key(op.key):
            _fail(index, "read needs a string key or a list of keys")
        op.keys = [op.key]
    else:
        if (op.key is not None or not isinstance(keys, list) or not keys
                or len(keys) > MAX_READ_KEYS or not all(_is_key(k) for k in keys)):
            _fail(index, "a batch read needs 1..%d string keys (and no \"key\")"
                  % MAX_READ_KEYS)
        op.keys = list(keys)


def _parse_result(index, ev, op):
    if op.f != "read":
        return
    if op.key is not None:
        if "value" not in ev or not (ev["value"] is None or isinstance(ev["value"], str)):
            _fail(index, "ok read needs \"value\": a string or null")
        op.values = [ev["value"]]
        return
    values = ev.get("values")
    if (not isinstance(values, list) or len(values) != len(op.keys)
            or not all(v is None or isinstance(v, str) for v in values)):
        _fail(index, "ok batch read needs \"values\": one string or null per key")
    op.values = list(values)


def parse_history(history):
    """Pairs invokes with completions; returns the ops in invoke order."""
    return pair_events(history, FS, Op, _parse_invoke, _parse_result)


def _writes_by_key(ops):
    """{key: {version: write op}}, after checking the one-writer contract."""
    last, versions = {}, {}
    for op in ops:
        if op.f != "write":
            continue
        prev = last.get(op.key)
        if prev is not None:
            if prev.complete_index is None or prev.complete_index > op.index:
                _fail(op.index, "write of %r while its write #%d is outstanding"
                      % (op.key, prev.index))
            if prev.type == "info":
                _fail(op.index, "write of %r after its write #%d of unknown outcome"
                      % (op.key, prev.index))
            if op.version <= prev.version:
                _fail(op.index, "write of %r version %d after version %d (#%d): versions "
                      "must increase" % (op.key, op.version, prev.version, prev.index))
        last[op.key] = op
        versions.setdefault(op.key, {})[op.version] = op
    return versions


# ---------------------------------------------------------------------------
# The verdict


class _Mark:
    """A version and the ops that establish it (for the explanation)."""

    __slots__ = ("version", "ops", "why")

    def __init__(self, version=0, ops=(), why=""):
        self.version, self.ops, self.why = version, tuple(ops), why


NONE = _Mark()


class _KeyState:
    """What the sweep knows about one key at the current history position."""

    __slots__ = ("acked", "seen", "dead")

    def __init__(self):
        self.acked = NONE   # highest version acknowledged (its write op)
        self.seen = NONE    # highest version returned by a completed read
        self.dead = NONE    # every version <= this one was seen deleted


def _anomaly(kind, key, explanation, ops):
    return {"kind": kind, "key": key, "explanation": explanation,
            "slice": op_slice(ops, op_dict)}


def _judge(op, key, value, floors, writes):
    """The anomaly of one key's value in ok read op (None if the value is
    allowed); floors: the key's (acked, seen, dead) when op was invoked."""
    acked, seen, dead = floors
    m = VALUE_RE.match(value)
    if m is None or m.group(1) != key:
        return _anomaly("wrong value", key, "read %s of %r returned %r, not a value of this "
                        "key" % (op.ref(), key, value[:EXTRA_CHARS_MAX]), [op])
    n = int(m.group(2))
    w = writes.get(key, {}).get(n)
    if w is None or w.index > op.complete_index:
        return _anomaly("never written", key, "read %s of %r returned version %d, which no "
                        "write invoked before the read completed stores"
                        % (op.ref(), key, n), [w, op])
    if w.type == "fail":
        return _anomaly("failed write read", key, "read %s of %r returned version %d, whose "
                        "write %s certainly failed" % (op.ref(), key, n, w.ref()), [w, op])
    if n < acked.version:
        return _anomaly("stale version", key, "read %s of %r returned version %d although "
                        "version %d was acknowledged (%s) before the read began"
                        % (op.ref(), key, n, acked.version, acked.ops[0].ref()),
                        [w, *acked.ops, op])
    if n < seen.version:
        return _anomaly("went back", key, "read %s of %r returned version %d although read "
                        "%s, completed before it began, returned version %d"
                        % (op.ref(), key, n, seen.ops[0].ref(), seen.version),
                        [w, *seen.ops, op])
    if n <= dead.version:
        return _anomaly("resurrected", key, "read %s of %r returned version %d although %s "
                        "- every version up to %d was deleted before the read began"
                        % (op.ref(), key, n, dead.why, dead.version), [w, *dead.ops, op])
    return None


def _floors(ks):
    """(acked, seen, dead) of a key's state (None: nothing known yet)."""
    return (NONE, NONE, NONE) if ks is None else (ks.acked, ks.seen, ks.dead)


def _sweep(ops, writes, stats):
    """One pass over invokes and completions in history order."""
    points = []
    for op in ops:
        points.append((op.index, op))
        if op.complete_index is not None:
            points.append((op.complete_index, op))
    points.sort(key=lambda p: p[0])
    state, floors, anomalies = {}, {}, []
    for pos, op in points:
        if op.f == "write":
            if pos == op.complete_index and op.type == "ok":
                ks = state.setdefault(op.key, _KeyState())
                if op.version > ks.acked.version:
                    ks.acked = _Mark(op.version, [op])
            continue
        if pos == op.index:
            floors[op.index] = [_floors(state.get(k)) for k in op.keys]
            continue
        start = floors.pop(op.index)
        if op.type != "ok":
            continue
        phase = op.extra.get("phase")
        for key, value, fl in zip(op.keys, op.values, start):
            ks = state.setdefault(key, _KeyState())
            hit = value is not None
            if phase is None:
                by = stats["reads"]
            else:
                by = stats["final_reads"].setdefault(str(phase), {"hit": 0, "nil": 0})
            by["hit" if hit else "nil"] += 1
            if not hit:
                acked, seen, _ = fl
                best = acked if acked.version >= seen.version else seen
                if best.version > ks.dead.version:
                    what = ("version %d was acknowledged (%s)" if best is acked
                            else "read %s returned version %d") % (
                        (best.version, best.ops[0].ref()) if best is acked
                        else (best.ops[0].ref(), best.version))
                    ks.dead = _Mark(best.version, [*best.ops, op],
                                    "read %s returned nil, and it began after %s"
                                    % (op.ref(), what))
                continue
            a = _judge(op, key, value, fl, writes)
            if a is not None:
                anomalies.append(a)
                continue
            n = int(VALUE_RE.match(value).group(2))
            if n > ks.seen.version:
                ks.seen = _Mark(n, [op])
    return anomalies


def check(history):
    """Checks a cache history (list of event dicts); see the module docstring."""
    ops = parse_history(history)
    writes = _writes_by_key(ops)
    stats = {"events": len(history), "ops": {}, "keys_written": len(writes),
             "versioned_keys": sum(1 for v in writes.values() if len(v) > 1),
             "writes_acknowledged": sum(1 for v in writes.values() for w in v.values()
                                        if w.type == "ok"),
             "reads": {"hit": 0, "nil": 0}, "final_reads": {}, "anomalies_dropped": 0}
    for op in ops:
        by = stats["ops"].setdefault(op.f, {"ok": 0, "fail": 0, "info": 0})
        by[op.type] += 1
    anomalies = cap_anomalies(_sweep(ops, writes, stats), stats, MAX_ANOMALIES_PER_KIND,
                              MAX_ANOMALIES)
    reason = ""
    if anomalies:
        kinds = sorted({a["kind"] for a in anomalies})
        reason = "%d anomalies (%s)" % (len(anomalies) + stats["anomalies_dropped"],
                                        ", ".join(kinds))
    return {"valid": not anomalies, "reason": reason, "anomalies": anomalies, "stats": stats}


# ---------------------------------------------------------------------------
# Presentation


def op_dict(op):
    if op.f == "write":
        return op.as_dict(key=op.key, version=op.version)
    return op.as_dict(keys=list(op.keys), values=None if op.values is None else list(op.values))


def format_op(d, t0=None):
    if d["f"] == "write":
        what = "write %r v%d" % (d["key"], d["version"])
    else:
        keys, values = d["keys"], d.get("values")
        pairs = ["%r%s" % (k, "" if values is None else " -> %r" % (values[i],))
                 for i, k in enumerate(keys[:KEYS_SHOWN])]
        what = "read " + ", ".join(pairs) + (" (+%d keys)" % (len(keys) - KEYS_SHOWN)
                                             if len(keys) > KEYS_SHOWN else "")
    return op_line(d, what, t0, pad=6)


def figures(stats):
    """The headline figures as one line."""
    w = stats["ops"].get("write", {"ok": 0, "fail": 0, "info": 0})
    finals = ", ".join("%s hit %d nil %d" % (p, c["hit"], c["nil"])
                       for p, c in stats["final_reads"].items())
    return ("keys written %d (versioned %d), writes ok %d fail %d info %d, key reads hit %d "
            "nil %d%s" % (stats["keys_written"], stats["versioned_keys"], w["ok"], w["fail"],
                          w["info"], stats["reads"]["hit"], stats["reads"]["nil"],
                          (" (final reads: %s)" % finals) if finals else ""))


def format_report(result, t0=None):
    return workload_report(result, FS, figures, format_op, t0, lambda a: a["key"])


def main(argv):
    return checker_main(argv, "cache_checker", "Check a chaos run's cache history.",
                        "JSON-lines cache history file (cache-history.jsonl)", check, format_report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
