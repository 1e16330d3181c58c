"""Tests for stream_checker.py: hand-made histories with a known verdict -
the outcomes a failover may legitimately produce must pass, a history
breaking each property must fail with its anomaly - the command line and
the report section; and stream_workload.py's clients against a standalone
redis-server 7.0 with client connections killed and paused (their history
must pass, and fail once an entry is added or deleted behind their backs).
No cluster, no root; about 15 s, the redis-server runs most of it.
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stream_checker  # noqa: E402
from histbuild import HistoryBuilder  # noqa: E402

K = "k"
NODES = ("n1", "n2", "n3")


class S(HistoryBuilder):
    """Builds a stream history. Producer p adds with process p; consumer c
    (a string) works as process c; final reads use process 999. Shorthands
    invoke and complete at once; invoke()/ok()/fail()/info() interleave.
    Entries are (id, job) pairs."""

    def _end(self, p, typ, **result):
        return self.ok(p, **result) if typ == "ok" else self._complete(typ, p)

    def add(self, p, job, eid=None, typ="ok", key=K):
        return self.invoke(p, "add", key=key, job=job)._end(p, typ, id=eid)

    def read(self, c, got=(), typ="ok", start=">", key=K):
        self.invoke(c, "read", key=key, consumer=c, start=start)
        return self._end(c, typ, entries=[list(e) for e in got])

    def claim(self, c, got=(), typ="ok", deleted=(), key=K):
        self.invoke(c, "claim", key=key, consumer=c, min_idle_ms=1000, cursor="0-0")
        return self._end(c, typ, entries=[list(e) for e in got], next="0-0",
                         deleted=list(deleted))

    def pending(self, c, rows, key=K):
        ids = [r[0] for r in rows] or ["0-0"]
        self.invoke(c, "pending", key=key, consumer=c, start=ids[0], end=ids[-1])
        return self.ok(c, pending=[list(r) for r in rows])

    def process(self, c, eid, job, key=K):
        return self.invoke(c, "process", key=key, consumer=c, id=eid, job=job).ok(c)

    def ack(self, c, eid, acked=1, typ="ok", key=K):
        self.invoke(c, "ack", key=key, consumer=c, id=eid)
        return self._end(c, typ, acked=acked)

    def abandon(self, c, ids, key=K):
        return self.invoke(c, "abandon", key=key, consumer=c, ids=list(ids),
                           reason="test").ok(c)

    def work(self, c, got, via="read"):
        """Delivery (a read from ">" or a claim), then process and ack each."""
        (self.read if via == "read" else self.claim)(c, got)
        for eid, job in got:
            self.process(c, eid, job)
        for eid, _ in got:
            self.ack(c, eid)
        return self

    def final(self, entries, node="n1", phase="after drain", pending=(), key=K, **stream):
        info = {"length": len(entries), "last-generated-id": entries[-1][0] if entries
                else "0-0", "max-deleted-entry-id": "0-0", "entries-added": len(entries),
                "groups": 1}
        info.update(stream)
        group = {"name": "g", "consumers": 2, "pending": len(pending),
                 "last-delivered-id": info["last-generated-id"]}
        self.invoke(999, "final-read", key=key, node=node, phase=phase)
        return self.ok(999, entries=[list(e) for e in entries], stream=info, groups=[group],
                       pending_count=len(pending), pending=[list(p) for p in pending])

    def finals(self, entries, nodes=NODES, **kw):
        for n in nodes:
            self.final(entries, node=n, **kw)
        return self


A, B, C = ("1-0", "a"), ("2-0", "b"), ("3-0", "c")


def kinds(result):
    return sorted({a["kind"] for a in result["anomalies"]})


def valid(events):
    result = stream_checker.check(events)
    assert result["valid"], stream_checker.format_report(result)
    assert result["anomalies"] == [] and result["incomplete"] == []
    return result["stats"]


def anomaly(events, kind):
    result = stream_checker.check(events)
    assert not result["valid"]
    assert kind in kinds(result), stream_checker.format_report(result)
    a = next(a for a in result["anomalies"] if a["kind"] == kind)
    assert a["slice"], "an anomaly must show the ops behind it"
    indices = [d["index"] for d in a["slice"]]
    assert indices == sorted(indices), "slice must be in history order"
    return a


# -- histories that must pass ---------------------------------------------------


def test_clean_run():
    h = S().add(0, "a", "1-0").add(1, "b", "2-0").work("x", [A]).read("x").work("y", [B])
    st = valid(h.finals([A, B]).events)
    assert st["adds"] == {"ok": 2, "fail": 0, "info": 0}
    assert (st["entries_delivered"], st["acked"], st["lost"]) == (2, 2, 0)
    assert st["deliveries"] == {"new": 2, "history": 0, "claim": 0}
    assert st["duplicates_not_allowed"] == st["leftover_pending"] == 0
    assert st["consumers"] == 2


def test_adds_of_unknown_outcome_applied_or_not():
    # b's add timed out and never applied; c's timed out but applied: the
    # group delivers it like any other.
    h = S().add(0, "a", "1-0").add(0, "b", typ="info").add(1, "c", typ="info")
    h.add(2, "d", typ="fail").work("x", [A, C])
    st = valid(h.finals([A, C]).events)
    assert st["adds"] == {"ok": 1, "fail": 1, "info": 2}


def test_concurrent_adds_may_complete_out_of_id_order():
    h = S().invoke(0, "add", key=K, job="a").invoke(1, "add", key=K, job="b")
    h.ok(1, id="2-0").ok(0, id="1-0").work("x", [A, B])
    valid(h.finals([A, B]).events)


def test_lost_read_reply_then_claimed_by_another_consumer():
    # x's XREADGROUP applied but its reply was lost: a is pending for x; y
    # claims it (delivery count 2: x's read and y's claim) and acks it.
    h = S().add(0, "a", "1-0").read("x", typ="info").claim("y", [A])
    h.pending("y", [("1-0", "y", 2)]).process("y", *A).ack("y", "1-0")
    st = valid(h.finals([A]).events)
    assert st["deliveries"]["claim"] == 1 and st["redeliveries_allowed"] == 1
    assert st["claimed"] == 1


def test_lost_read_reply_then_history_read_by_the_same_consumer():
    h = S().add(0, "a", "1-0").read("x", typ="info").read("x", [A], start="0-0")
    h.process("x", *A).ack("x", "1-0").read("x", start="1-0")
    st = valid(h.finals([A]).events)
    assert st["deliveries"]["history"] == 1


def test_abandoned_entry_claimed_and_processed_twice():
    # x processed a but died before the ack; y claims it, processes it again.
    h = S().add(0, "a", "1-0").read("x", [A]).process("x", *A).abandon("x", ["1-0"])
    h.claim("y", [A]).pending("y", [("1-0", "y", 2)]).process("y", *A).ack("y", "1-0")
    st = valid(h.finals([A]).events)
    assert st["processed_more_than_once"] == 1 and st["abandoned"] == 1


def test_slow_consumer_acks_after_a_claim():
    # x's ack is slow; y claims and processes a meanwhile; either ack may
    # take it out, the other then answers 0.
    h = S().add(0, "a", "1-0").read("x", [A]).process("x", *A)
    h.invoke("x", "ack", key=K, consumer="x", id="1-0").claim("y", [A]).process("y", *A)
    h.ok("x", acked=1).ack("y", "1-0", acked=0)
    valid(h.finals([A]).events)


def test_ack_of_unknown_outcome_retried():
    h = S().add(0, "a", "1-0").read("x", [A]).process("x", *A).ack("x", "1-0", typ="info")
    h.ack("x", "1-0", acked=0)
    st = valid(h.finals([A]).events)
    assert st["acked"] == 0 and st["acked_unknown_only"] == 1


def test_claim_concurrent_with_the_read_that_delivers():
    h = S().add(0, "a", "1-0").invoke("x", "read", key=K, consumer="x", start=">")
    h.claim("y", [A]).ok("x", entries=[list(A)]).process("y", *A).ack("y", "1-0")
    valid(h.finals([A]).events)


def test_phases_and_keys_checked_apart():
    # one id on two keys; each phase's final reads compared on their own
    b = ("1-0", "b")
    h = S().add(0, "a", "1-0").add(0, "b", "1-0", key="k2").work("x", [A])
    h.read("x", [b], key="k2").process("x", *b, key="k2").ack("x", "1-0", key="k2")
    h.finals([A]).finals([A], phase="after restart").finals([b], key="k2")
    valid(h.events)


# -- property 1: acknowledged XADDs are acknowledged by the group --------------


def test_lost_entry_never_delivered():
    h = S().add(0, "a", "1-0").add(0, "b", "2-0").work("x", [A]).finals([A, B])
    a = anomaly(h.events, "lost entry")
    assert "never delivered" in a["explanation"] and "in the final XRANGE" in a["explanation"]
    assert stream_checker.check(h.events)["stats"]["lost"] == 1


def test_lost_entry_processed_but_never_acked():
    h = S().add(0, "a", "1-0").read("x", [A]).process("x", *A).ack("x", "1-0", acked=0)
    a = anomaly(h.finals([A]).events, "lost entry")
    assert "processed by 'x'" in a["explanation"]


def test_lost_entry_delivered_never_processed():
    h = S().add(0, "a", "1-0").read("x", [A]).abandon("x", ["1-0"])
    a = anomaly(h.finals([A], pending=[("1-0", "x", 1)]).events, "lost entry")
    assert "pending for 'x' at the end" in a["explanation"]


def test_stranded_entry_of_an_unknown_add():
    h = S().add(0, "a", typ="info").finals([A])
    anomaly(h.events, "stranded entry")
    assert stream_checker.check(h.events)["stats"]["lost"] == 0


# -- property 2: no phantoms ----------------------------------------------------


@pytest.mark.parametrize("case", ["never added", "failed add", "added later", "other key"])
def test_phantom_entry(case):
    h = S()
    if case == "failed add":
        h.add(0, "a", typ="fail")
    elif case == "other key":
        h.add(0, "a", "1-0", key="k2")
    h.work("x", [A])
    if case == "added later":
        h.add(0, "a", "1-0")
    a = anomaly(h.finals([A]).events, "phantom entry")
    assert a["entry"] == "a"
    # (the add to k2 is lost too: k2's group never got it)
    expected = ["lost entry"] * (case == "other key") + ["phantom entry"]
    assert kinds(stream_checker.check(h.events)) == expected


def test_two_jobs_under_one_id():
    h = S().add(0, "a", "1-0").add(1, "b", "1-0").work("x", [A])
    anomaly(h.finals([A]).events, "two jobs under one id")


def test_entry_vanished_while_pending():
    h = S().add(0, "a", "1-0").read("x", [A]).abandon("x", ["1-0"])
    h.claim("y", [], deleted=["1-0"])
    anomaly(h.finals([]).events, "vanished from the stream")
    h = S().add(0, "a", "1-0").read("x", [("1-0", None)])
    anomaly(h.finals([]).events, "vanished from the stream")
    h = S().add(0, "a", "1-0").work("x", [A]).finals([A], **{"entries-added": 2})
    anomaly(h.events, "vanished from the stream")


# -- property 3: ids and the final XRANGE on every node ---------------------------


def test_id_changed():
    h = S().add(0, "a", "1-0").work("x", [("5-0", "a")]).finals([("5-0", "a")])
    a = anomaly(h.events, "id changed")
    assert "5-0" in a["explanation"]


def test_missing_from_the_stream():
    h = S().add(0, "a", "1-0").add(0, "b", "2-0").work("x", [A, B]).finals([A])
    a = anomaly(h.events, "missing from the stream")
    assert a["entry"] == "b" and "3 final read(s)" in a["explanation"]


def test_replicas_differ():
    h = S().add(0, "a", "1-0").add(0, "b", "2-0").work("x", [A, B])
    h.finals([A, B], nodes=("n1", "n2")).final([A], node="n3")
    a = anomaly(h.events, "replicas differ")
    assert "n3" in a["explanation"] and "XRANGE: 2 and 1 entries" in a["explanation"]
    h = S().add(0, "a", "1-0").work("x", [A]).finals([A], nodes=("n1",))
    h.final([A], node="n2", **{"last-generated-id": "9-0"})
    a = anomaly(h.events, "replicas differ")
    assert "last-generated-id" in a["explanation"]


def test_added_twice():
    # the job a second time, under another id: its id changed
    h = S().add(0, "a", "1-0").work("x", [A]).finals([A, ("2-0", "a")])
    a = anomaly(h.events, "id changed")
    assert "2-0" in a["explanation"]


def test_ids_differ_between_replicas():
    h = S().add(0, "a", "1-0").add(0, "b", "2-0").work("x", [A, B])
    h.finals([A, B], nodes=("n1", "n2")).final([A, ("2-1", "b")], node="n3")
    a = anomaly(h.events, "replicas differ")
    assert "first difference at 1: ['2-0', 'b'] / ['2-1', 'b']" in a["explanation"]
    assert "id changed" in kinds(stream_checker.check(h.events))


def test_delivered_entry_of_an_unknown_add_missing_from_the_stream():
    # c's add timed out, but y got its entry: it must stay in the stream.
    c = ("3-0", "c")
    h = S().add(0, "a", "1-0").add(1, "c", typ="info").work("x", [A]).work("y", [c])
    a = anomaly(h.finals([A]).events, "missing from the stream")
    assert a["entry"] == "c" and "3 final read(s)" in a["explanation"]


def test_incomplete_without_a_final_read():
    h = S().add(0, "a", "1-0").work("x", [A]).finals([], key="k2")
    result = stream_checker.check(h.events)
    assert not result["valid"] and result["anomalies"] == []
    assert result["incomplete"][0]["key"] == K


# -- property 4: ids do not go back -------------------------------------------------


def test_id_went_back():
    h = S().add(0, "a", "5-0").add(1, "b", "3-0").work("x", [("5-0", "a")])
    h.claim("y").work("x", [("3-0", "b")])
    a = anomaly(h.events, "id went back")
    assert a["entry"] == "3-0"


def test_id_of_an_unknown_add_went_back():
    # c's add timed out, but its entry shows it applied after a's ack.
    h = S().add(0, "a", "5-0").add(1, "c", typ="info").finals([("3-0", "c"), ("5-0", "a")])
    anomaly(h.events, "id went back")


def test_final_xrange_out_of_order():
    h = S().add(0, "a", "1-0").add(0, "b", "2-0").work("x", [A, B]).finals([B, A])
    anomaly(h.events, "id went back")


# -- property 5: deliveries ---------------------------------------------------------


def test_delivered_twice_to_two_consumers():
    h = S().add(0, "a", "1-0").work("x", [A]).work("y", [A]).finals([A])
    a = anomaly(h.events, "delivered twice")
    assert "'y'" in a["explanation"] and "'x'" in a["explanation"]
    assert stream_checker.check(h.events)["stats"]["duplicates_not_allowed"] >= 1


def test_delivered_twice_even_concurrently_or_to_one_consumer():
    h = S().add(0, "a", "1-0").invoke("x", "read", key=K, consumer="x", start=">")
    h.read("y", [A]).ok("x", entries=[list(A)])
    anomaly(h.events, "delivered twice")
    anomaly(S().add(0, "a", "1-0").read("x", [A]).read("x", [A]).events, "delivered twice")


def test_new_read_after_a_claim_of_unknown_read():
    # Unknown read, claim of its entry, then ">" hands it out again.
    h = S().add(0, "a", "1-0").read("x", typ="info").claim("y", [A]).read("z", [A])
    anomaly(h.events, "delivered twice")


def test_group_cursor_went_back():
    h = S().add(0, "a", "1-0").add(0, "b", "2-0").read("x", [B]).read("y", [A])
    a = anomaly(h.events, "group cursor went back")
    assert a["entry"] == "1-0"


def test_claim_of_an_entry_never_delivered():
    h = S().add(0, "a", "1-0").claim("y", [A]).process("y", *A).ack("y", "1-0")
    anomaly(h.finals([A]).events, "never delivered")


def test_history_read_of_another_consumers_entry():
    h = S().add(0, "a", "1-0").read("x", [A]).read("y", [A], start="0-0")
    a = anomaly(h.events, "never delivered")
    assert "'y''s pending list" in a["explanation"]
    # an unknown read by y itself would explain it
    h = S().add(0, "a", "1-0").read("y", typ="info").read("y", [A], start="0-0")
    assert "never delivered" not in kinds(stream_checker.check(h.events))


def test_back_after_its_ack():
    h = S().add(0, "a", "1-0").work("x", [A]).claim("y", [A])
    a = anomaly(h.events, "back after its ack")
    assert "after ack" in a["explanation"]
    h = S().add(0, "a", "1-0").work("x", [A]).ack("x", "1-0", acked=1)
    anomaly(h.events, "back after its ack")


@pytest.mark.parametrize("count, ok", [(1, False), (2, True), (3, True), (4, False)])
def test_delivery_count_after_a_claim(count, ok):
    # Deliveries: x's read, y's claim; an unknown claim of k may add one more.
    # Count 1: a delivery not counted; 4: one counted that cannot have happened.
    h = S().add(0, "a", "1-0").read("x", [A]).claim("z", typ="info").claim("y", [A])
    h.pending("y", [("1-0", "y", count)])
    result = stream_checker.check(h.events)
    assert ("delivery count" not in kinds(result)) == ok, stream_checker.format_report(result)


def test_delivery_count_in_another_consumers_name():
    h = S().add(0, "a", "1-0").read("x", [A]).claim("y", [A]).pending("y", [("1-0", "x", 2)])
    anomaly(h.events, "delivery count")


# -- property 6: nothing pending at the end -------------------------------------------


def test_leftover_pending():
    h = S().add(0, "a", "1-0").work("x", [A])
    h.finals([A], nodes=("n1", "n2"), pending=[("1-0", "x", 1)])
    a = anomaly(h.events, "leftover pending")
    assert "2 of the phase's 2" in a["explanation"]
    assert stream_checker.check(h.events)["stats"]["leftover_pending"] == 1


# -- the contract ----------------------------------------------------------------------


@pytest.mark.parametrize("events, message", [
    (S().add(0, "a", "1-0").add(1, "a", "2-0").events, "add the same job"),
    (S().process("x", *A).events, "no delivery to it"),
    (S().add(0, "a", "1-0").read("y", [A]).process("x", *A).events, "no delivery to it"),
    (S().add(0, "a", "1-0").read("x", [A]).ack("x", "1-0").events, "did not process"),
    (S().invoke("x", "process", key=K, consumer="x", id="1-0", job="a").info("x").events,
     "must be ok"),
    (S().add(0, "a", "1").events, "ok add needs a valid 'id'"),
    (S().invoke("x", "read", key=K, consumer="x", start="$").events, "start"),
    (S().invoke(0, "add", key=K, job="a").invoke(0, "add", key=K, job="b").events,
     "outstanding"),
    ([{"type": "invoke", "process": 0, "f": "xadd"}], "unknown f"),
])
def test_malformed_history(events, message):
    with pytest.raises(stream_checker.HistoryError, match=message):
        stream_checker.check(events)


# -- figures, report, command line ------------------------------------------------


def test_figures_and_report():
    h = S().add(0, "a", "1-0").add(0, "b", typ="info").add(0, "c", "3-0")
    h.work("x", [A]).work("y", [A]).finals([A, C])
    result = stream_checker.check(h.events)
    text = stream_checker.format_report(result)
    assert "XADDs ok 2, failed 0, unknown 1" in text and "lost 1" in text
    assert "[delivered twice] 'k 1-0'" in text and "y read k > -> [1-0 'a']" in text
    assert "[lost entry] 'k 3-0'" in text


def test_anomalies_are_capped():
    h = S()
    n = stream_checker.MAX_ANOMALIES_PER_KIND + 5
    for i in range(n):
        h.add(0, "j%d" % i, "%d-0" % (i + 1))
    result = stream_checker.check(h.finals([("%d-0" % (i + 1), "j%d" % i)
                                            for i in range(n)]).events)
    assert [a["kind"] for a in result["anomalies"]] == ["lost entry"] * (n - 5)
    assert result["stats"]["anomalies_dropped"] == 5 and result["stats"]["lost"] == n
    assert "%d anomalies" % n in result["reason"]


def write_jsonl(path, events):
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return str(path)


def test_cli(tmp_path, capsys):
    good = write_jsonl(tmp_path / "good.jsonl", S().add(0, "a", "1-0").work("x", [A])
                       .finals([A]).events)
    assert stream_checker.main([good]) == 0
    assert "VALID" in capsys.readouterr().out
    bad = write_jsonl(tmp_path / "bad.jsonl", S().add(0, "a", "1-0").finals([A]).events)
    assert stream_checker.main([bad]) == 1
    assert "[lost entry] 'k 1-0'" in capsys.readouterr().out
    (tmp_path / "broken.jsonl").write_text('{"type": "invoke"\n')
    assert stream_checker.main([str(tmp_path / "broken.jsonl")]) == 2
    proc = subprocess.run([sys.executable, stream_checker.__file__, bad, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["anomalies"][0]["kind"] == "lost entry"


def test_stream_report_section():
    import report
    h = S().add(0, "a", "1-0").work("x", [A]).work("y", [A]).finals([A])
    result = stream_checker.check(h.events)
    r = {"seed": 3, "nodes": 5, "time_s": 90, "out_dir": "/x", "elapsed_s": 99.0,
         "workload": "stream", "workloads": ["stream"], "faults": {}, "converged": True,
         "converge_detail": "", "converged_restart": True, "converge_restart_detail": "",
         "snapshots": {}, "crashes": [], "outstanding": 0, "t0": h.events[0]["time"],
         "probes": [], "workload_events": [], "final_events": [], "failures": ["stream"],
         "queue": {"status": "not selected"}, "cache": {"status": "not selected"},
         "stream": {"status": "ran", "drained": True, "drain_detail": "nothing pending",
                    "converged_after_drain": "yes: 5 members", "check": result, "unread": []},
         "stream_events": h.events, "stream_format_op": stream_checker.format_op,
         "stream_figures": stream_checker.figures}
    text = report.render(r)
    assert "stream workload: ran" in text and "drain after healing: yes" in text
    assert "  ack                2       0       0       2" in text
    assert "first stream anomaly" in text and "kind: delivered twice" in text
    assert "XADDs ok 1, failed 0, unknown 0" in text
    r["stream"] = {"status": "not selected"}
    assert "stream workload: not selected" in report.render(r)


# -- the clients against a real server -------------------------------------------------

REDIS_SERVER = "/usr/bin/redis-server"


def run_stream_clients(tmp_path, meddle=None, run_s=3.0):
    """stream_workload's clients against a standalone redis-server for
    run_s: every client connection killed (CLIENT KILL) every 0.5 s and all
    clients paused once past the producers' socket timeout (CLIENT PAUSE),
    one consumer vanishing half-way; then meddle(redis client) behind their
    backs, the drain, the final reads and the history's check."""
    import queue_redis
    import stream_workload as sw
    from queue_workload import missing_commands
    proc, slot = queue_redis.start_redis(REDIS_SERVER, str(tmp_path))
    try:
        assert missing_commands(slot, commands=sw.STREAM_COMMANDS) == []
        work = sw.StreamWorkload(queue_redis.OneNode(slot), seed=7, log=lambda m: None,
                                 add_delay_s=0.02, min_idle_ms=200, vanish_after_s=run_s / 2,
                                 readonly=False)
        work.setup()
        stop = threading.Event()
        work.start(stop)
        deadline = time.monotonic() + run_s
        with slot.client() as c:
            paused = False
            while time.monotonic() < deadline:
                stop.wait(0.5)
                c.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
                if not paused:
                    c.execute_command("CLIENT", "PAUSE", 1300, "ALL")
                    paused = True
                    stop.wait(1.3)
            stop.set()
            work.join()
            assert not work.errors(), work.errors()
            if meddle is not None:
                meddle(c)
        drained, detail = work.drain(quiet_s=0.5, timeout_s=20)
        assert drained, detail
        work.history.close()
        assert work.final_reads("after drain", timeout_s=10) == []
        return stream_checker.check(work.history.snapshot())
    finally:
        queue_redis.stop_redis(proc)


@pytest.mark.skipif(not os.access(REDIS_SERVER, os.X_OK), reason="needs redis-server")
def test_stream_clients_against_redis_server(tmp_path):
    result = run_stream_clients(tmp_path)
    assert result["valid"], stream_checker.format_report(result)
    st = result["stats"]
    assert st["adds"]["ok"] > 50 and st["adds"]["info"] > 0
    assert st["ops"]["read"]["info"] > 0 and st["restarts"] > 0
    assert st["deliveries"]["claim"] > 0 and st["abandoned"] > 0 and st["vanished"] == 1
    assert st["acked"] + st["acked_unknown_only"] >= st["adds"]["ok"] > 0


@pytest.mark.skipif(not os.access(REDIS_SERVER, os.X_OK), reason="needs redis-server")
@pytest.mark.parametrize("bug, kind", [("ghost", "phantom entry"),
                                       ("delete", "missing from the stream")])
def test_stream_clients_against_redis_server_with_a_bug(tmp_path, bug, kind):
    import stream_workload as sw

    def meddle(c):
        key = sw.KEYS[0]
        if bug == "ghost":   # an entry no producer added
            c.xadd(key, {"job": "ghost"})
        else:                # an acknowledged entry deleted
            c.xdel(key, c.xrange(key, count=1)[0][0])
    result = run_stream_clients(tmp_path, meddle, run_s=1.5)
    assert not result["valid"] and kind in kinds(result), stream_checker.format_report(result)
