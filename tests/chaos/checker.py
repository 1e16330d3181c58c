"""Linearizability checker for the chaos test's histories (pure Python 3, stdlib only).

This module owns the verdict on a recorded history: it decides whether what the
clients saw during a fault run could have come from one copy of the data
changing atomically in real-time order (linearizability), and it names the
anomaly when it can. It owns no cluster, no nemesis and no client: the harness
records a history in the format below and hands it here, so the checker can be
tested on hand-made histories without a cluster, and a failing run can be
re-checked from its saved JSON-lines file.

HISTORY FORMAT (the contract with the harness)
----------------------------------------------
A history is a list of dicts (or a JSON-lines file, one dict per line) in the
order the events happened. Each operation is an "invoke" event and later,
usually, one completion event with the same "process" (a client thread id; a
process has at most one op outstanding):

  {"type": "invoke"|"ok"|"fail"|"info", "process": int, "f": F,
   "time": float (monotonic seconds, for display only), ...op fields}

  "ok"   the op happened, with the result given.
  "fail" it certainly did not happen (-MOVED, -CLUSTERDOWN, a refused connect
         before sending). Failed ops are dropped from the check.
  "info" unknown (timeout, -TIMEOUT not committed yet, connection lost after
         sending): it may or may not have happened, at any time after its
         invoke. An invoke with no completion at all counts as "info".

  f = "write"     {"key": str, "value": str}            SET; values unique per key
  f = "read"      {"key": str, "value": str|None}       GET; value on ok only
  f = "incr"      {"key": str, "value": int}            INCR; new value, on ok only
  f = "txn-write" {"keys": [k1, k2], "value": str}      MULTI SET.. SET.. EXEC
  f = "txn-read"  {"keys": [k1, k2], "value": [v1|None, v2|None]}  on ok only

Keys touched by incr are counter keys (absent = 0; a read returns a decimal
string or None, None meaning 0); all others are register keys (absent = None).
No key is both. The harness records the final state (after healing and
restarting every node) as ordinary reads invoked after every other op
completed, so durability is checked by linearizability itself.

Real-time order comes from event positions, not from "time": op A precedes op
B iff A's completion event comes before B's invoke event.

WHAT IS CHECKED
---------------
1. Per-key linearizability (P-compositionality): each key is checked alone
   against a register model (state value|None) or a counter model (state int;
   an ok incr must return state+1). A txn-write counts as a write on each of
   its keys and a txn-read as a read on each. The search is Wing & Gong's with
   Lowe's just-in-time linearization and a memo of (linearized set, state), as
   Knossos and Porcupine do it, iterative, with a step limit per key: a key
   that exceeds it is reported in "unknown_keys" (the history is then not
   valid, but no anomaly is claimed). Info ops have an infinite return time
   and need never be linearized.
2. Transaction atomicity: every ok txn-read of a key group whose only writers
   are txn-writes of that same group must see one value on all its keys.
3. Named anomalies, found by cheap sound rules before the search (a key with
   one skips the search, since it is already known not to be linearizable):
   "read of a never-written value", "stale read", "lost write",
   "duplicate counter value", "non-monotonic counter",
   "non-atomic transaction"; whatever else the search finds is
   "not linearizable".

RESULT
------
check(history, step_limit=DEFAULT_STEP_LIMIT) returns a dict:
  "valid"         True iff no anomaly and no unknown key
  "reason"        "" when valid, else what made it invalid
  "anomalies"     [{"kind", "key" (or "keys" for a transaction group),
                    "explanation", "slice"}]; a slice is the few ops that show
                    the problem, in history order, each as op_dict() makes it:
                    {"index", "process", "f", "type", "key"|"keys", "value",
                     "invoke_time", "complete_index", "complete_time",
                     "extra" (only if the events had other scalar fields,
                     such as the harness's node or error)}
                    (index and complete_index are event positions;
                    complete_index is None if the op never completed)
  "unknown_keys"  [{"key", "steps", "explanation"}]: the search gave up
  "stats"         op counts by f and completion type, keys checked, search
                  steps, info writes pruned, txn groups checked and skipped
format_report(result, t0) and format_op(op_dict, t0) render them as text.
A malformed history raises HistoryError: a harness bug must not pass for a
verdict on the server.

Command line: checker.py HISTORY.jsonl [--step-limit N] [--json]
prints a summary and each anomaly with its slice, exits 0 if valid, 1 if not,
2 if the history cannot be read.
"""

import argparse
import bisect
import json
import sys

# Limits: every input-driven size has one.
MAX_EVENTS = 10_000_000          # events per history
MAX_LINE_BYTES = 1 << 20         # one JSON-lines event
MAX_TXN_KEYS = 16                # keys in one transaction
DEFAULT_STEP_LIMIT = 2_000_000   # search steps per key (the memo holds at most this many)
SLICE_MAX_OPS = 32               # ops shown per anomaly
MAX_ANOMALIES_PER_KEY_KIND = 10  # anomalies kept per (key, kind)
MAX_ANOMALIES = 200              # anomalies kept per history
STUCK_STATES_MAX = 8             # model states quoted in a "not linearizable" explanation
EXTRA_FIELDS_MAX = 8             # harness fields (node, error...) kept per op, for display
EXTRA_CHARS_MAX = 200            # and the length each is cut to

INF = float("inf")  # return "time" of an op whose effect is unknown
FS = ("write", "read", "incr", "txn-write", "txn-read")
COMPLETIONS = ("ok", "fail", "info")
CONTRACT_FIELDS = ("type", "process", "f", "time", "key", "keys", "value")


class HistoryError(ValueError):
    """The history breaks the format contract (a harness bug, not a server bug)."""


class Op:
    """One operation: an invoke and its completion, if any.

    index is the invoke's event position; complete_index is the completion's
    (None when there was none). ret is the position real-time order uses for
    the end of the op: complete_index for ok ops, INF otherwise.
    """

    __slots__ = ("index", "process", "f", "type", "key", "keys", "value",
                 "invoke_time", "complete_index", "complete_time", "ret", "extra")

    def __init__(self, index, ev):
        self.index = index
        self.process = ev.get("process")
        self.f = ev.get("f")
        self.type = "info"
        self.key = None
        self.keys = None
        self.value = None
        self.invoke_time = ev.get("time")
        self.complete_index = None
        self.complete_time = None
        self.ret = INF
        self.extra = {}
        self.add_extra(ev)

    def add_extra(self, ev):
        """Keeps the harness's own scalar fields (node, error...) for display."""
        for k, v in ev.items():
            if k in CONTRACT_FIELDS or not isinstance(v, (str, int, float, bool)):
                continue
            if k in self.extra or len(self.extra) < EXTRA_FIELDS_MAX:
                self.extra[k] = v[:EXTRA_CHARS_MAX] if isinstance(v, str) else v


class Sub:
    """An op's effect on one key: kind "w" (write), "r" (read) or "i" (incr)."""

    __slots__ = ("op", "kind", "value", "ok", "inv", "ret")

    def __init__(self, op, kind, value):
        self.op = op
        self.kind = kind
        self.value = value
        self.ok = op.type == "ok"
        self.inv = op.index
        self.ret = op.ret


# ---------------------------------------------------------------------------
# Reading a history


def _fail(index, msg):
    raise HistoryError("event #%d: %s" % (index, msg))


def _parse_invoke(index, ev, op):
    f = op.f
    if f in ("txn-write", "txn-read"):
        keys = ev.get("keys")
        if (not isinstance(keys, list) or not 1 <= len(keys) <= MAX_TXN_KEYS
                or not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys)):
            _fail(index, "%s needs 1..%d distinct string keys" % (f, MAX_TXN_KEYS))
        op.keys = tuple(keys)
    else:
        if not isinstance(ev.get("key"), str):
            _fail(index, "%s needs a string key" % f)
        op.key = ev["key"]
    if f in ("write", "txn-write"):
        if not isinstance(ev.get("value"), str):
            _fail(index, "%s needs a string value" % f)
        op.value = ev["value"]


def _parse_result(index, ev, op):
    """Takes the result of an ok read, incr or txn-read from its completion."""
    f = op.f
    if f in ("write", "txn-write"):
        return
    if "value" not in ev:
        _fail(index, "ok %s without a value" % f)
    v = ev["value"]
    if f == "read" and not (v is None or isinstance(v, str)):
        _fail(index, "read value must be a string or null")
    if f == "incr" and (isinstance(v, bool) or not isinstance(v, int)):
        _fail(index, "incr value must be an integer")
    if f == "txn-read" and (
            not isinstance(v, list) or len(v) != len(op.keys)
            or not all(x is None or isinstance(x, str) for x in v)):
        _fail(index, "txn-read value must be a list of %d strings/nulls" % len(op.keys))
    op.value = tuple(v) if f == "txn-read" else v


def parse_history(history):
    """Pairs invokes with completions; returns the ops in invoke order."""
    return pair_events(history, FS, Op, _parse_invoke, _parse_ok)


def _parse_ok(index, ev, op):
    op.ret = index
    _parse_result(index, ev, op)


def load_jsonl(path):
    """Reads a JSON-lines history file (blank lines skipped)."""
    history = []
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if len(line) > MAX_LINE_BYTES:
                raise HistoryError("line %d: longer than %d bytes" % (lineno, MAX_LINE_BYTES))
            if not line.strip():
                continue
            if len(history) >= MAX_EVENTS:
                raise HistoryError("line %d: more than %d events" % (lineno, MAX_EVENTS))
            try:
                history.append(json.loads(line))
            except ValueError as e:
                raise HistoryError("line %d: %s" % (lineno, e)) from None
    return history


# ---------------------------------------------------------------------------
# Splitting into keys


class KeyHistory:
    """What one key saw: its subs (failed ops and info reads dropped) and the
    values of failed writes (a read of one is a read of a never-written value)."""

    __slots__ = ("key", "is_counter", "subs", "failed_writes")

    def __init__(self, key):
        self.key = key
        self.is_counter = False
        self.subs = []
        self.failed_writes = {}


def split_keys(ops):
    """Returns {key: KeyHistory} in first-appearance order."""
    keys = {}
    for op in ops:
        for k in (op.keys if op.keys is not None else (op.key,)):
            if k not in keys:
                keys[k] = KeyHistory(k)
            if op.f == "incr":
                keys[k].is_counter = True
    for op in ops:
        if op.f == "incr" or op.f == "read":
            kh = keys[op.key]
            if op.type == "fail" or (op.f == "read" and op.type != "ok"):
                continue
            kind = "i" if op.f == "incr" else "r"
            kh.subs.append(Sub(op, kind, op.value if op.type == "ok" else None))
            continue
        for pos, k in enumerate(op.keys if op.keys is not None else (op.key,)):
            kh = keys[k]
            if kh.is_counter:
                raise HistoryError("event #%d: %s on counter key %r" % (op.index, op.f, k))
            if op.f in ("write", "txn-write"):
                if op.type == "fail":
                    kh.failed_writes[op.value] = op
                else:
                    kh.subs.append(Sub(op, "w", op.value))
            elif op.type == "ok":
                kh.subs.append(Sub(op, "r", op.value[pos]))
    for kh in keys.values():
        seen = {}
        for s in kh.subs:
            if s.kind == "w":
                if s.value in seen:
                    raise HistoryError("events #%d and #%d write the same value %r to key %r"
                                       % (seen[s.value], s.inv, s.value, kh.key))
                seen[s.value] = s.inv
    return keys


# ---------------------------------------------------------------------------
# Named anomalies: cheap rules, each of which implies no linearization exists


def _anomaly(kind, key, explanation, ops):
    return {"kind": kind, ("keys" if isinstance(key, tuple) else "key"):
            list(key) if isinstance(key, tuple) else key,
            "explanation": explanation, "slice": op_slice(ops, op_dict)}


def _ref(op):
    """A short reference to an op, by event positions: "p3 #12..#15"."""
    end = "?" if op.type != "ok" else "#%d" % op.complete_index
    return "p%s #%d..%s" % (op.process, op.index, end)


def search_subs(kh):
    """The subs the search gets for a key; neither change below alters the
    verdict. Counter values become ints (-1 for a value no state can have).
    A register's info writes lose their open end, since each one kept open
    doubles the configurations to explore: one whose value no ok read
    returned is dropped (it can always be left out, or linearized last where
    nobody sees it); one whose value was read must be linearized before the
    first such read completes, so it becomes an op that must be linearized
    and ends there."""
    if kh.is_counter:
        out = []
        for s in kh.subs:
            v = _counter_value(s) if s.ok else None
            out.append(Sub(s.op, s.kind, -1 if s.ok and v is None else v))
        return out
    first_read = {}
    for s in kh.subs:
        if s.kind == "r" and s.ret < first_read.get(s.value, INF):
            first_read[s.value] = s.ret
    out = []
    for s in kh.subs:
        if s.kind == "r" or s.ok:
            out.append(s)
        elif s.value in first_read:
            bound = Sub(s.op, "w", s.value)
            bound.ok, bound.ret = True, first_read[s.value]
            out.append(bound)
    return out


def register_anomalies(kh):
    """Never-written values, stale reads and lost writes of a register key."""
    writes = {s.value: s for s in kh.subs if s.kind == "w"}
    reads, found = [], []
    for s in kh.subs:
        if s.kind != "r":
            continue
        if s.value is None or s.value in writes:
            reads.append(s)
            continue
        failed = kh.failed_writes.get(s.value)
        why = ("its only write %s failed" % _ref(failed)) if failed else "no op wrote it"
        found.append(_anomaly("read of a never-written value", kh.key,
                              "%s %s returned %r, but %s" % (s.op.f, _ref(s.op), s.value, why),
                              [s.op] + ([failed] if failed else [])))
    found.extend(_stale_reads(kh.key, writes, reads))
    return found


def _stale_reads(key, writes, reads):
    """A read of v is stale if some ok write W completed before the read was
    invoked while v was known to be written (its write completed, or a read of
    it completed) before W was invoked: W sits between v's write and the read
    in every linearization. Grouped by W; "lost write" if no read invoked
    after the last such read shows W's value or a value written after W."""
    known = {None: (-1, None)}  # value -> (position v was known to exist, op showing it)
    for v, w in writes.items():
        if w.ok:
            known[v] = (w.ret, w.op)
    for r in reads:
        if r.ret < known.get(r.value, (INF,))[0]:
            known[r.value] = (r.ret, r.op)
    ok_writes = sorted((w for w in writes.values() if w.ok), key=lambda w: w.ret)
    reads = sorted(reads, key=lambda r: r.inv)
    groups = {}  # id(W) -> [W, first read, last read, count]
    best1 = best2 = None
    p = 0
    for r in reads:
        while p < len(ok_writes) and ok_writes[p].ret < r.inv:
            w = ok_writes[p]
            p += 1
            if best1 is None or w.inv > best1.inv:
                best1, best2 = w, best1
            elif best2 is None or w.inv > best2.inv:
                best2 = w
        cand = best1 if best1 is not None and best1.value != r.value else best2
        if cand is None or cand.inv <= known[r.value][0]:
            continue
        g = groups.setdefault(id(cand), [cand, r, r, 0])
        g[2] = r
        g[3] += 1
    if not groups:
        return []
    # Newest evidence after a position: max, over reads invoked after it, of
    # the invoke of the write of the value read; and the last read of each value.
    inv_of = {v: w.inv for v, w in writes.items()}
    read_invs = [r.inv for r in reads]
    suffix_max = [-1] * (len(reads) + 1)
    for i in range(len(reads) - 1, -1, -1):
        suffix_max[i] = max(suffix_max[i + 1], inv_of.get(reads[i].value, -1))
    last_read_inv = {}
    for r in reads:
        last_read_inv[r.value] = r.inv
    found = []
    for w, first, last, count in groups.values():
        after = bisect.bisect_right(read_invs, last.op.complete_index)
        seen_again = (last_read_inv.get(w.value, -1) > last.op.complete_index
                      or suffix_max[after] > w.ret)
        old_op = known[last.value][1]
        if old_op is None:
            old = "the initial absent value"
        else:
            old = "%r, known written by #%d" % (last.value, known[last.value][0])
        if seen_again:
            kind, tail = "stale read", "later reads show it or newer values again"
        else:
            kind, tail = "lost write", "no later read shows it or anything newer"
        found.append(_anomaly(
            kind, key,
            "write %r %s was acknowledged, but %d read(s) invoked after it completed "
            "returned an older value (last: %s got %s, before that write was invoked); %s"
            % (w.value, _ref(w.op), count, _ref(last.op), old, tail),
            [o for o in (old_op, w.op, first.op, last.op) if o is not None]))
    return found


def _counter_value(s):
    """A counter sub's value as an int, or None if it cannot be one."""
    v = s.value
    if s.kind == "i":
        return v if v >= 1 else None
    if v is None:
        return 0
    if not (v.isascii() and v.isdigit()) or len(v) > 30:
        return None
    return int(v)


def counter_anomalies(kh):
    """Never-written values, duplicate incr results and non-monotonic values
    of a counter key."""
    found, good = [], []
    incr_invs = sorted(s.inv for s in kh.subs if s.kind == "i")
    for s in kh.subs:
        if not s.ok:
            good.append(s)
            continue
        x = _counter_value(s)
        bound = bisect.bisect_left(incr_invs, s.ret)
        if x is None or x > bound:
            found.append(_anomaly(
                "read of a never-written value", kh.key,
                "%s %s returned %r, but only %d incr(s) were invoked before it completed"
                % (s.op.f, _ref(s.op), s.value, bound), [s.op]))
            continue
        good.append(Sub(s.op, s.kind, x))
    by_value = {}
    for s in good:
        if s.ok and s.kind == "i":
            by_value.setdefault(s.value, []).append(s)
    for v, same in by_value.items():
        if len(same) > 1:
            found.append(_anomaly(
                "duplicate counter value", kh.key,
                "%d incrs returned %d: %s" % (len(same), v, ", ".join(_ref(s.op) for s in same)),
                [s.op for s in same]))
    observed = sorted((s for s in good if s.ok), key=lambda s: s.ret)
    best, p = None, 0
    for s in sorted(observed, key=lambda s: s.inv):
        while p < len(observed) and observed[p].ret < s.inv:
            if best is None or observed[p].value > best.value:
                best = observed[p]
            p += 1
        if best is None or s.value > best.value or (s.kind == "r" and s.value == best.value):
            continue
        if s.value == best.value and best.kind == "i" and s.kind == "i":
            continue  # reported as a duplicate
        found.append(_anomaly(
            "non-monotonic counter", kh.key,
            "%s %s returned %d, but %s %s had already returned %d before it was invoked"
            % (s.op.f, _ref(s.op), s.value, best.op.f, _ref(best.op), best.value),
            [best.op, s.op]))
    return found


def txn_anomalies(ops, stats):
    """Every ok txn-read of a group whose only writers are txn-writes of that
    same group must see one value on all its keys."""
    writers = {}  # key -> set of groups writing it ("plain" for non-txn writes)
    for op in ops:
        if op.type == "fail":
            continue
        if op.f == "write":
            writers.setdefault(op.key, set()).add("plain")
        elif op.f == "txn-write":
            for k in op.keys:
                writers.setdefault(k, set()).add(frozenset(op.keys))
    by_value, checked, skipped, found = {}, set(), {}, []
    for op in ops:
        if op.f == "txn-write" and op.type != "fail":
            by_value[(frozenset(op.keys), op.value)] = op
    for op in ops:
        if op.f != "txn-read" or op.type != "ok":
            continue
        group = frozenset(op.keys)
        if group in skipped or group in checked:
            pass
        elif all(writers.get(k, set()) <= {group} for k in op.keys):
            checked.add(group)
        else:
            skipped[group] = "keys also written outside this group's txn-writes"
        if group in skipped or len(set(op.value)) == 1:
            continue
        shown = [by_value.get((group, v)) for v in set(op.value)]
        found.append(_anomaly(
            "non-atomic transaction", op.keys,
            "txn-read %s returned %r: keys written only together disagree"
            % (_ref(op), list(op.value)), [op] + [w for w in shown if w is not None]))
    stats["txn_groups_checked"] = len(checked)
    stats["txn_groups_skipped"] = [{"keys": sorted(g), "reason": r} for g, r in skipped.items()]
    return found


# ---------------------------------------------------------------------------
# The search


class _Links:
    """One key's ops encoded for the search, and the doubly linked list of
    their entries (invokes and ok completions, in history order; node `head`
    is the sentinel before the first). Lifting an op unlinks its entries;
    unlifting in the reverse order relinks them (dancing links). Every op in
    the list is an ok op (search_subs() bounds or drops info writes); info
    incrs get no entries: only their invoke positions (info_invs) matter."""

    WRITE, READ, INCR, COUNTER_READ = 0, 1, 2, 3

    def __init__(self, subs, is_counter):
        n = len(subs)
        ids = {None: 0}
        if not is_counter:
            for s in subs:
                if s.kind == "w":
                    ids[s.value] = len(ids)
        self.kind, self.val, self.okmask = [0] * n, [0] * n, [0] * n
        ok_order = sorted((i for i in range(n) if subs[i].ok), key=lambda i: subs[i].inv)
        for pos, i in enumerate(ok_order):
            self.okmask[i] = 1 << pos
        for i, s in enumerate(subs):
            assert s.ok or s.kind == "i", "search_subs() bounds or drops info writes"
            if s.kind == "w":
                self.kind[i], self.val[i] = self.WRITE, ids[s.value]
            elif s.kind == "r" and is_counter:
                self.kind[i], self.val[i] = self.COUNTER_READ, s.value
            elif s.kind == "r":  # a value nobody wrote gets -1: no state matches it
                self.kind[i], self.val[i] = self.READ, ids.get(s.value, -1)
            else:
                self.kind[i], self.val[i] = self.INCR, s.value
        self.info_invs = sorted(s.inv for s in subs if s.kind == "i" and not s.ok)
        self.read_states = set() if is_counter else {
            self.val[i] for i, s in enumerate(subs) if s.kind == "r"}
        self.jbits = (n + 1).bit_length()
        n_states = sum(1 for s in subs if s.kind == "i") if is_counter else len(ids)
        self.sbits = (n_states + 1).bit_length()
        events = sorted([(s.inv, i, True) for i, s in enumerate(subs) if s.ok]
                        + [(s.ret, i, False) for i, s in enumerate(subs) if s.ok])
        m = len(events)
        self.head = m
        self.nxt = list(range(1, m + 1)) + [0 if m else -1]
        self.prv = list(range(-1, m - 1)) + [-1]
        if m:
            self.nxt[m - 1] = -1
            self.prv[0] = m
        self.pos = [e[0] for e in events]
        self.deadline = [subs[e[1]].ret for e in events]  # of the op, by its invoke node
        self.node_sub = [e[1] for e in events]
        self.is_call = [e[2] for e in events]
        self.match = [-1] * m  # invoke node -> its completion node
        call_of = {}
        for node, (_, i, call) in enumerate(events):
            if call:
                call_of[i] = node
            else:
                self.match[call_of[i]] = node

    def lift(self, node):
        nxt, prv = self.nxt, self.prv
        for x in (node, self.match[node]):
            if x != -1:
                p, q = prv[x], nxt[x]
                nxt[p] = q
                if q != -1:
                    prv[q] = p

    def unlift(self, node):
        nxt, prv = self.nxt, self.prv
        for x in (self.match[node], node):
            if x != -1:
                p, q = prv[x], nxt[x]
                nxt[p] = x
                if q != -1:
                    prv[q] = x

    def candidates(self, state, fresh):
        """From a configuration: (the ops that may be linearized next, the
        sub whose completion is the first pending one, the number of info
        incrs invoked before that completion). The ops are those invoked
        before that completion, earliest deadline first; or only a read the
        state satisfies; or none, if the state was just written (fresh), some
        read returns it and no such read can go next. None instead of a list:
        no completion is pending, so every op that had to be is linearized."""
        nxt, is_call, node_sub = self.nxt, self.is_call, self.node_sub
        kind, val = self.kind, self.val
        node, cands, forced = nxt[self.head], [], False
        while node != -1 and is_call[node]:
            i = node_sub[node]
            if not forced and kind[i] in (self.READ, self.COUNTER_READ) and val[i] == state:
                cands, forced = [node], True
            elif not forced:
                cands.append(node)
            node = nxt[node]
        if node == -1:
            return None, None, len(self.info_invs)
        if not forced and fresh and state in self.read_states:
            cands = []
        elif len(cands) > 1:
            cands.sort(key=self.deadline.__getitem__)
        invoked_info = bisect.bisect_left(self.info_invs, self.pos[node]) if self.info_invs else 0
        return cands, node_sub[node], invoked_info


def search(subs, is_counter, step_limit):
    """Just-in-time linearization (Wing & Gong, Lowe) of one key's subs.

    Returns (outcome, steps, stuck, states): outcome "ok", "fail" or "unknown";
    stuck is the sub whose completion the search could never get past (the
    furthest one) and states the model states it was reached from.

    Depth-first over configurations (ops linearized, model state). From each,
    the candidates are the ops invoked before the first pending completion;
    when none of them leads anywhere, the last choice is undone. The memo
    holds every configuration reached, so none is explored twice. Ok ops are
    numbered in invoke order; those linearized form a prefix plus a few, so the
    set is stored as (prefix length, rest). The subs must come from
    search_subs(): no info writes.

    Candidates are tried earliest deadline first, which follows the order most
    histories really happened in. Three reductions keep the search near-linear;
    each keeps a linearization if one exists. A read the state satisfies is
    the only candidate ("forced"): a linearization placing it later still works
    with it moved here, as reads change nothing. A write whose value some read
    returns is, in every linearization, immediately followed by a read of it
    (values are unique: a write in between would hide the value for good, and
    a read in between would be a read of it), so a fresh state that no read
    can follow is a dead end. Info incrs are not candidates: any linearization
    can move them later, to just before the next ok op on the counter, so an
    ok op returning v from state s takes the v-s (read) or v-s-1 (incr) it
    needs from those invoked so far and not used yet.
    """
    lk = _Links(subs, is_counter)
    kind, val, okmask, node_sub = lk.kind, lk.val, lk.okmask, lk.node_sub
    jbits, sbits = lk.jbits, lk.sbits
    memo, frames = set(), []
    state, used, ob = 0, 0, 0  # used: info incrs linearized so far; ob: ok ops linearized
    steps, stuck, states = 0, None, []
    cands, first, invoked_info = lk.candidates(state, False)
    idx = 0
    while cands is not None:
        steps += 1
        if steps > step_limit:
            return "unknown", steps - 1, stuck, states
        if idx == len(cands):  # dead end: undo the last choice
            if stuck is None or subs[first].ret > stuck.ret:
                stuck, states = subs[first], [state]
            elif subs[first] is stuck and state not in states and len(states) < STUCK_STATES_MAX:
                states.append(state)
            if not frames:
                return "fail", steps, stuck, states
            cands, idx, first, state, used, invoked_info, node = frames.pop()
            ob &= ~okmask[node_sub[node]]
            lk.unlift(node)
            idx += 1
            continue
        node = cands[idx]
        i = node_sub[node]
        ns, nu, k = None, used, kind[i]
        if k == lk.WRITE:
            ns = val[i]
        elif k == lk.READ:
            ns = state if state == val[i] else None
        else:
            need = val[i] - state - (k == lk.INCR)
            if 0 <= need <= invoked_info - used:
                ns, nu = val[i], used + need
        if ns is not None:
            nob = ob | okmask[i]
            j = ((nob + 1) & ~nob).bit_length() - 1
            key = ((((nob >> j) << jbits) | j) << sbits) | ns
            size = len(memo)
            memo.add(key)
            if len(memo) != size:
                frames.append((cands, idx, first, state, used, invoked_info, node))
                state, used, ob = ns, nu, nob
                lk.lift(node)
                cands, first, invoked_info = lk.candidates(state, k == lk.WRITE)
                idx = 0
                continue
        idx += 1
    return "ok", steps, stuck, states


def _search_slice(subs, stuck):
    """The ops around the point the search could not pass: those overlapping
    the stuck op, those just before it (no op fits between them and it), the
    writes of the values these read and the first read of each value these
    wrote (what made each order fail)."""
    before = [s for s in subs if s.ret < stuck.inv]
    latest_start = max((s.inv for s in before), default=-1)
    near = [s for s in subs if s.inv < stuck.ret and s.ret > stuck.inv and s is not stuck]
    near += [s for s in before if s.ret > latest_start]
    near.sort(key=lambda s: abs(s.inv - stuck.inv))
    chosen = [stuck] + near[:SLICE_MAX_OPS // 3 - 1]
    writes, first_reads = {}, {}
    for s in subs:
        if s.kind == "w":
            writes[s.value] = s
        elif s.kind == "r" and (s.value not in first_reads
                                or s.inv < first_reads[s.value].inv):
            first_reads[s.value] = s
    chosen += [writes[s.value] for s in chosen if s.kind == "r" and s.value in writes]
    chosen += [first_reads[s.value] for s in chosen if s.kind == "w" and s.value in first_reads]
    return [s.op for s in chosen]


def _describe_state(state, subs, is_counter):
    if is_counter:
        return str(state)
    if state == 0:
        return "absent"
    values = [None]
    for s in subs:
        if s.kind == "w":
            values.append(s.value)
    return repr(values[state])


# ---------------------------------------------------------------------------
# The verdict


def check(history, step_limit=DEFAULT_STEP_LIMIT):
    """Checks a history (list of event dicts); see the module docstring.

    Returns {"valid", "reason", "anomalies", "unknown_keys", "stats"}.
    Raises HistoryError if the history breaks the format contract."""
    ops = parse_history(history)
    stats = {"events": len(history), "ops": {}, "ops_without_completion": 0,
             "keys_checked": 0, "register_keys": 0, "counter_keys": 0,
             "keys_searched": 0, "keys_skipped_search": 0, "search_steps": 0,
             "max_search_steps_per_key": 0, "info_writes_pruned": 0,
             "anomalies_dropped": 0}
    for op in ops:
        by_type = stats["ops"].setdefault(op.f, {"ok": 0, "fail": 0, "info": 0})
        by_type[op.type] += 1
        stats["ops_without_completion"] += op.complete_index is None
    keys = split_keys(ops)
    anomalies = txn_anomalies(ops, stats)
    unknown = []
    for kh in keys.values():
        stats["keys_checked"] += 1
        stats["counter_keys" if kh.is_counter else "register_keys"] += 1
        found = counter_anomalies(kh) if kh.is_counter else register_anomalies(kh)
        anomalies.extend(found)
        if found:
            stats["keys_skipped_search"] += 1
            continue
        subs = search_subs(kh)
        stats["info_writes_pruned"] += len(kh.subs) - len(subs)
        outcome, steps, stuck, states = search(subs, kh.is_counter, step_limit)
        stats["keys_searched"] += 1
        stats["search_steps"] += steps
        stats["max_search_steps_per_key"] = max(stats["max_search_steps_per_key"], steps)
        if outcome == "unknown":
            unknown.append({"key": kh.key, "steps": steps, "explanation":
                            "search gave up after %d steps (step limit); "
                            "neither proved nor disproved" % steps})
        elif outcome == "fail":
            anomalies.append(_not_linearizable(kh, subs, stuck, states))
    anomalies = _cap(anomalies, stats)
    valid = not anomalies and not unknown
    reasons = []
    if anomalies:
        reasons.append("%d anomalies (%s)" % (
            len(anomalies) + stats["anomalies_dropped"],
            ", ".join(sorted({a["kind"] for a in anomalies}))))
    if unknown:
        reasons.append("search limit reached on %d key(s): %s"
                       % (len(unknown), ", ".join(repr(u["key"]) for u in unknown[:10])))
    return {"valid": valid, "reason": "; ".join(reasons), "anomalies": anomalies,
            "unknown_keys": unknown, "stats": stats}


def _not_linearizable(kh, subs, stuck, states):
    if stuck is None:  # cannot happen: a failed search always hit a completion
        return _anomaly("not linearizable", kh.key, "no linearization exists", [])
    return _anomaly(
        "not linearizable", kh.key,
        "no order of the ops gets past the completion of %s %s (value %r): every "
        "order of the ops invoked by then contradicts a result (states reached "
        "just before it: %s)" % (stuck.op.f, _ref(stuck.op), stuck.value,
                            ", ".join(_describe_state(x, subs, kh.is_counter) for x in states)),
        _search_slice(subs, stuck))


def _cap(anomalies, stats):
    kept, per = [], {}
    for a in anomalies:
        slot = (a["kind"], repr(a.get("key", a.get("keys"))))
        per[slot] = per.get(slot, 0) + 1
        if per[slot] > MAX_ANOMALIES_PER_KEY_KIND or len(kept) >= MAX_ANOMALIES:
            stats["anomalies_dropped"] += 1
        else:
            kept.append(a)
    return kept


# ---------------------------------------------------------------------------
# Presentation


def op_dict(op):
    """An op as a plain dict (the form slices use)."""
    d = {"index": op.index, "process": op.process, "f": op.f, "type": op.type}
    if op.keys is not None:
        d["keys"] = list(op.keys)
    else:
        d["key"] = op.key
    d["value"] = list(op.value) if isinstance(op.value, tuple) else op.value
    d["invoke_time"] = op.invoke_time
    d["complete_index"] = op.complete_index
    d["complete_time"] = op.complete_time
    if op.extra:
        d["extra"] = dict(op.extra)
    return d


def _rel(t, t0):
    return "?" if t is None or t0 is None else "%+.3fs" % (t - t0)


def op_line(d, what, t0, pad=4):
    """The report line of op dict d (every checker's): event positions,
    times relative to t0, process (padded to pad), outcome, what (the op
    itself, as its checker words it), then its extra fields."""
    end = "(none)" if d["complete_index"] is None else "#%d %s" % (
        d["complete_index"], _rel(d["complete_time"], t0))
    extra = "".join("  %s=%s" % (k, v) for k, v in (d.get("extra") or {}).items())
    return "#%-6d %s .. %-16s p%-*s %-5s %s%s" % (
        d["index"], _rel(d["invoke_time"], t0), end, pad, d["process"], d["type"], what, extra)


def format_op(d, t0=None):
    """One human-readable line for an op dict, times relative to t0."""
    target = d["key"] if "key" in d else ",".join(d["keys"])
    if d["f"] in ("write", "txn-write"):
        what = "%s %s := %r" % (d["f"], target, d["value"])
    elif d["type"] == "ok":
        what = "%s %s -> %r" % (d["f"], target, d["value"])
    else:
        what = "%s %s" % (d["f"], target)
    return op_line(d, what, t0)


def format_report(result, t0=None):
    """The command line's text: summary, then each anomaly with its slice."""
    st = result["stats"]
    lines = ["events: %d" % st["events"]]
    for f, counts in sorted(st["ops"].items()):
        lines.append("  %-9s ok=%d fail=%d info=%d"
                     % (f, counts["ok"], counts["fail"], counts["info"]))
    lines.append("keys: %d (%d register, %d counter); searched %d, skipped %d; "
                 "search steps %d (max per key %d); unread info writes pruned %d"
                 % (st["keys_checked"], st["register_keys"], st["counter_keys"],
                    st["keys_searched"], st["keys_skipped_search"], st["search_steps"],
                    st["max_search_steps_per_key"], st["info_writes_pruned"]))
    lines.append("txn groups: %d checked, %d skipped" % (
        st.get("txn_groups_checked", 0), len(st.get("txn_groups_skipped", []))))
    for g in st.get("txn_groups_skipped", []):
        lines.append("  skipped %s: %s" % (",".join(g["keys"]), g["reason"]))
    lines.append("VALID" if result["valid"] else "INVALID: " + result["reason"])
    for u in result["unknown_keys"]:
        lines.append("unknown key %r: %s" % (u["key"], u["explanation"]))
    for a in result["anomalies"]:
        where = a["key"] if "key" in a else a["keys"]
        lines.append("")
        lines.append("[%s] key %r: %s" % (a["kind"], where, a["explanation"]))
        for d in a["slice"]:
            lines.append("    " + format_op(d, t0))
    if st["anomalies_dropped"]:
        lines.append("(%d more anomalies not shown)" % st["anomalies_dropped"])
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Shared by the workload checkers (queue_checker.py, cache_checker.py,
# stream_checker.py): histories in this module's format with their own ops.


class WorkloadOp:
    """One op of a workload history: its invoke (event position index), its
    completion (type "ok", "fail" or "info", complete_index, complete_time;
    "info" and None while there is none) and the harness's other scalar
    fields, for display (extra). A subclass adds its own fields as slots and
    names them in CONTRACT_FIELDS, which extra leaves out."""

    __slots__ = ("index", "process", "f", "type", "invoke_time", "complete_index",
                 "complete_time", "extra")
    CONTRACT_FIELDS = ("type", "process", "f", "time")

    def __init__(self, index, ev):
        self.index = index
        self.process = ev.get("process")
        self.f = ev.get("f")
        self.type = "info"
        self.invoke_time = ev.get("time")
        self.complete_index = None
        self.complete_time = None
        self.extra = {}
        self.add_extra(ev)

    def add_extra(self, ev):
        for k, v in ev.items():
            if k in self.CONTRACT_FIELDS or not isinstance(v, (str, int, float, bool)):
                continue
            if k in self.extra or len(self.extra) < EXTRA_FIELDS_MAX:
                self.extra[k] = v[:EXTRA_CHARS_MAX] if isinstance(v, str) else v

    def ref(self):
        """A short reference by event positions: "p3 #12..#15" ("?": no completion)."""
        end = "?" if self.complete_index is None else "#%d" % self.complete_index
        return "p%s #%d..%s" % (self.process, self.index, end)

    def as_dict(self, **fields):
        """The op as a plain dict (the form slices use): identity, then the
        fields given (those that are None left out), then times and extra."""
        d = {"index": self.index, "process": self.process, "f": self.f, "type": self.type}
        d.update((k, v) for k, v in fields.items() if v is not None)
        d["invoke_time"] = self.invoke_time
        d["complete_index"] = self.complete_index
        d["complete_time"] = self.complete_time
        if self.extra:
            d["extra"] = dict(self.extra)
        return d


def pair_events(history, fs, make_op, parse_invoke, parse_result, client_fs=()):
    """Pairs a workload history's invokes with their completions; returns
    the ops, make_op(index, invoke event), in invoke order. parse_invoke(index,
    ev, op) reads an invoke's fields and parse_result(index, ev, op) an ok's,
    both raising HistoryError (_fail) on a breach of the format. fs: the op
    names; client_fs: those the client records itself (no command), which
    must complete, and ok."""
    ops, outstanding = [], {}
    for index, ev in enumerate(history):
        if index >= MAX_EVENTS:
            _fail(index, "more than %d events" % MAX_EVENTS)
        if not isinstance(ev, dict):
            _fail(index, "not an object")
        typ, proc, f = ev.get("type"), ev.get("process"), ev.get("f")
        if f not in fs:
            _fail(index, "unknown f %r" % (f,))
        if isinstance(proc, bool) or not isinstance(proc, (int, str)):
            _fail(index, "process must be an integer (or a string)")
        if typ == "invoke":
            if proc in outstanding:
                _fail(index, "process %r invoked while its op #%d is outstanding"
                      % (proc, outstanding[proc].index))
            op = make_op(index, ev)
            parse_invoke(index, ev, op)
            outstanding[proc] = op
            ops.append(op)
        elif typ in COMPLETIONS:
            op = outstanding.pop(proc, None)
            if op is None:
                _fail(index, "%s for process %r, which has no op outstanding" % (typ, proc))
            if op.f != f:
                _fail(index, "%s of %s completes invoke #%d of %s" % (typ, f, op.index, op.f))
            if f in client_fs and typ != "ok":
                _fail(index, "%s is recorded by the client itself and must be ok" % f)
            op.type = typ
            op.complete_index = index
            op.complete_time = ev.get("time")
            op.add_extra(ev)
            if typ == "ok":
                parse_result(index, ev, op)
        else:
            _fail(index, "unknown type %r" % (typ,))
    for op in ops:
        if op.f in client_fs and op.complete_index is None:
            _fail(op.index, "%s without its completion" % op.f)
    return ops


def op_slice(ops, op_dict):
    """An anomaly's slice: ops (None left out, each once) as op_dict makes
    them, in history order, at most SLICE_MAX_OPS."""
    ops = sorted({id(o): o for o in ops if o is not None}.values(), key=lambda o: o.index)
    return [op_dict(o) for o in ops[:SLICE_MAX_OPS]]


def cap_anomalies(anomalies, stats, per_kind, total):
    """The anomalies kept: at most per_kind of a kind, total in all; the
    others are counted in stats["anomalies_dropped"]."""
    kept, per = [], {}
    for a in anomalies:
        per[a["kind"]] = per.get(a["kind"], 0) + 1
        if per[a["kind"]] > per_kind or len(kept) >= total:
            stats["anomalies_dropped"] += 1
        else:
            kept.append(a)
    return kept


def workload_report(result, fs, figures, format_op, t0, where):
    """A workload checker's text report: ops by f (in the order of fs) and
    outcome, figures(stats), the verdict, then each anomaly - where(anomaly)
    names what it is about - with its slice, ops through format_op(d, t0)."""
    st = result["stats"]
    lines = ["events: %d" % st["events"]]
    for f in fs:
        if f in st["ops"]:
            c = st["ops"][f]
            lines.append("  %-10s ok=%d fail=%d info=%d" % (f, c["ok"], c["fail"], c["info"]))
    lines.append(figures(st))
    lines.append("VALID" if result["valid"] else "INVALID: " + result["reason"])
    for a in result["anomalies"]:
        lines.append("")
        lines.append("[%s] %r: %s" % (a["kind"], where(a), a["explanation"]))
        for d in a["slice"]:
            lines.append("    " + format_op(d, t0))
    if st["anomalies_dropped"]:
        lines.append("(%d more anomalies not shown)" % st["anomalies_dropped"])
    return "\n".join(lines)


def checker_main(argv, name, description, history_help, check_fn, report_fn, options=()):
    """The command line every checker shares: check the JSON-lines history,
    print the report (or the result as JSON with --json); exit 0 valid, 1
    invalid, 2 unreadable. options: (flag, argparse kwargs) pairs, passed to
    check_fn as keywords."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("history", help=history_help)
    for flag, kw in options:
        ap.add_argument(flag, **kw)
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = vars(ap.parse_args(argv))
    path, as_json = args.pop("history"), args.pop("json")
    try:
        history = load_jsonl(path)
        result = check_fn(history, **args)
    except (OSError, HistoryError) as e:
        print("%s: %s" % (name, e), file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        t0 = next((ev.get("time") for ev in history if ev.get("time") is not None), None)
        print(report_fn(result, t0))
    return 0 if result["valid"] else 1


def main(argv):
    return checker_main(argv, "checker", "Check a chaos history for linearizability.",
                        "JSON-lines history file", check, format_report,
                        [("--step-limit", {"type": int, "default": DEFAULT_STEP_LIMIT,
                                           "dest": "step_limit"})])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
