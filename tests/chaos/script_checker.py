"""Checker for the chaos test's script workload (pure Python 3, stdlib only).

The script workload (script_workload.py) runs writing Lua scripts (EVAL)
whose result would depend on the node if raftcache did not make every run
a pure function of its log entry. Whether the replicas agree is decided by
the run's convergence checks (every node's DEBUG DIGEST of the whole
keyspace, script keys included, after healing and after the restart of
every node); this module judges what the clients saw, the replies of the
leaders that ran the scripts. It owns no cluster and no client, so it is
tested on hand-made histories (test_script_checker.py) and a saved run can
be re-checked from its script-history.jsonl.

HISTORY FORMAT
--------------
Events in real-time order, each op an "invoke" and later one completion
with the same "process" ("ok" the script ran, "fail" it certainly did not,
"info" unknown), as in checker.py; a process has at most one op
outstanding. One op:

  f = "eval"  {"script": kind, "key": str}   EVAL of script `kind` (KINDS),
                                             key its KEYS[1]
              ok: {"reply_type": "string"|"integer"|"nil"|"array"|"error",
                   "reply": str, "reply_len": int (optional)}

An "ok" with reply_type "error" is a script that ran and ended with an
error reply of its own (a Lua error, the instruction budget, a refusal);
the reply is its text. Other fields (node, error) are kept for display.

THE CHECKS
----------
1. "never ran": every kind of KINDS completed at least once - ok with a
   reply that is not an error, or, for the runaway, with the budget error.
   A history in which none did is invalid with the reason "the script
   workload ran nothing" (and no "never ran" anomalies).
2. "memory address": no ok reply that is not an error shows a memory
   address, the pattern 0x[0-9a-f]{6,} with a value of at least
   ADDRESS_MIN. raftcache's tostring() of a table or a function in a
   writing script shows a per-run id instead (0x00000001, 0x00000002, ...
   counted from 1 in each run), the same on every node.
3. "runaway returned": the runaway (RUNAWAY) never ends without an error,
   and "runaway wrong error": its error is the budget's (BUDGET_TEXT).
4. "script error": no other kind ends with an error reply.
5. "reply differs": the kinds of CONSTANT store a pure function of their
   body alone, so every ok reply of one is the same: the one given in
   CONSTANT, or (None there) the first one seen. A cjson setting that
   leaked from an earlier run, an id that depends on what the node ran
   before, an iteration order that depends on the node, shows here.

RESULT
------
check(history) returns {"valid", "reason", "anomalies", "stats"}; an
anomaly is {"kind", "script", "explanation", "slice"} (the slice: the ops
behind it, as op_dict() makes them). stats: events, ops (by f and
outcome), scripts ({kind: {"ok", "error", "fail", "info"}}: "ok" a reply,
"error" an error reply of the script's own), budget_errors, address_checked
(replies scanned), anomalies_dropped. A malformed history raises
HistoryError.

Command line: script_checker.py SCRIPT-HISTORY.jsonl [--json]; exit 0
valid, 1 not, 2 unreadable.
"""

import re
import sys

from checker import (EXTRA_CHARS_MAX, HistoryError, WorkloadOp, _fail,  # noqa: F401
                     cap_anomalies, checker_main, load_jsonl, op_line, op_slice, pair_events,
                     workload_report)

FS = ("eval",)
KINDS = ("tostring", "pairs", "smembers", "hgetall", "hkeys", "keys", "cjson-precision",
         "cjson-default", "random", "heap", "spop", "runaway")
RUNAWAY = "runaway"
BUDGET_TEXT = "exceeded its budget"
# kind -> its one reply (None: whatever the first reply was)
CONSTANT = {"tostring": None, "pairs": None, "heap": None, "cjson-precision": "[3.1]",
            "cjson-default": "[3.1415926535898]"}
REPLY_TYPES = ("string", "integer", "nil", "array", "error")
ADDRESS_RE = re.compile(r"0x([0-9a-fA-F]{6,})")
ADDRESS_MIN = 1 << 20            # below: a per-run id, not a pointer
MAX_ANOMALIES_PER_KIND = 20
MAX_ANOMALIES = 200
REPLY_SHOWN = 100                # reply characters format_op shows


class Op(WorkloadOp):
    __slots__ = ("script", "key", "reply_type", "reply")
    CONTRACT_FIELDS = WorkloadOp.CONTRACT_FIELDS + ("script", "key", "reply_type", "reply")

    def __init__(self, index, ev):
        super().__init__(index, ev)
        self.script = ev.get("script")
        self.key = ev.get("key")
        self.reply_type = None
        self.reply = None


def _parse_invoke(index, ev, op):
    if not isinstance(op.script, str) or not op.script:
        _fail(index, "eval needs \"script\": the script's kind")
    if not isinstance(op.key, str) or not op.key:
        _fail(index, "eval needs \"key\": its KEYS[1]")


def _parse_result(index, ev, op):
    rtype, reply = ev.get("reply_type"), ev.get("reply")
    if rtype not in REPLY_TYPES:
        _fail(index, "ok eval needs \"reply_type\", one of %s" % ", ".join(REPLY_TYPES))
    if not isinstance(reply, str):
        _fail(index, "ok eval needs \"reply\": a string")
    op.reply_type, op.reply = rtype, reply


def parse_history(history):
    """Pairs invokes with completions; returns the ops in invoke order."""
    return pair_events(history, FS, Op, _parse_invoke, _parse_result)


def addresses(text):
    """The memory addresses text shows (see ADDRESS_MIN)."""
    return [m.group(0) for m in ADDRESS_RE.finditer(text) if int(m.group(1), 16) >= ADDRESS_MIN]


def _anomaly(kind, op, explanation, ops=None):
    return {"kind": kind, "script": op.script if op is not None else None,
            "explanation": explanation, "slice": op_slice(ops or [op], op_dict)}


def _short(s):
    return repr(s if len(s) <= EXTRA_CHARS_MAX else s[:EXTRA_CHARS_MAX] + "...")


def _judge(ops, stats):
    anomalies, done, first = [], set(), {}
    for op in ops:
        by = stats["scripts"].setdefault(op.script, {"ok": 0, "error": 0, "fail": 0, "info": 0})
        if op.type != "ok":
            by[op.type] += 1
            continue
        error = op.reply_type == "error"
        by["error" if error else "ok"] += 1
        if op.script == RUNAWAY:
            if not error:
                anomalies.append(_anomaly("runaway returned", op, "the runaway %s ended "
                                          "without an error: %s %s" % (op.ref(), op.reply_type,
                                                                       _short(op.reply))))
            elif BUDGET_TEXT not in op.reply:
                anomalies.append(_anomaly("runaway wrong error", op, "the runaway %s ended with "
                                          "%s, not the budget error" % (op.ref(),
                                                                       _short(op.reply))))
            else:
                stats["budget_errors"] += 1
                done.add(op.script)
            continue
        if error:
            anomalies.append(_anomaly("script error", op, "%s %s ended with an error: %s"
                                      % (op.script, op.ref(), _short(op.reply))))
            continue
        done.add(op.script)
        stats["address_checked"] += 1
        found = addresses(op.reply)
        if found:
            anomalies.append(_anomaly("memory address", op, "%s %s replied with memory "
                                      "address(es) %s: %s" % (op.script, op.ref(),
                                                              ", ".join(found[:5]),
                                                              _short(op.reply))))
        if op.script in CONSTANT:
            want = CONSTANT[op.script]
            if want is None:
                want = first.setdefault(op.script, op).reply
            if op.reply != want:
                ref = first.get(op.script)
                anomalies.append(_anomaly(
                    "reply differs", op, "%s %s replied %s, not %s%s" % (
                        op.script, op.ref(), _short(op.reply), _short(want),
                        " (the reply of %s)" % ref.ref() if ref is not None
                        and CONSTANT[op.script] is None else ""),
                    [ref, op] if ref is not None and CONSTANT[op.script] is None else [op]))
    return anomalies, done


def check(history):
    """Checks a script history (list of event dicts); see the module docstring."""
    ops = parse_history(history)
    stats = {"events": len(history), "ops": {}, "scripts": {}, "budget_errors": 0,
             "address_checked": 0, "anomalies_dropped": 0}
    for op in ops:
        by = stats["ops"].setdefault(op.f, {"ok": 0, "fail": 0, "info": 0})
        by[op.type] += 1
    anomalies, done = _judge(ops, stats)
    for kind in KINDS:
        if done and kind not in done:
            c = stats["scripts"].get(kind, {})
            anomalies.append({"kind": "never ran", "script": kind, "slice": [],
                              "explanation": "no %s completed%s (%s)" % (
                                  kind, " with the budget error" if kind == RUNAWAY
                                  else " with a reply",
                                  ", ".join("%s %d" % kv for kv in sorted(c.items()))
                                  or "never invoked")})
    anomalies = cap_anomalies(anomalies, stats, MAX_ANOMALIES_PER_KIND, MAX_ANOMALIES)
    reason = ""
    if anomalies:
        kinds = sorted({a["kind"] for a in anomalies})
        reason = "%d anomalies (%s)" % (len(anomalies) + stats["anomalies_dropped"],
                                        ", ".join(kinds))
    if not done:
        reason = "the script workload ran nothing" + ("; " + reason if reason else "")
    return {"valid": bool(done) and not anomalies, "reason": reason, "anomalies": anomalies,
            "stats": stats}


# ---------------------------------------------------------------------------
# Presentation


def op_dict(op):
    return op.as_dict(script=op.script, key=op.key, reply_type=op.reply_type,
                      reply=None if op.reply is None else op.reply[:EXTRA_CHARS_MAX])


def format_op(d, t0=None):
    what = "eval %s %r" % (d.get("script"), d.get("key"))
    if d.get("reply_type") is not None:
        reply = d.get("reply") or ""
        what += " -> %s %r" % (d["reply_type"], reply[:REPLY_SHOWN]
                               + ("..." if len(reply) > REPLY_SHOWN else ""))
    return op_line(d, what, t0, pad=4)


def figures(stats):
    """The headline figures as one line."""
    e = stats["ops"].get("eval", {"ok": 0, "fail": 0, "info": 0})
    per = ", ".join("%s %d/%d/%d/%d" % (k, c["ok"], c["error"], c["fail"], c["info"])
                    for k, c in sorted(stats["scripts"].items()))
    return ("evals ok %d (runaway budget errors %d) fail %d info %d; replies scanned for "
            "addresses %d; by script ok/error/fail/info: %s"
            % (e["ok"], stats["budget_errors"], e["fail"], e["info"], stats["address_checked"],
               per or "none"))


def format_report(result, t0=None):
    return workload_report(result, FS, figures, format_op, t0, lambda a: a["script"])


def main(argv):
    return checker_main(argv, "script_checker", "Check a chaos run's script history.",
                        "JSON-lines script history file (script-history.jsonl)", check,
                        format_report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
