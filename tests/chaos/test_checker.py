"""Tests for checker.py: hand-made histories with a known verdict, a brute-force
oracle on small random histories, and seeded simulations of a linearizable
register/counter/transaction store (which must pass) with one read mutated
(which must fail). Pure Python, no cluster; runs in a few seconds.
"""

import itertools
import json
import os
import random
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402
from histbuild import HistoryBuilder  # noqa: E402


class H(HistoryBuilder):
    """A register/counter/transaction history; ops of one process nest as
    the contract says."""

    def carried(self, f, fields):
        """Only key/keys, and a write's value: the contract's op fields
        (checker.py's docstring); any other field a test puts on an invoke
        stays there."""
        done = {k: v for k, v in fields.items() if k in ("key", "keys")}
        if f in ("write", "txn-write"):
            done["value"] = fields["value"]
        return done

    # Sequential shorthands: invoke and complete at once.
    def write(self, p, key, value, typ="ok"):
        self.invoke(p, "write", key=key, value=value)
        return self._complete(typ, p)

    def read(self, p, key, value):
        return self.invoke(p, "read", key=key).ok(p, value=value)

    def incr(self, p, key, value):
        return self.invoke(p, "incr", key=key).ok(p, value=value)


def kinds(result):
    return sorted(a["kind"] for a in result["anomalies"])


def assert_valid(events):
    result = checker.check(events)
    assert result["valid"], checker.format_report(result)
    assert result["anomalies"] == [] and result["unknown_keys"] == []
    return result


def assert_anomaly(events, kind):
    result = checker.check(events)
    assert not result["valid"]
    assert kind in kinds(result), checker.format_report(result)
    anomaly = next(a for a in result["anomalies"] if a["kind"] == kind)
    assert anomaly["slice"], "an anomaly must show the ops behind it"
    indices = [d["index"] for d in anomaly["slice"]]
    assert indices == sorted(indices), "slice must be in history order"
    return anomaly


# ---------------------------------------------------------------------------
# Linearizable histories pass


def test_sequential_register():
    h = H().read(0, "x", None).write(0, "x", "a").read(1, "x", "a").write(1, "x", "b")
    h.read(0, "x", "b")
    result = assert_valid(h.events)
    assert result["stats"]["ops"]["write"] == {"ok": 2, "fail": 0, "info": 0}
    assert result["stats"]["keys_searched"] == 1


@pytest.mark.parametrize("seen", [["a", "b"], ["b", "a"], ["a", "a"], [None, "b"]])
def test_concurrent_writes_reads_see_either_order(seen):
    # Two overlapping writes and two reads overlapping them: any order of the
    # writes is possible, and each read may fall before, between or after.
    h = H().invoke(0, "write", key="x", value="a").invoke(1, "write", key="x", value="b")
    h.invoke(2, "read", key="x").ok(2, value=seen[0]).invoke(3, "read", key="x")
    h.ok(0).ok(1).ok(3, value=seen[1])
    assert_valid(h.events)


def test_info_write_that_happened_and_one_that_did_not():
    h = H().write(0, "x", "a")
    h.invoke(1, "write", key="x", value="b").info(1)      # happened (seen later)
    h.invoke(2, "write", key="x", value="c").info(2)      # never seen: did not happen
    h.read(3, "x", "a").read(3, "x", "b").read(3, "x", "b")
    h.invoke(4, "write", key="x", value="d")              # no completion at all
    h.read(5, "x", "b").read(5, "x", "d")                  # takes effect late: allowed
    result = assert_valid(h.events)
    assert result["stats"]["info_writes_pruned"] == 1
    assert result["stats"]["ops_without_completion"] == 1


def test_failed_write_is_dropped():
    h = H().write(0, "x", "a").write(0, "x", "b", typ="fail").read(1, "x", "a")
    assert_valid(h.events)


def test_read_of_a_failed_write_is_caught():
    h = H().write(0, "x", "a").write(0, "x", "b", typ="fail").read(1, "x", "b")
    a = assert_anomaly(h.events, "read of a never-written value")
    assert "failed" in a["explanation"]


def test_counter_concurrent_incrs():
    h = H()
    for p in range(3):
        h.invoke(p, "incr", key="n")
    h.ok(2, value=1).ok(0, value=3).ok(1, value=2)      # completion order != value order
    h.read(4, "n", "3")
    h.invoke(5, "incr", key="n").info(5)                 # happened: the next reads see 4
    h.invoke(6, "incr", key="n").info(6)                 # did not happen
    h.read(7, "n", "4").incr(7, "n", 5).read(7, "n", "5")
    assert_valid(h.events)


def test_counter_read_absent_is_zero():
    h = H().read(0, "n", None).incr(0, "n", 1).read(0, "n", "1")
    assert_valid(h.events)


def test_transactions():
    h = H().invoke(0, "txn-read", keys=["a", "b"]).ok(0, value=[None, None])
    h.invoke(1, "txn-write", keys=["a", "b"], value="t1").ok(1)
    h.invoke(2, "txn-write", keys=["a", "b"], value="t2")
    h.invoke(0, "txn-read", keys=["a", "b"]).ok(0, value=["t2", "t2"])
    h.ok(2).read(3, "a", "t2").read(3, "b", "t2")
    h.invoke(4, "txn-write", keys=["a", "b"], value="t3").fail(4)
    result = assert_valid(h.events)
    assert result["stats"]["txn_groups_checked"] == 1


def test_final_reads_after_faults():
    # A write acknowledged during the faults and an unknown one; the final reads
    # (invoked after everything completed) show the acknowledged one survived.
    h = H().write(0, "x", "a").write(1, "y", "b")
    h.invoke(2, "write", key="x", value="c").info(2)
    h.read(9, "x", "a").read(9, "y", "b")
    assert_valid(h.events)


# ---------------------------------------------------------------------------
# Each anomaly is caught with its kind


def test_stale_read():
    h = H().write(0, "x", "a").write(0, "x", "b").read(1, "x", "a").read(1, "x", "b")
    a = assert_anomaly(h.events, "stale read")
    assert a["key"] == "x"
    assert [d["value"] for d in a["slice"]] == ["a", "b", "a"]


def test_lost_write_final_read_shows_older_value():
    h = H().write(0, "x", "a").read(1, "x", "a").write(0, "x", "b")
    h.read(9, "x", "a")  # final read after heal and restart
    a = assert_anomaly(h.events, "lost write")
    assert "'b'" in a["explanation"]
    assert kinds(checker.check(h.events)) == ["lost write"]


def test_lost_write_to_absent_key():
    h = H().write(0, "x", "a").read(9, "x", None)
    assert_anomaly(h.events, "lost write")


def test_read_of_never_written_value():
    h = H().write(0, "x", "a").read(1, "x", "zzz")
    a = assert_anomaly(h.events, "read of a never-written value")
    assert [d["value"] for d in a["slice"]] == ["zzz"]


def test_non_monotonic_counter():
    h = H().incr(0, "n", 1).incr(0, "n", 2).incr(1, "n", 3).read(2, "n", "2")
    a = assert_anomaly(h.events, "non-monotonic counter")
    assert [d["value"] for d in a["slice"]] == [3, "2"]


def test_counter_incr_returning_a_duplicate_value():
    h = H().invoke(0, "incr", key="n").invoke(1, "incr", key="n")
    h.ok(0, value=1).ok(1, value=1)
    assert_anomaly(h.events, "duplicate counter value")


def test_counter_value_never_reached():
    h = H().incr(0, "n", 1).read(1, "n", "7")
    assert_anomaly(h.events, "read of a never-written value")
    h = H().incr(0, "n", 1).read(1, "n", "seven")
    assert_anomaly(h.events, "read of a never-written value")


def test_lost_increment():
    # Two incrs acknowledged, the final read shows only one of them.
    h = H().incr(0, "n", 1).incr(0, "n", 2).read(9, "n", "1")
    assert_anomaly(h.events, "non-monotonic counter")


def test_non_atomic_txn_read():
    h = H().invoke(0, "txn-write", keys=["a", "b"], value="t1").ok(0)
    h.invoke(0, "txn-write", keys=["a", "b"], value="t2").ok(0)
    h.invoke(1, "txn-read", keys=["a", "b"]).ok(1, value=["t2", "t1"])
    a = assert_anomaly(h.events, "non-atomic transaction")
    assert a["keys"] == ["a", "b"]
    assert sorted(d["index"] for d in a["slice"]) == [0, 2, 4]


def test_txn_rule_skipped_when_plain_writes_share_the_keys():
    h = H().invoke(0, "txn-write", keys=["a", "b"], value="t1").ok(0)
    h.write(1, "a", "p1")
    h.invoke(2, "txn-read", keys=["a", "b"]).ok(2, value=["p1", "t1"])
    result = assert_valid(h.events)
    assert result["stats"]["txn_groups_skipped"][0]["keys"] == ["a", "b"]


def test_slice_ops_keep_the_harness_fields():
    h = H().write(0, "x", "a").write(0, "x", "b")
    h.invoke(1, "read", key="x", node="10.0.0.3:7001").ok(1, value="a", error="")
    h.read(1, "x", "b")
    a = assert_anomaly(h.events, "stale read")
    stale = a["slice"][-1]
    assert stale["extra"] == {"node": "10.0.0.3:7001", "error": ""}
    assert "node=10.0.0.3:7001" in checker.format_op(stale, 100.0)


def test_not_linearizable_without_a_simpler_name():
    # Both writes overlap; the first read orders b before a, the second a before b.
    h = H().invoke(0, "write", key="x", value="a").invoke(1, "write", key="x", value="b")
    h.ok(0).ok(1).read(2, "x", "a").read(2, "x", "b")
    a = assert_anomaly(h.events, "not linearizable")
    assert kinds(checker.check(h.events)) == ["not linearizable"]
    assert {d["index"] for d in a["slice"]} >= {0, 1, 4, 6}


def test_reads_in_the_future_are_caught():
    h = H().read(0, "x", "a").write(1, "x", "a")
    assert_anomaly(h.events, "not linearizable")


# ---------------------------------------------------------------------------
# Malformed histories are refused, not judged


@pytest.mark.parametrize("events,message", [
    ([{"type": "ok", "process": 0, "f": "read", "key": "x", "value": None}], "no op outstanding"),
    ([{"type": "invoke", "process": 0, "f": "read", "key": "x"},
      {"type": "invoke", "process": 0, "f": "read", "key": "x"}], "outstanding"),
    ([{"type": "invoke", "process": 0, "f": "cas", "key": "x"}], "unknown f"),
    ([{"type": "invoke", "process": 0, "f": "read", "key": "x"},
      {"type": "ok", "process": 0, "f": "read", "key": "x"}], "without a value"),
    (H().write(0, "x", "a").write(0, "x", "a").events, "same value"),
    (H().incr(0, "k", 1).write(0, "k", "a").events, "counter key"),
])
def test_malformed_history(events, message):
    with pytest.raises(checker.HistoryError, match=message):
        checker.check(events)


# ---------------------------------------------------------------------------
# Brute-force oracle on small random histories


def oracle_valid(events):
    """True iff every key has a linearization, by trying every order of every
    admissible subset of its ops (small histories only)."""
    ops, out = [], {}
    for i, e in enumerate(events):
        if e["type"] == "invoke":
            op = {"f": e["f"], "key": e["key"], "value": e.get("value"), "inv": i,
                  "ret": float("inf"), "done": "info"}
            out[e["process"]] = op
            ops.append(op)
        else:
            op = out.pop(e["process"])
            op["done"] = e["type"]
            if e["type"] == "ok":
                op["ret"] = i
                op["value"] = e.get("value", op["value"])
    for key in {op["key"] for op in ops}:
        mine = [op for op in ops if op["key"] == key and op["done"] != "fail"
                and not (op["f"] == "read" and op["done"] != "ok")]
        counter = any(op["f"] == "incr" for op in ops if op["key"] == key)
        must = [op for op in mine if op["done"] == "ok"]
        maybe = [op for op in mine if op["done"] != "ok"]
        subsets = itertools.chain.from_iterable(
            itertools.combinations(maybe, r) for r in range(len(maybe) + 1))
        if not any(_some_order_works(must + list(s), counter) for s in subsets):
            return False
    return True


def _some_order_works(ops, counter):
    for order in itertools.permutations(ops):
        if any(order[j]["ret"] < order[i]["inv"]
               for i in range(len(order)) for j in range(i + 1, len(order))):
            continue
        state, good = (0 if counter else None), True
        for op in order:
            if op["f"] == "write":
                state = op["value"]
            elif op["f"] == "incr":
                state += 1
                good = op["done"] != "ok" or op["value"] == state
            else:
                seen = op["value"]
                good = (int(seen) if seen is not None else 0) == state if counter else seen == state
            if not good:
                break
        if good:
            return True
    return False


def random_small_history(rng, counter):
    """Up to 6 ops by 3 processes on one key, results drawn at random (so some
    histories are linearizable and some are not)."""
    h, n, idle, busy, written = H(), rng.randint(2, 6), [0, 1, 2], [], []
    next_proc = 3
    while n or busy:
        if n and idle and (not busy or rng.random() < 0.5):
            p = idle.pop(rng.randrange(len(idle)))
            if counter:
                h.invoke(p, rng.choice(["incr", "read"]), key="k")
            elif rng.random() < 0.5:
                written.append("v%d" % len(written))
                h.invoke(p, "write", key="k", value=written[-1])
            else:
                h.invoke(p, "read", key="k")
            busy.append(p)
            n -= 1
            continue
        p = busy.pop(rng.randrange(len(busy)))
        f = h.open[p][0]
        x = rng.random()
        if x < 0.12:
            h.fail(p)
        elif x < 0.3:
            h.info(p)
            p, next_proc = next_proc, next_proc + 1
        elif f == "write":
            h.ok(p)
        elif f == "incr":
            h.ok(p, value=rng.randint(1, 4))
        elif counter:
            h.ok(p, value=rng.choice([None, "0", "1", "2", "3"]))
        else:
            h.ok(p, value=rng.choice([None] + written))
        idle.append(p)
    return h.events


def searched_outcomes(events, step_limit=checker.DEFAULT_STEP_LIMIT):
    """The search's own verdict on every key, without the named-anomaly rules
    (reads of never-written values are left in: the search must reject them)."""
    keys = checker.split_keys(checker.parse_history(events))
    return {k: checker.search(checker.search_subs(kh), kh.is_counter, step_limit)[0]
            for k, kh in keys.items()}


@pytest.mark.parametrize("counter", [False, True])
def test_agrees_with_brute_force(counter):
    rng = random.Random(20240611 + counter)
    verdicts = {True: 0, False: 0}
    for _ in range(400):
        events = random_small_history(rng, counter)
        expect = oracle_valid(events)
        assert checker.check(events)["valid"] == expect, events
        assert set(searched_outcomes(events).values()) <= {"ok" if expect else "fail"}, events
        verdicts[expect] += 1
    assert verdicts[True] > 40 and verdicts[False] > 40, verdicts


def reference_valid(events):
    """True iff every key has a linearization, by a plain search over every
    (set of ops taken, state) reachable, with none of the checker's
    reductions (info incrs are ordinary choices; nothing is pruned or forced)."""
    ops, out = [], {}
    for i, e in enumerate(events):
        if e["type"] == "invoke":
            op = {"f": e["f"], "key": e["key"], "value": e.get("value"), "inv": i,
                  "ret": float("inf"), "done": "info"}
            out[e["process"]] = op
            ops.append(op)
        else:
            op = out.pop(e["process"])
            op["done"] = e["type"]
            if e["type"] == "ok":
                op["ret"] = i
                op["value"] = e.get("value", op["value"])
    for key in {op["key"] for op in ops}:
        counter = any(op["f"] == "incr" for op in ops if op["key"] == key)
        mine = [op for op in ops if op["key"] == key and op["done"] != "fail"
                and not (op["f"] == "read" and op["done"] != "ok")]
        must = frozenset(i for i, op in enumerate(mine) if op["done"] == "ok")
        start = (frozenset(), 0 if counter else None)
        seen, todo = {start}, [start]
        while todo and not must <= todo[-1][0]:
            taken, state = todo.pop()
            for x, op in enumerate(mine):
                if x in taken or any(y not in taken and other["ret"] < op["inv"]
                                     for y, other in enumerate(mine)):
                    continue
                nxt = _reference_step(op, state, counter)
                if nxt is not IMPOSSIBLE and (taken | {x}, nxt) not in seen:
                    seen.add((taken | {x}, nxt))
                    todo.append((taken | {x}, nxt))
        if not todo:
            return False
    return True


IMPOSSIBLE = object()  # not None: None is a register's state when the key is absent


def _reference_step(op, state, counter):
    if op["f"] == "write":
        return op["value"]
    if op["f"] == "incr":
        return state + 1 if op["done"] != "ok" or op["value"] == state + 1 else IMPOSSIBLE
    seen = op["value"]
    if counter:
        seen = int(seen) if seen is not None else 0
    return state if seen == state else IMPOSSIBLE


def corrupted_history(rng, counter, n_ops, n_procs):
    """A history from one copy of the key (effects at random moments, info ops
    taking effect or not), with about 3% of results replaced at random, so
    most are linearizable and some are not, often only subtly."""
    h, idle, busy, written = H(), list(range(n_procs)), [], []
    state, next_proc = (0 if counter else None), n_procs
    while n_ops or busy:
        if n_ops and idle and (not busy or rng.random() < 0.5):
            p = idle.pop(rng.randrange(len(idle)))
            if counter:
                h.invoke(p, rng.choice(["incr", "incr", "read"]), key="k")
            elif rng.random() < 0.5:
                written.append("v%d" % len(written))
                h.invoke(p, "write", key="k", value=written[-1])
            else:
                h.invoke(p, "read", key="k")
            busy.append(p)
            n_ops -= 1
            continue
        p = busy.pop(rng.randrange(len(busy)))
        f, fields = h.open[p]
        x = rng.random()
        if x < 0.05:
            h.fail(p)
            idle.append(p)
            continue
        if x < 0.2:
            if f != "read" and rng.random() < 0.5:
                state = fields["value"] if f == "write" else state + 1
            h.info(p) if rng.random() < 0.7 else h.open.pop(p)
            idle.append(next_proc)
            next_proc += 1
            continue
        corrupt = rng.random() < 0.03
        if f == "write":
            state = fields["value"]
            h.ok(p)
        elif f == "incr":
            state += 1
            h.ok(p, value=rng.randint(1, state + 2) if corrupt else state)
        elif counter:
            right = str(state) if state else None
            h.ok(p, value=str(rng.randint(0, state + 1)) if corrupt else right)
        else:
            h.ok(p, value=rng.choice([None] + written) if corrupt else state)
        idle.append(p)
    return h.events


@pytest.mark.parametrize("counter", [False, True])
def test_agrees_with_a_plain_search_on_medium_histories(counter):
    # Sizes the brute force cannot reach: this is where the checker's
    # reductions (forced reads, info incrs as slack, pruned info writes) work.
    rng = random.Random(7 + counter)
    verdicts = {True: 0, False: 0}
    for _ in range(150):
        events = corrupted_history(rng, counter, rng.randint(10, 40), rng.randint(2, 6))
        expect = reference_valid(events)
        assert checker.check(events)["valid"] == expect, events
        assert set(searched_outcomes(events).values()) <= {"ok" if expect else "fail"}, events
        verdicts[expect] += 1
    assert verdicts[True] > 20 and verdicts[False] > 20, verdicts


# ---------------------------------------------------------------------------
# Seeded simulation of a linearizable store


class SimStore:
    """The model the simulation runs: one copy of every key, changed atomically."""

    def __init__(self, rng, registers, counters, txn_keys):
        self.rng, self.registers, self.counters, self.txn_keys = rng, registers, counters, txn_keys
        self.state = {k: None for k in registers + txn_keys}
        self.state.update({k: 0 for k in counters})
        self.serial = itertools.count()

    def read_result(self, key):
        v = self.state[key]
        return (str(v) if v else None) if key in self.counters else v

    def apply(self, rec):
        f, fields, state = rec["f"], rec["fields"], self.state
        rec["applied"] = True
        if f == "write":
            state[fields["key"]] = fields["value"]
        elif f == "txn-write":
            for k in fields["keys"]:
                state[k] = fields["value"]
        elif f == "incr":
            state[fields["key"]] += 1
            rec["result"] = state[fields["key"]]
        elif f == "txn-read":
            rec["result"] = [state[k] for k in fields["keys"]]
        else:
            rec["result"] = self.read_result(fields["key"])

    def choose_op(self):
        rng = self.rng
        group = rng.choice(["r"] * 2 * bool(self.registers) + ["c"] * bool(self.counters)
                           + ["t"] * bool(self.txn_keys))
        if group == "r":
            key = rng.choice(self.registers)
            if rng.random() < 0.4:
                return "write", {"key": key, "value": "%s%d" % (key, next(self.serial))}
            return "read", {"key": key}
        if group == "c":
            return rng.choice(["incr", "read"]), {"key": rng.choice(self.counters)}
        x = rng.random()
        if x < 0.4:
            return "txn-write", {"keys": list(self.txn_keys), "value": "t%d" % next(self.serial)}
        if x < 0.8:
            return "txn-read", {"keys": list(self.txn_keys)}
        return "read", {"key": rng.choice(self.txn_keys)}


def simulate(seed, n_ops, n_procs=8, p_fail=0.05, p_info=0.08,
             registers=("a", "b"), counters=("n",), txn_keys=("t1", "t2")):
    """A linearizable history: each op takes effect at one random moment
    between its invoke and its completion (or, if its outcome is unknown, at
    some later moment or never; if failed, never). Ends with final reads."""
    rng = random.Random(seed)
    store = SimStore(rng, registers, counters, txn_keys)
    h, idle, busy, limbo = H(), list(range(n_procs)), {}, []
    next_proc, invoked = n_procs, 0
    while invoked < n_ops or busy:
        x = rng.random()
        if invoked < n_ops and idle and (not busy or x < 0.35):
            p = idle.pop(rng.randrange(len(idle)))
            f, fields = store.choose_op()
            h.invoke(p, f, **fields)
            busy[p] = {"f": f, "fields": fields, "applied": False}
            invoked += 1
            continue
        if limbo and x < 0.4:
            store.apply(limbo.pop(rng.randrange(len(limbo))))
            continue
        p = rng.choice(sorted(busy))
        rec, y = busy[p], rng.random()
        if not rec["applied"] and y < p_fail:
            h.fail(p)
        elif y < p_fail + p_info:  # unknown outcome, applied or not
            if rng.random() < 0.8:
                h.info(p)
            else:
                h.open.pop(p)  # never completes
            if not rec["applied"] and rng.random() < 0.5:
                limbo.append(rec)  # may still take effect later
            del busy[p]
            idle.append(next_proc)  # a process with an unknown op is retired
            next_proc += 1
            continue
        elif not rec["applied"]:
            store.apply(rec)
            continue
        elif rec["f"] in ("write", "txn-write"):
            h.ok(p)
        else:
            h.ok(p, value=rec["result"])
        del busy[p]
        idle.append(p)
    for rec in limbo:
        if rng.random() < 0.5:
            store.apply(rec)
    for key in registers + txn_keys + counters:
        h.read(next_proc, key, store.read_result(key))
    return h.events


def mutate_one_read(events, seed):
    """Sets one ok read of a register to a value some later-completed write
    had overwritten before the read began. Returns (events, key)."""
    rng = random.Random(seed)
    ops, out = [], {}
    for i, e in enumerate(events):
        if e["type"] == "invoke":
            out[e["process"]] = len(ops)
            ops.append({"i": i, "e": e})
        else:
            ops[out.pop(e["process"])].update(done=i, typ=e["type"])
    writes = [o for o in ops if o["e"]["f"] == "write" and o.get("typ") == "ok"]
    candidates = []
    for o in ops:
        if o["e"]["f"] != "read" or o.get("typ") != "ok" or o["e"]["key"].startswith("t"):
            continue
        key = o["e"]["key"]
        for w in writes:
            if w["e"]["key"] == key and w["done"] < o["i"]:
                older = [x for x in writes if x["e"]["key"] == key and x["done"] < w["i"]]
                if older:
                    candidates.append((o, rng.choice(older)["e"]["value"]))
                    break
    assert candidates, "the simulation produced no overwritten value to read"
    o, value = rng.choice(candidates)
    events = [dict(e) for e in events]
    events[o["done"]]["value"] = value
    return events, o["e"]["key"]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_simulated_history_passes_and_a_mutated_read_fails(seed):
    events = simulate(seed, n_ops=600)
    result = assert_valid(events)
    assert result["stats"]["ops"]["write"]["info"] > 0
    assert result["stats"]["ops"]["incr"]["fail"] > 0
    assert result["stats"]["txn_groups_checked"] == 1

    bad, key = mutate_one_read(events, seed)
    result = checker.check(bad)
    assert not result["valid"]
    assert {a["kind"] for a in result["anomalies"]} <= {"stale read", "lost write"}
    assert any(a["key"] == key for a in result["anomalies"])
    # The search alone (without the named-anomaly rules) must reject it too.
    assert searched_outcomes(bad)[key] == "fail"


@pytest.mark.parametrize("kind,p_info", [("register", 0.1), ("register", 0.6), ("counter", 0.1),
                                         ("counter", 0.6), ("txn", 0.4)])
def test_long_histories_need_few_steps(kind, p_info):
    # A few thousand ops per key at concurrency 10, up to 60% of them with an
    # unknown outcome (some taking effect hundreds of events later): the
    # search stays near-linear, counted in steps, not seconds. These are the
    # shapes that used up the 2,000,000-step limit, although linearizable,
    # before search() had its reductions.
    keys = {"registers": (), "counters": (), "txn_keys": ()}
    keys[{"register": "registers", "counter": "counters", "txn": "txn_keys"}[kind]] = (
        ("t1", "t2") if kind == "txn" else ("k",))
    events = simulate(11, n_ops=4000, n_procs=10, p_info=p_info, **keys)
    result = assert_valid(events)
    ops = sum(n for by in result["stats"]["ops"].values() for n in by.values())
    assert ops >= 4000
    assert result["stats"]["max_search_steps_per_key"] < 30 * ops


# ---------------------------------------------------------------------------
# Limits


def pathological(n):
    """n overlapping writes, then reads ordering two of them both ways: not
    linearizable, and the search must try every order of the n writes."""
    h = H()
    for p in range(n):
        h.invoke(p, "write", key="x", value="v%d" % p)
    for p in range(n):
        h.ok(p)
    return h.read(n, "x", "v0").read(n, "x", "v1").events


def test_step_limit_reports_unknown_instead_of_hanging():
    result = checker.check(pathological(16), step_limit=20_000)
    assert not result["valid"]
    assert result["anomalies"] == []
    assert [u["key"] for u in result["unknown_keys"]] == ["x"]
    assert "search limit" in result["reason"]
    assert result["stats"]["search_steps"] == 20_000


def test_same_shape_within_the_limit_is_found():
    result = checker.check(pathological(5), step_limit=20_000)
    assert kinds(result) == ["not linearizable"]
    assert result["unknown_keys"] == []


def test_anomalies_are_capped():
    h = H().write(0, "x", "a").write(0, "x", "b")
    for i in range(checker.MAX_ANOMALIES_PER_KEY_KIND + 5):
        h.read(1, "x", "never%d" % i)
    result = checker.check(h.events)
    assert len(result["anomalies"]) == checker.MAX_ANOMALIES_PER_KEY_KIND
    assert result["stats"]["anomalies_dropped"] == 5


# ---------------------------------------------------------------------------
# Command line


def write_jsonl(path, events):
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return str(path)


def test_cli_valid_and_invalid(tmp_path, capsys):
    good = write_jsonl(tmp_path / "good.jsonl", H().write(0, "x", "a").read(1, "x", "a").events)
    assert checker.main([good]) == 0
    assert "VALID" in capsys.readouterr().out

    bad_events = H().write(0, "x", "a").write(0, "x", "b").read(1, "x", "a").read(1, "x", "b")
    bad_events = bad_events.events
    bad = write_jsonl(tmp_path / "bad.jsonl", bad_events)
    assert checker.main([bad]) == 1
    out = capsys.readouterr().out
    assert "[stale read] key 'x'" in out
    assert "read x -> 'a'" in out and "+0.040s" in out  # slice line with a relative time

    (tmp_path / "broken.jsonl").write_text('{"type": "invoke"\n')
    assert checker.main([str(tmp_path / "broken.jsonl")]) == 2
    assert "line 1" in capsys.readouterr().err


def test_cli_as_a_script(tmp_path):
    bad = write_jsonl(tmp_path / "h.jsonl", H().write(0, "x", "a").read(9, "x", None).events)
    proc = subprocess.run([sys.executable, checker.__file__, bad, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["anomalies"][0]["kind"] == "lost write"


# ===========================================================================
# The queue workload's checker (queue_checker.py)

import queue_checker  # noqa: E402


class Q(HistoryBuilder):
    """Builds a queue history. Producer p pushes with process p; consumer c
    works as process 100 + c; final reads use process 999. Shorthands invoke
    and complete at once; invoke()/ok()/fail()/info() interleave."""

    def push(self, p, job, typ="ok"):
        return self.invoke(p, "push", job=job)._complete(typ, p)

    def take(self, c, job=None, typ="ok"):
        self.invoke(100 + c, "take", consumer=c)
        return self.ok(100 + c, job=job) if typ == "ok" else self._complete(typ, 100 + c)

    def recover(self, c, jobs):
        return self.invoke(100 + c, "recover", consumer=c).ok(100 + c, jobs=list(jobs))

    def done(self, c, job):
        return self.invoke(100 + c, "done", consumer=c, job=job).ok(100 + c)

    def ack(self, c, job, removed=1, typ="ok"):
        self.invoke(100 + c, "ack", consumer=c, job=job)
        return self.ok(100 + c, removed=removed) if typ == "ok" else self._complete(typ, 100 + c)

    def restart(self, c, reason="test"):
        return self.invoke(100 + c, "restart", consumer=c, reason=reason).ok(100 + c)

    def final(self, c, jobs=()):
        name = "pending" if c is None else "processing:%s" % c
        return self.invoke(999, "final-read", list=name, consumer=c).ok(999, jobs=list(jobs))

    def finals(self, consumers, pending=()):
        self.final(None, pending)
        for c in consumers:
            self.final(c)
        return self

    def work(self, c, job):
        """One clean round: take, done, ack."""
        return self.take(c, job).done(c, job).ack(c, job)


def q_kinds(result):
    return sorted({a["kind"] for a in result["anomalies"]})


def q_valid(events):
    result = queue_checker.check(events)
    assert result["valid"], queue_checker.format_report(result)
    assert result["anomalies"] == [] and result["incomplete"] == []
    return result["stats"]


def q_anomaly(events, kind):
    result = queue_checker.check(events)
    assert not result["valid"]
    assert kind in q_kinds(result), queue_checker.format_report(result)
    a = next(a for a in result["anomalies"] if a["kind"] == kind)
    assert a["slice"], "an anomaly must show the ops behind it"
    indices = [d["index"] for d in a["slice"]]
    assert indices == sorted(indices), "slice must be in history order"
    return a, result


# -- histories that must pass ---------------------------------------------------


def test_queue_clean_run():
    h = Q().push(0, "a").push(1, "b").push(0, "c")
    h.work(1, "a").work(2, "b").take(1).work(1, "c").finals([1, 2])
    st = q_valid(h.events)
    assert (st["jobs_acknowledged"], st["done"], st["lost"]) == (3, 3, 0)
    assert st["duplicates_allowed"] == st["duplicates_not_allowed"] == 0
    assert st["handovers"] == {"take": 3, "recover": 0}
    assert st["consumers"] == 2


def test_queue_unknown_and_failed_pushes():
    # An unknown push may have happened (done) or not; a failed one did not.
    h = Q().push(0, "a", typ="info").push(0, "b", typ="info").push(0, "c", typ="fail")
    h.invoke(1, "push", job="d")                # never completes: unknown too
    h.work(1, "a").finals([1])
    st = q_valid(h.events)
    assert (st["jobs_acknowledged"], st["pushes_unknown"], st["pushes_failed"]) == (0, 3, 1)
    assert (st["done"], st["done_push_unknown"], st["lost"]) == (1, 1, 0)


def test_queue_blmove_unknown_then_recovered():
    # The BLMOVE's reply was lost but it moved "a": the consumer restarts and
    # finds it in its own list. One hand-over, no duplicate.
    h = Q().push(0, "a").take(1, typ="info").restart(1).recover(1, ["a"])
    h.done(1, "a").ack(1, "a").take(1).finals([1])
    st = q_valid(h.events)
    assert st["handovers"] == {"take": 0, "recover": 1}
    assert st["duplicates_allowed"] == 0 and st["restarts"] == 1


def test_queue_blmove_unknown_that_did_not_happen():
    h = Q().push(0, "a").take(1, typ="info").restart(1).recover(1, [])
    h.work(2, "a").finals([1, 2])
    q_valid(h.events)


def test_queue_duplicate_after_crash_before_recording_is_allowed():
    # Handed over, the consumer crashed before recording the result: the
    # job is rightly still in its list and handed to it again.
    h = Q().push(0, "a").take(1, "a").restart(1).recover(1, ["a"])
    h.done(1, "a").ack(1, "a").finals([1])
    st = q_valid(h.events)
    assert (st["duplicates_allowed"], st["duplicate_jobs_allowed"]) == (1, 1)
    assert st["duplicates_allowed_by_reason"] == {queue_checker.ALLOWED_RESTART: 1}


@pytest.mark.parametrize("ack", ["info", "fail", None])
def test_queue_duplicate_after_unacknowledged_ack_is_allowed(ack):
    # Recorded done, then the LREM's outcome was unknown (or it failed, or
    # the consumer crashed before sending it): handed over again, done twice.
    h = Q().push(0, "a").take(1, "a").done(1, "a")
    if ack:
        h.ack(1, "a", typ=ack)
    h.restart(1).recover(1, ["a"]).done(1, "a").ack(1, "a", removed=0 if ack == "info" else 1)
    h.finals([1])
    st = q_valid(h.events)
    assert st["duplicates_allowed_by_reason"] == {queue_checker.ALLOWED_ACK: 1}


def test_queue_duplicate_whose_first_outcome_was_unknown():
    # BLMOVE of unknown outcome, found by the recovery, then the ack's
    # outcome unknown too: handed over twice, both through recoveries.
    h = Q().push(0, "a").push(0, "b").take(1, typ="info").restart(1).recover(1, ["a"])
    h.done(1, "a").ack(1, "a", typ="info").restart(1).recover(1, ["a"]).done(1, "a")
    h.ack(1, "a").work(2, "b").finals([1, 2])
    st = q_valid(h.events)
    assert (st["duplicates_allowed"], st["duplicates_not_allowed"]) == (1, 0)


def test_queue_interleaved_consumers():
    h = Q().push(0, "a").push(1, "b")
    h.invoke(101, "take", consumer=1).invoke(102, "take", consumer=2)
    h.ok(102, job="a").ok(101, job="b")
    h.done(2, "a").done(1, "b").ack(1, "b").ack(2, "a").finals([1, 2])
    q_valid(h.events)


# -- histories that must fail ---------------------------------------------------


def test_queue_lost_job():
    h = Q().push(0, "a").push(0, "b").work(1, "b").finals([1])
    a, result = q_anomaly(h.events, "lost job")
    assert a["job"] == "a" and "never handed" in a["explanation"]
    assert result["stats"]["lost"] == 1
    assert q_kinds(result) == ["lost job"]


def test_queue_lost_job_handed_over_but_never_done():
    # The consumer crashed before recording it and its list lost the job.
    h = Q().push(0, "a").take(1, "a").restart(1).recover(1, []).finals([1])
    a, _ = q_anomaly(h.events, "lost job")
    assert "never recorded done" in a["explanation"]


def test_queue_lost_job_left_in_pending_is_also_a_leftover():
    h = Q().push(0, "a").take(1).finals([1], pending=["a"])
    a, result = q_anomaly(h.events, "lost job")
    assert "pending list at the end" in a["explanation"]
    assert q_kinds(result) == ["leftover items", "lost job"]


def test_queue_job_handed_to_two_consumers():
    h = Q().push(0, "a").take(1, "a").done(1, "a").take(2, "a").done(2, "a")
    h.ack(1, "a").ack(2, "a").finals([1, 2])
    a, result = q_anomaly(h.events, "handed to two consumers")
    assert a["job"] == "a"
    assert result["stats"]["duplicates_not_allowed"] == 1
    assert result["stats"]["duplicate_jobs_not_allowed"] == 1


def test_queue_two_consumers_not_excused_by_an_unknown_blmove():
    # Consumer 1's BLMOVE of unknown outcome explains "a" in its own list,
    # but then "a" had left the pending list: consumer 2 cannot have it too.
    h = Q().push(0, "a").take(1, typ="info").take(2, "a").done(2, "a").ack(2, "a")
    h.restart(1).recover(1, ["a"]).done(1, "a").ack(1, "a").finals([1, 2])
    q_anomaly(h.events, "handed to two consumers")


def test_queue_job_taken_twice_by_one_consumer():
    h = Q().push(0, "a").work(1, "a").work(1, "a").finals([1])
    a, result = q_anomaly(h.events, "taken twice")
    assert "pending list twice" in a["explanation"]
    assert result["stats"]["duplicates_allowed"] == 0


def test_queue_job_back_after_its_ack():
    h = Q().push(0, "a").work(1, "a").restart(1).recover(1, ["a"]).done(1, "a")
    h.ack(1, "a").finals([1])
    a, _ = q_anomaly(h.events, "back after its ack")
    assert "removed 1" in a["explanation"]


def test_queue_job_twice_in_one_list():
    h = Q().push(0, "a").take(1, "a").restart(1).recover(1, ["a", "a"]).done(1, "a")
    h.ack(1, "a").finals([1])
    q_anomaly(h.events, "twice in one list")


@pytest.mark.parametrize("where", ["pending", "processing"])
def test_queue_leftover_items(where):
    h = Q().push(0, "a").push(0, "b").work(1, "a").work(1, "b")
    if where == "pending":
        h.final(None, ["b"]).final(1)
    else:
        h.final(None).final(1, ["a"])
    a, result = q_anomaly(h.events, "leftover items")
    assert result["stats"]["leftover_items"] == 1
    assert q_kinds(result) == ["leftover items"]


def test_queue_leftover_after_the_restart():
    # Empty after the drain, but an item is back after the final restart.
    h = Q().push(0, "a").work(1, "a").finals([1]).final(1, ["a"])
    q_anomaly(h.events, "leftover items")


def test_queue_missing_final_read_is_incomplete():
    h = Q().push(0, "a").work(1, "a").take(2).final(None).final(1)   # no read of list 2
    result = queue_checker.check(h.events)
    assert not result["valid"] and result["anomalies"] == []
    assert [i["consumer"] for i in result["incomplete"]] == [2]
    assert "incomplete" in result["reason"]


def test_queue_failed_final_read_does_not_count():
    h = Q().push(0, "a").work(1, "a").final(None)
    h.invoke(999, "final-read", list="processing:1", consumer=1).info(999)
    result = queue_checker.check(h.events)
    assert [i["consumer"] for i in result["incomplete"]] == [1]


@pytest.mark.parametrize("case", ["no push", "failed push", "taken before its push",
                                  "read at the end"])
def test_queue_never_pushed(case):
    h = Q()
    if case == "failed push":
        h.push(0, "a", typ="fail")
    if case == "taken before its push":
        h.take(1, "a").done(1, "a").ack(1, "a").push(0, "a")
    elif case == "read at the end":
        h.take(1)
    else:
        h.work(1, "a")
    h.finals([1], pending=["a"] if case == "read at the end" else ())
    a, result = q_anomaly(h.events, "never pushed")
    assert result["stats"]["never_pushed"] == 1
    assert {"no push": "no push", "failed push": "certainly failed",
            "taken before its push": "before its push",
            "read at the end": "read at the end"}[case] in a["explanation"]


def test_queue_unexplained_job_in_a_processing_list():
    # Consumer 1 never took anything (no BLMOVE of unknown outcome either),
    # yet its list holds a job.
    h = Q().push(0, "a").restart(1).recover(1, ["a"]).done(1, "a").ack(1, "a").finals([1])
    a, _ = q_anomaly(h.events, "unexplained in a processing list")
    assert "0 take(s) of unknown outcome" in a["explanation"]


def test_queue_one_unknown_blmove_explains_one_job():
    h = Q().push(0, "a").push(0, "b").take(1, typ="info").restart(1).recover(1, ["b", "a"])
    h.done(1, "a").done(1, "b").ack(1, "a").ack(1, "b").finals([1])
    a, _ = q_anomaly(h.events, "unexplained in a processing list")
    assert "1 job(s)" in a["explanation"]
    h2 = Q().push(0, "a").push(0, "b").take(1, typ="info").take(1, typ="info").restart(1)
    h2.recover(1, ["b", "a"]).done(1, "a").done(1, "b").ack(1, "a").ack(1, "b").finals([1])
    q_valid(h2.events)


def test_queue_job_vanished_from_its_processing_list():
    h = Q().push(0, "a").take(1, "a").done(1, "a").ack(1, "a", removed=0).finals([1])
    a, _ = q_anomaly(h.events, "vanished from a processing list")
    assert "removed nothing" in a["explanation"]


@pytest.mark.parametrize("events,message", [
    ([{"type": "invoke", "process": 0, "f": "pop", "job": "a"}], "unknown f"),
    ([{"type": "invoke", "process": 0, "f": "push"}], "string job"),
    ([{"type": "invoke", "process": 0, "f": "take"}], "consumer"),
    ([{"type": "invoke", "process": 1, "f": "take", "consumer": 1},
      {"type": "ok", "process": 1, "f": "take"}], "string or null"),
    ([{"type": "invoke", "process": 1, "f": "recover", "consumer": 1},
      {"type": "ok", "process": 1, "f": "recover", "jobs": "a"}], "list"),
    ([{"type": "invoke", "process": 1, "f": "ack", "consumer": 1, "job": "a"},
      {"type": "ok", "process": 1, "f": "ack", "removed": -1}], "removed"),
    ([{"type": "invoke", "process": 1, "f": "done", "consumer": 1, "job": "a"},
      {"type": "info", "process": 1, "f": "done"}], "must be ok"),
    (Q().push(0, "a").push(1, "a").events, "push the same job"),
    (Q().push(0, "a").done(1, "a").events, "no hand-over"),
    (Q().push(0, "a").take(2, "a").done(1, "a").events, "no hand-over"),
    ([{"type": "ok", "process": 3, "f": "push", "job": "a"}], "no op outstanding"),
])
def test_queue_malformed_history(events, message):
    with pytest.raises(queue_checker.HistoryError, match=message):
        queue_checker.check(events)


def test_queue_figures_and_report():
    h = Q().push(0, "a").push(0, "b", typ="info").push(0, "c")
    h.take(1, "a").restart(1).recover(1, ["a"]).done(1, "a").ack(1, "a")
    h.work(2, "c").take(2, "c").done(2, "c").ack(2, "c").finals([1, 2])
    result = queue_checker.check(h.events)
    text = queue_checker.format_report(result)
    assert "jobs acknowledged 2, pushes unknown 1" in text
    assert "duplicated hand-overs allowed 1 (1 jobs" in text
    assert "not allowed 1 (1 jobs)" in text
    assert "[taken twice] 'c'" in text and "c2 take -> 'c'" in text


def test_queue_anomalies_are_capped():
    h = Q()
    n = queue_checker.MAX_ANOMALIES_PER_KIND + 5
    for i in range(n):
        h.push(0, "j%d" % i)
    h.finals([])
    result = queue_checker.check(h.events)
    assert len(result["anomalies"]) == queue_checker.MAX_ANOMALIES_PER_KIND
    assert result["stats"]["anomalies_dropped"] == 5
    assert result["stats"]["lost"] == n
    assert "%d anomalies" % n in result["reason"]


def test_queue_cli(tmp_path, capsys):
    good = write_jsonl(tmp_path / "good.jsonl", Q().push(0, "a").work(1, "a").finals([1]).events)
    assert queue_checker.main([good]) == 0
    assert "VALID" in capsys.readouterr().out
    bad = write_jsonl(tmp_path / "bad.jsonl", Q().push(0, "a").finals([]).events)
    assert queue_checker.main([bad]) == 1
    assert "[lost job] 'a'" in capsys.readouterr().out
    (tmp_path / "broken.jsonl").write_text('{"type": "invoke"\n')
    assert queue_checker.main([str(tmp_path / "broken.jsonl")]) == 2
    proc = subprocess.run([sys.executable, queue_checker.__file__, bad, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["anomalies"][0]["kind"] == "lost job"


# -- the workload's own client logic, against a simulated faulty server --------

import collections  # noqa: E402
import threading  # noqa: E402

import redis  # noqa: E402

import queue_workload  # noqa: E402


class FakeSlot:
    index, host, port, addr = 1, "10.0.0.1", 7379, "10.0.0.1:7379"


class FakeCluster:
    def __init__(self):
        self.lock = threading.Lock()
        self.slot = FakeSlot()
        self.members = {self.slot}

    def member_slots(self):
        return [self.slot]

    def slot_by_addr(self, addr):
        return self.slot if addr == self.slot.addr else None

    def leader(self):
        return self.slot


class FakeListServer:
    """Lists in memory, answering as a cluster under faults does: refusals
    that did nothing (-MOVED, -CLUSTERDOWN), lost replies of commands that
    took effect or not (connection errors), -TIMEOUT for commands that take
    effect later or never. bug: one misbehaviour of a broken server."""

    def __init__(self, rng, bug=None):
        self.rng = rng
        self.lists = collections.defaultdict(list)
        self.late = []
        self.faults = True
        self.bug = bug
        self.bug_hit = 0

    def misbehave(self, wanted):
        if self.bug == wanted and self.bug_hit < 1 and self.rng.random() < 0.2:
            self.bug_hit += 1
            return True
        return False

    def apply(self, cmd):
        name, key = cmd[0], cmd[1]
        lst = self.lists[key]
        if name == "LPUSH":
            if not self.misbehave("lose"):
                lst.insert(0, cmd[2])
            return len(lst)
        if name == "BLMOVE":
            if not lst:
                return None  # the timeout, at once
            if self.misbehave("stale-take"):
                return lst[-1].encode()  # a deposed leader's answer: nothing moved
            job = lst.pop()
            if not self.misbehave("ghost-move"):
                self.lists[cmd[2]].insert(0, job)
            return job.encode()
        if name == "LREM":
            if cmd[3] in lst:
                if not self.misbehave("ghost-ack"):
                    lst.remove(cmd[3])
                return 1
            return 0
        if name == "LRANGE":
            return [j.encode() for j in lst]
        if name == "LLEN":
            return len(lst)
        raise AssertionError(cmd)

    def send(self, slot, cmd):
        if self.late and self.rng.random() < 0.2:
            late = self.late.pop(self.rng.randrange(len(self.late)))
            if self.rng.random() < 0.7:
                self.apply(late)  # committed at last (or never)
        r = self.rng.random() if self.faults else 1.0
        if r < 0.03:
            raise redis.ConnectionError("connection reset before it ran")
        if r < 0.06:
            self.apply(cmd)
            raise redis.TimeoutError("reply lost")
        if r < 0.09:
            self.late.append(cmd)
            return redis.ResponseError("TIMEOUT not committed yet")
        if r < 0.13:
            return redis.ResponseError("MOVED 1234 10.0.0.1:7379")
        if r < 0.15:
            return redis.ResponseError("CLUSTERDOWN No raft leader")
        if r < 0.16:
            return redis.ResponseError("UNBLOCKED client unblocked")
        return self.apply(cmd)

    def settle(self):
        """Healing: no more faults; every late command commits or is dropped."""
        self.faults = False
        for cmd in self.late:
            if self.rng.random() < 0.7:
                self.apply(cmd)
        self.late = []


def simulate_queue(seed, bug=None, n_steps=3000):
    """The workload's producers and consumers, stepped in a seeded random
    order against FakeListServer, then drained and read as run.py does."""
    rng = random.Random(seed)
    server = FakeListServer(random.Random("%s/server" % seed), bug)
    qw = queue_workload.QueueWorkload(FakeCluster(), seed, log=lambda msg: None)
    qw.command = lambda slot, cmd: server.apply(cmd)
    for c in qw.clients():
        c.send = server.send

    def step(c):
        c.step(c.pick_target())
        c.current_slot = None

    for i in range(n_steps):
        c = rng.choice(qw.clients())
        if i < n_steps * 0.8 or isinstance(c, queue_workload.Consumer):
            step(c)
    server.settle()
    quiet = 0
    for c in qw.consumers:
        c.draining = True
    for _ in range(20 * n_steps):
        step(rng.choice(qw.consumers))
        lens = qw.list_lengths()
        quiet = quiet + 1 if not any(lens.values()) and not any(
            c.holding for c in qw.consumers) else 0
        if quiet > 30:
            break
    assert quiet > 30, "the simulated drain did not finish"
    assert qw.final_reads("after drain", timeout_s=5) == []
    return qw.history.snapshot()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_queue_workload_simulated_history_passes(seed):
    events = simulate_queue(seed)
    st = q_valid(events)
    assert st["jobs_acknowledged"] > 300 and st["lost"] == 0
    assert st["pushes_unknown"] > 10 and st["done_push_unknown"] > 0
    assert st["duplicates_allowed"] > 0 and st["duplicates_not_allowed"] == 0
    assert len(st["duplicates_allowed_by_reason"]) == 2
    assert st["handovers"]["recover"] > 0 and st["restarts"] > 0
    assert st["ops"]["take"]["fail"] > 0 and st["ops"]["ack"]["info"] > 0
    json.loads(json.dumps(events))  # what run.py writes


@pytest.mark.parametrize("bug,kinds", [
    ("lose", {"lost job"}),
    ("stale-take", {"handed to two consumers", "taken twice"}),
    ("ghost-move", {"vanished from a processing list"}),
    ("ghost-ack", {"back after its ack", "leftover items"}),
])
def test_queue_workload_simulated_bug_is_caught(bug, kinds):
    for seed in range(1, 6):
        events = simulate_queue(seed, bug=bug, n_steps=1500)
        result = queue_checker.check(events)
        if q_kinds(result):
            break
    assert not result["valid"]
    assert set(q_kinds(result)) & kinds, queue_checker.format_report(result)


def test_queue_report_section():
    import report
    events = simulate_queue(4, bug="ghost-ack", n_steps=600)
    result = queue_checker.check(events)
    r = {"seed": 4, "nodes": 5, "time_s": 90, "out_dir": "/x", "elapsed_s": 99.0,
         "workload": "queue", "faults": {}, "converged": True, "converge_detail": "",
         "converged_restart": True, "converge_restart_detail": "", "snapshots": {},
         "crashes": [], "outstanding": 0, "t0": events[0]["time"], "probes": [],
         "workload_events": [], "final_events": [], "failures": ["queue checker"],
         "queue": {"status": "ran", "drained": True, "drain_detail": "every list empty",
                   "check": result, "unread": []},
         "queue_events": events, "queue_format_op": queue_checker.format_op,
         "queue_figures": queue_checker.figures}
    text = report.render(r)
    assert "register/KV workload: not selected" in text
    assert "queue workload: ran" in text and "drain after healing: yes" in text
    assert "jobs acknowledged %d" % result["stats"]["jobs_acknowledged"] in text
    assert "first queue anomaly" in text
    assert "kind: %s" % result["anomalies"][0]["kind"] in text
    r["queue"] = {"status": "skipped: the server does not know BLMOVE (COMMAND INFO)"}
    assert "queue workload: skipped" in report.render(r)
