"""Tests for script_checker.py: hand-made histories with a known verdict (a
good one passes, each kind of bad one fails), the command line, the
report's section, and script_workload.py's clients against real servers:
a standalone raftcache (build/raftcache; its history must pass) and
redis-server 7.0, whose scripts see addresses and keep cjson settings
(its history must fail). No cluster, no root; about 10 s.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import script_checker  # noqa: E402
from histbuild import HistoryBuilder  # noqa: E402
from script_checker import KINDS, RUNAWAY  # noqa: E402

BUDGET = ("Script exceeded its budget of 100000000 Lua instructions (lua-replicated-budget; "
          "every 16 bytes of string built count as one) script: ff4e, on @user_script:1.")
GOOD = {"tostring": ("string", "table: 0x00000001 function: 0x00000002"),
        "pairs": ("string", "-0.25,1,1.5,a,zz,false,true|false user_script:1: refused"),
        "smembers": ("string", "m1,m10,m2"), "hgetall": ("string", "f1,7,f2,7"),
        "hkeys": ("string", "f1,f2"), "keys": ("string", "script:{c0}:hash"),
        "cjson-precision": ("string", "[3.1]"), "cjson-default": ("string", "[3.1415926535898]"),
        "random": ("string", "0.17 55123"), "spop": ("string", "m10"),
        "heap": ("string", "false false|{\"k1\":1}|\x81\xa2k1\x01"),
        "runaway": ("error", BUDGET)}


class S(HistoryBuilder):
    """Builds a script history: eval() invokes and completes at once,
    invoke()/ok()/fail()/info() interleave. Every op is an EVAL, f "eval",
    of one script kind on a key of the client's own; a fail and an info
    carry the error a client would have seen."""

    errors = {"fail": "MOVED 1 10.0.0.1:7379", "info": "TimeoutError: timed out"}

    def invoke(self, p, script, key=None):
        return super().invoke(p, "eval", script=script,
                              key=key or "script:{c%d}:%s.1" % (p, script))

    def ok(self, p, reply_type, reply):
        return super().ok(p, reply_type=reply_type, reply=reply, reply_len=len(reply))

    def eval(self, p, script, reply_type=None, reply=None):
        if reply_type is None:
            reply_type, reply = GOOD[script]
        return self.invoke(p, script).ok(p, reply_type, reply)

    def every_kind(self, p=0, skip=()):
        for k in KINDS:
            if k not in skip:
                self.eval(p, k)
        return self


def kinds(result):
    return sorted({a["kind"] for a in result["anomalies"]})


def valid(events):
    result = script_checker.check(events)
    assert result["valid"], script_checker.format_report(result)
    assert result["anomalies"] == []
    return result["stats"]


def anomaly(events, kind):
    result = script_checker.check(events)
    assert not result["valid"]
    assert kind in kinds(result), script_checker.format_report(result)
    return next(a for a in result["anomalies"] if a["kind"] == kind)


# -- histories that must pass ---------------------------------------------------


def test_every_kind_once_passes():
    st = valid(S().every_kind().events)
    assert st["ops"]["eval"] == {"ok": len(KINDS), "fail": 0, "info": 0}
    assert st["budget_errors"] == 1 and st["address_checked"] == len(KINDS) - 1
    assert all(st["scripts"][k]["ok" if k != RUNAWAY else "error"] == 1 for k in KINDS)


def test_interleaved_clients_failures_and_unknowns_pass():
    h = S().every_kind(0).invoke(1, "tostring").invoke(2, "runaway").fail(1).info(2)
    h.every_kind(1).invoke(0, "keys").info(0)
    h.eval(3, "spop", "nil", "").eval(3, "random", "string", "0.5 7")
    st = valid(h.events)
    assert st["scripts"]["tostring"] == {"ok": 2, "error": 0, "fail": 1, "info": 0}
    assert st["scripts"]["runaway"] == {"ok": 0, "error": 2, "fail": 0, "info": 1}


def test_per_run_ids_and_small_hex_are_not_addresses():
    assert script_checker.addresses("table: 0x00000001 function: 0x0000ffff") == []
    assert script_checker.addresses("table: 0x55d5c1a2b3c0") == ["0x55d5c1a2b3c0"]
    assert script_checker.addresses("0x7f00aa") == ["0x7f00aa"]
    valid(S().every_kind().eval(1, "smembers", "string", "m0x000002,m1").events)


# -- histories that must fail -----------------------------------------------------


@pytest.mark.parametrize("events", [
    [],
    S().invoke(0, "tostring").fail(0).invoke(0, "runaway").info(0).events,
])
def test_ran_nothing(events):
    result = script_checker.check(events)
    assert not result["valid"]
    assert result["reason"] == "the script workload ran nothing"
    assert result["anomalies"] == []


def test_only_errors_ran_nothing_too():
    result = script_checker.check(S().eval(0, "tostring", "error", "ERR user_script:1: x").events)
    assert not result["valid"] and result["reason"].startswith("the script workload ran nothing")
    assert kinds(result) == ["script error"]


@pytest.mark.parametrize("missing", KINDS)
def test_a_kind_that_never_ran(missing):
    h = S().every_kind(skip=(missing,)).invoke(1, missing).info(1)
    a = anomaly(h.events, "never ran")
    assert a["script"] == missing and "info 1" in a["explanation"]


def test_runaway_that_never_hit_the_budget_never_ran():
    h = S().every_kind(skip=(RUNAWAY,)).eval(1, RUNAWAY, "error", "ERR user_script:1: oops")
    result = script_checker.check(h.events)
    assert kinds(result) == ["never ran", "runaway wrong error"]


def test_memory_address():
    h = S().every_kind().eval(1, "tostring", "string", "table: 0x55d5c1a2b3c0 function: "
                                                       "0x00000002")
    a = anomaly(h.events, "memory address")
    assert "0x55d5c1a2b3c0" in a["explanation"] and a["slice"][0]["process"] == 1


def test_runaway_returned():
    a = anomaly(S().every_kind().eval(1, RUNAWAY, "nil", "").events, "runaway returned")
    assert a["script"] == RUNAWAY


def test_runaway_wrong_error():
    anomaly(S().every_kind().eval(1, RUNAWAY, "error", "ERR user_script:1: attempt to call "
                                                         "a nil value").events,
            "runaway wrong error")


def test_script_error():
    a = anomaly(S().every_kind().eval(1, "hgetall", "error", "ERR user_script:1: Wrong number "
                                                            "of args").events, "script error")
    assert a["script"] == "hgetall"


@pytest.mark.parametrize("script, reply", [
    ("cjson-default", "[3.1]"),                           # a precision leaked from another run
    ("cjson-precision", "[3.1415926535898]"),             # the precision not set
    ("tostring", "table: 0x00000003 function: 0x00000004"),  # ids that depend on the node's past
    ("pairs", "a,zz,-0.25,1,1.5,false,true|false user_script:1: refused"),  # another order
])
def test_reply_differs(script, reply):
    a = anomaly(S().every_kind().eval(1, script, "string", reply).events, "reply differs")
    assert a["script"] == script and a["slice"][-1]["process"] == 1


@pytest.mark.parametrize("events, message", [
    (S().invoke(0, "tostring").invoke(0, "pairs").events, "outstanding"),
    ([{"type": "invoke", "process": 0, "f": "eval", "key": "k"}], "script"),
    ([{"type": "invoke", "process": 0, "f": "eval", "script": "tostring"}], "key"),
    (S().invoke(0, "tostring").ok(0, "bulk", "x").events, "reply_type"),
    ([{"type": "invoke", "process": 0, "f": "get", "script": "x", "key": "k"}], "unknown f"),
])
def test_malformed_history(events, message):
    with pytest.raises(script_checker.HistoryError, match=message):
        script_checker.check(events)


def test_cli_valid_and_invalid(tmp_path):
    good = tmp_path / "good.jsonl"
    bad = tmp_path / "bad.jsonl"
    good.write_text("\n".join(json.dumps(e) for e in S().every_kind().events))
    bad.write_text("\n".join(json.dumps(e) for e in S().every_kind().eval(
        1, "tostring", "string", "table: 0x55d5c1a2b3c0").events))
    script = os.path.join(HERE, "script_checker.py")
    r = subprocess.run([sys.executable, script, str(good)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "VALID" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([sys.executable, script, str(bad)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and "memory address" in r.stdout, r.stdout + r.stderr


def test_script_report_section():
    import report
    events = S().every_kind().eval(1, "cjson-default", "string", "[3.1]").events
    result = script_checker.check(events)
    r = {"seed": 3, "nodes": 3, "time_s": 60, "out_dir": "/x", "elapsed_s": 70.0,
         "workload": "script", "workloads": ["script"], "faults": {}, "converged": True,
         "converge_detail": "3 members, 30 keys", "converged_restart": True,
         "converge_restart_detail": "3 members, 30 keys", "snapshots": {}, "crashes": [],
         "outstanding": 0, "t0": events[0]["time"], "probes": [], "workload_events": [],
         "final_events": [], "failures": ["script checker"],
         "queue": {"status": "not selected"}, "cache": {"status": "not selected"},
         "stream": {"status": "not selected"},
         "script": {"status": "ran", "check": result,
                    "keys_after_healing": {"n1": 24, "n2": 24, "n3": 24},
                    "keys_after_restart": {"n1": 24, "n2": 24, "n3": 24}},
         "script_events": events, "script_format_op": script_checker.format_op,
         "script_figures": script_checker.figures}
    text = report.render(r)
    assert "script workload: ran" in text
    assert "script keys in every node's digest after healing: {'n1': 24" in text
    assert "first script anomaly" in text and "kind: reply differs" in text
    assert "evals ok %d" % result["stats"]["ops"]["eval"]["ok"] in text


# -- the clients against real servers -------------------------------------------------

RAFTCACHE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "raftcache")
REDIS_SERVER = "/usr/bin/redis-server"


def run_clients(cmd_for_port, seconds, copies=None):
    """script_workload's clients for `seconds` against the one server
    cmd_for_port(port, dir) starts; returns the history's check."""
    import queue_redis
    import script_workload as sw
    from cluster import wait_until
    tmp = tempfile.mkdtemp(prefix="scriptchk")
    port = queue_redis.free_port()
    with open(os.path.join(tmp, "server.log"), "ab") as log:
        proc = subprocess.Popen(cmd_for_port(port, tmp), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    slot = queue_redis.Slot(port)
    try:
        def up():
            try:
                with slot.client(1) as c:
                    return c.ping()
            except Exception:  # noqa: BLE001 - not up yet
                return proc.poll() is not None
        wait_until(up, 10, what="the server to answer PING")
        assert proc.poll() is None, open(os.path.join(tmp, "server.log")).read()
        work = sw.ScriptWorkload(queue_redis.OneNode(slot), seed=5, log=lambda m: None,
                                 copies=copies)
        stop = threading.Event()
        work.start(stop)
        time.sleep(seconds)
        stop.set()
        work.join()
        assert not work.errors(), work.errors()
        return script_checker.check(work.history.snapshot())
    finally:
        queue_redis.stop_redis(proc)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.skipif(not os.access(RAFTCACHE, os.X_OK), reason="needs build/raftcache (make)")
def test_script_clients_against_raftcache():
    result = run_clients(lambda port, d: [RAFTCACHE, "--bind", "127.0.0.1", "--port", str(port),
                                          "--node-id", "1", "--dir", d, "--raft-secret", "t"],
                         6, copies={RUNAWAY: 4})
    assert result["valid"], script_checker.format_report(result)
    assert result["stats"]["budget_errors"] >= 1


@pytest.mark.skipif(not os.access(REDIS_SERVER, os.X_OK), reason="needs redis-server")
def test_script_clients_against_redis_server_fail():
    """Redis runs every script in one long-lived Lua state: tostring shows
    addresses, a cjson precision set by one script stays for the next; and
    it has no budget, so the runaway is left out (it would never end)."""
    result = run_clients(lambda port, d: [REDIS_SERVER, "--port", str(port), "--bind",
                                          "127.0.0.1", "--save", "", "--appendonly", "no",
                                          "--dir", d, "--protected-mode", "no"],
                         3, copies={RUNAWAY: 0})
    assert not result["valid"]
    assert {"memory address", "reply differs", "never ran"} <= set(kinds(result)), \
        script_checker.format_report(result)
