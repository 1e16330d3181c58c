"""The client side of a chaos run: the history and the threads that make it.

History: JSON-lines events in real-time order, one invoke and exactly one
later completion per op, per process at most one op outstanding:
  {"type": "invoke"|"ok"|"fail"|"info", "process": int, "f": F, "time": monotonic s, ...}
An op's outcome is "ok" (it happened, with its result), "fail" (certainly not
applied: -MOVED, -CLUSTERDOWN, -NOCLUSTER, -TRYAGAIN, -LOADING, -EXECABORT, or
no connection before anything was sent) or "info" (unknown: socket timeout,
-TIMEOUT, connection lost after sending, any unexpected error). After an
"info" the thread continues as a new process (id + number of threads), as in
Jepsen, so an op of unknown fate stays the only op of its process.

Workers: each thread owns one redis-py Connection at a time (socket timeout
1 s) to its current target, one of cluster.members; every other worker sends
RAFT.READONLY on each connection, so its reads on a follower are the
follower's own linearizable reads (the others' get -MOVED to the leader). -MOVED makes the named
node the target of the next op (if it is a member); CLUSTERDOWN, TRYAGAIN,
NOCLUSTER, LOADING and connection errors move to another member. An op is
never retried under the same invoke. Ops: SET/GET on REGISTER_KEYS (unique
values), INCR/GET on COUNTER_KEYS, MULTI SET SET EXEC / MULTI GET GET EXEC
on TXN_PAIRS. Register, counter and transaction keys are disjoint.
The data types ride on the same two models, under synthetic keys
"<key>#<element>" that name no real key: a hash field incremented with
HINCRBY and read with HGET, and a sorted-set member's score incremented with
ZINCRBY and read with ZSCORE, are counters; a set member is a register
written once with SADD (value "1": each member is added at most once) and
read with SISMEMBER ("1" or None).
Counters are also incremented the optimistic way: WATCH k, GET k (v), then
MULTI SET k v+1 EXEC. It is recorded as an "incr" (field via "watch") that
returned v+1 when EXEC succeeds, and as failed when EXEC answers null or the
first round trip fails (WATCH and GET write nothing): a lost update under
WATCH then shows as a duplicate counter value.

final_reads(): after the cluster restarted, one GET of every key used,
invoked after every other op completed.
"""

import json
import random
import threading
import time

import redis
from redis.connection import Connection
from redis.exceptions import BusyLoadingError, ExecAbortError

from cluster import HarnessError

REGISTER_KEYS = [f"r{i}" for i in range(5)]
COUNTER_KEYS = ["c0", "c1"]
TXN_PAIRS = [("t0a", "t0b"), ("t1a", "t1b")]
HASH_FIELDS = [f"h0#f{i}" for i in range(3)]   # HINCRBY / HGET: counters
ZSET_MEMBERS = [f"z0#m{i}" for i in range(3)]  # ZINCRBY / ZSCORE: counters
SET_KEYS = ["s0", "s1"]                         # SADD once / SISMEMBER: registers
ALL_KEYS = REGISTER_KEYS + COUNTER_KEYS + [k for p in TXN_PAIRS for k in p] + HASH_FIELDS + \
    ZSET_MEMBERS


def split_key(synthetic):
    """The real key and the element of a "<key>#<element>" history key."""
    return synthetic.split("#", 1)


def read_cmd(key):
    """The command reading history key key's value (final reads too)."""
    if "#" not in key:
        return ("GET", key)
    real, elem = split_key(key)
    if real.startswith("h"):
        return ("HGET", real, elem)
    if real.startswith("z"):
        return ("ZSCORE", real, elem)
    return ("SISMEMBER", real, elem)


def read_value(key, reply):
    """A read reply as the history records it: a string or None. SISMEMBER's
    1/0 (True/False through a redis-py client) -> "1"/None; a score (a float
    through a redis-py client's ZSCORE callback) -> its decimal text."""
    if "#" in key and split_key(key)[0].startswith("s"):
        return "1" if reply in (1, True) else None
    if isinstance(reply, float):
        return str(int(reply)) if reply.is_integer() else repr(reply)
    return text(reply)

SOCKET_TIMEOUT_S = 1.0
# Errors that mean "this node did not run it": fail, and go elsewhere.
NOT_RUN = ("MOVED", "CLUSTERDOWN", "NOCLUSTER", "TRYAGAIN", "LOADING", "EXECABORT")
# (f, weight)
OP_MIX = [("write", 25), ("read", 25), ("incr", 10), ("cas-incr", 8), ("counter-read", 10),
          ("txn-write", 10), ("txn-read", 12), ("hincr", 6), ("zincr", 6), ("type-read", 8),
          ("sadd", 6), ("set-read", 5)]


def error_code(e):
    """The leading word of a reply error (redis-py strips some prefixes)."""
    if isinstance(e, ExecAbortError):
        return "EXECABORT"
    if isinstance(e, BusyLoadingError):
        return "LOADING"
    return str(e).split(" ", 1)[0]


def round_trip(conn, cmds):
    """Sends cmds as one pipeline; their replies, an error reply as its
    ResponseError (the connection stays usable). Connection errors raise."""
    conn.send_packed_command(conn.pack_commands(cmds))
    replies = []
    for _ in cmds:
        try:
            replies.append(conn.read_response())
        except redis.ResponseError as e:
            replies.append(e)
    return replies


def text(v):
    return v.decode() if isinstance(v, bytes) else v


class History:
    """Thread-safe event log. Events get their time under the lock, so the
    list is in real-time order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []
        self.outstanding = {}   # op id -> invoke event
        self.next_id = 0
        self.closed = False     # set by close(): later worker events are dropped

    def invoke(self, process, f, final=False, **fields):
        with self.lock:
            if self.closed and not final:
                return None
            ev = {"type": "invoke", "process": process, "f": f, "time": time.monotonic(), **fields}
            self.events.append(ev)
            op_id = self.next_id
            self.next_id += 1
            self.outstanding[op_id] = ev
            return op_id

    def complete(self, op_id, typ, **fields):
        """Records op op_id's completion; False if close() already did."""
        with self.lock:
            inv = self.outstanding.pop(op_id, None)
            if inv is None:
                return False
            ev = {"type": typ, "process": inv["process"], "f": inv["f"],
                  "time": time.monotonic()}
            for k, v in inv.items():
                if k not in ev and k != "value":
                    ev[k] = v
            if "value" in inv and "value" not in fields:
                ev["value"] = inv["value"]
            ev.update(fields)
            self.events.append(ev)
            return True

    def close(self):
        """Every op still outstanding completes as info; workers are done."""
        with self.lock:
            self.closed = True
            n = len(self.outstanding)
        for op_id in list(self.outstanding):
            self.complete(op_id, "info", error="still outstanding at the end of the run")
        return n

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def write_jsonl(self, path):
        with open(path, "w") as f:
            for ev in self.snapshot():
                f.write(json.dumps(ev) + "\n")


class Link:
    """A client's way to the cluster: its target slot, one redis-py
    Connection at a time (socket timeout socket_timeout_s) and the slot of
    the command in flight (current_slot, which the nemesis quiesces on).
    Shared by the register/KV workers and the queue workload's clients.
    init_link() sets its state."""

    socket_timeout_s = SOCKET_TIMEOUT_S
    follower_reads = False  # RAFT.READONLY on every connection (Worker: every other one)

    def init_link(self, cluster, rng):
        self.cluster = cluster
        self.rng = rng
        self.target = None
        self.conn = None
        self.conn_slot = None
        self.current_slot = None  # slot of the op in flight (nemesis quiesces on it)

    # -- targets and connections -------------------------------------------------
    def pick_target(self):
        """The slot of the next op, claimed as current_slot under the
        cluster lock: once the nemesis took a slot out of the members (under
        the same lock), no op starts there, and the ops already claimed show
        in current_slot until they end."""
        with self.cluster.lock:
            members = sorted(self.cluster.members, key=lambda s: s.index)
            if not members:
                return None
            if self.target not in members:
                self.target = self.rng.choice(members)
            self.current_slot = self.target
            return self.target

    def move_on(self):
        """Another member next time (after a refusal or a connection error)."""
        members = [s for s in self.cluster.member_slots() if s is not self.target]
        self.target = self.rng.choice(members) if members else None
        self.drop_conn()

    def follow_moved(self, msg):
        parts = msg.split()
        slot = self.cluster.slot_by_addr(parts[2]) if len(parts) >= 3 else None
        if slot is not None and slot in self.cluster.member_slots():
            self.target = slot
        else:
            self.move_on()

    def drop_conn(self):
        if self.conn is not None:
            try:
                self.conn.disconnect()
            except Exception:  # noqa: BLE001 - closing a broken socket
                pass
        self.conn = None
        self.conn_slot = None

    def connected(self, slot):
        """A connected Connection to slot, or None (nothing was sent). A kept
        connection the server closed meanwhile (it was killed, say) is
        replaced before anything is sent on it, so that op is not an info."""
        if self.conn is not None and self.conn_slot is slot:
            try:
                if not self.conn.can_read(timeout=0):
                    return self.conn
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                pass
        self.drop_conn()
        conn = Connection(host=slot.host, port=slot.port, socket_timeout=self.socket_timeout_s,
                          socket_connect_timeout=SOCKET_TIMEOUT_S)
        try:
            conn.connect()
            if self.follower_reads:  # nothing of an op is sent before it
                conn.send_command("RAFT.READONLY")
                conn.read_response()
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError):
            conn.disconnect()
            return None
        self.conn, self.conn_slot = conn, slot
        return conn


class NotSent(Exception):
    """Nothing was sent (no connection): the command certainly did not run."""


class Client(Link):
    """A client of the queue, cache or stream workload: state that lives
    across phases, stepped by a thread started per phase. step(slot) does
    one command on slot and returns the pause before the next; a step that
    sets done stops the client for good. not_run: the error codes after
    which a command certainly did not run (-MOVED aside, which is
    followed); any other error reply is an unknown outcome."""

    not_run = NOT_RUN

    def __init__(self, name, cluster, history, rng, process, n_procs):
        self.init_link(cluster, rng)
        self.name = name
        self.history = history
        self.process = process
        self.n_procs = n_procs
        self.error = None
        self.thread = None
        self.done = False

    # -- threads -----------------------------------------------------------------
    def start(self, stop):
        self.thread = threading.Thread(target=self.run, args=(stop,), daemon=True,
                                       name=self.name)
        self.thread.start()

    def run(self, stop):
        try:
            while not (stop.is_set() or self.done):
                slot = self.pick_target()
                if slot is None:
                    stop.wait(0.1)
                    continue
                try:
                    pause = self.step(slot)
                finally:
                    self.current_slot = None
                if pause:
                    stop.wait(pause)
        except Exception as e:  # noqa: BLE001 - reported by run.py as a harness error
            self.error = repr(e)
        finally:
            self.drop_conn()

    def join(self, timeout):
        if self.thread is not None:
            self.thread.join(timeout)

    def is_alive(self):
        return self.thread is not None and self.thread.is_alive()

    # -- one command -------------------------------------------------------------
    def send(self, slot, cmd):
        """cmd's reply (an error reply as its ResponseError); raises NotSent
        or a connection error."""
        conn = self.connected(slot)
        if conn is None:
            raise NotSent("connect failed")
        return round_trip(conn, [cmd])[0]

    def call(self, slot, cmd):
        """Runs cmd on slot: ("ok", reply), ("fail", why) if it certainly did
        not run, ("info", why) if its outcome is unknown."""
        try:
            reply = self.send(slot, cmd)
        except NotSent as e:
            self.move_on()
            return "fail", str(e)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            self.move_on()
            return "info", f"{type(e).__name__}: {e}"
        if not isinstance(reply, redis.ResponseError):
            return "ok", reply
        code = error_code(reply)
        if code == "MOVED":
            self.follow_moved(str(reply))
            return "fail", str(reply)
        if code in self.not_run:
            self.move_on()
            return "fail", str(reply)
        if code == "CLUSTERDOWN":
            self.move_on()
        return "info", str(reply)

    def unknown(self):
        """After an info: the next op is a new process's."""
        self.process += self.n_procs

    def record(self, f, **fields):
        """An op the client does itself (no command): invoke and ok at once."""
        op = self.history.invoke(self.process, f, **fields)
        if op is not None:
            self.history.complete(op, "ok")


def join_clients(clients, timeout_s, what):
    """Waits up to timeout_s in all for the threads of clients (their stop
    already set); HarnessError names those still running."""
    deadline = time.monotonic() + timeout_s
    for c in clients:
        c.join(max(0.1, deadline - time.monotonic()))
    stuck = [c.name for c in clients if c.is_alive()]
    if stuck:
        raise HarnessError(f"{what} clients did not stop: {', '.join(stuck)}")


class Worker(Link, threading.Thread):
    def __init__(self, index, n_workers, cluster, history, seed, stop, delay_s):
        threading.Thread.__init__(self, daemon=True, name=f"worker{index}")
        self.init_link(cluster, random.Random(f"{seed}/worker{index}"))
        self.history = history
        self.process = index
        self.n_workers = n_workers
        self.stop = stop
        self.delay_s = delay_s
        self.seq = 0
        self.error = None
        self.set_members = []  # set members this worker added (history keys)
        # every other worker reads on followers too, linearizably (RAFT.READONLY:
        # a follower serves the read once the leader confirmed its commit index)
        self.follower_reads = index % 2 == 1

    # -- ops -------------------------------------------------------------------------
    def run(self):
        try:
            while not self.stop.is_set():
                slot = self.pick_target()
                if slot is None:
                    self.stop.wait(0.1)
                    continue
                try:
                    self.one_op(slot)
                finally:
                    self.current_slot = None
                self.stop.wait(self.rng.uniform(0.5, 1.5) * self.delay_s)
        except Exception as e:  # noqa: BLE001 - reported by run.py as a harness error
            self.error = repr(e)
        finally:
            self.drop_conn()

    def choose(self):
        f = self.rng.choices([m[0] for m in OP_MIX], [m[1] for m in OP_MIX])[0]
        self.seq += 1
        if f == "write":
            k, v = self.rng.choice(REGISTER_KEYS), f"{self.process}.{self.seq}"
            return "write", {"key": k, "value": v}, [("SET", k, v)]
        if f == "read":
            k = self.rng.choice(REGISTER_KEYS)
            return "read", {"key": k}, [("GET", k)]
        if f == "incr":
            k = self.rng.choice(COUNTER_KEYS)
            return "incr", {"key": k}, [("INCR", k)]
        if f == "cas-incr":
            k = self.rng.choice(COUNTER_KEYS)
            return "cas-incr", {"key": k}, [("WATCH", k), ("GET", k)]
        if f == "counter-read":
            k = self.rng.choice(COUNTER_KEYS)
            return "read", {"key": k}, [("GET", k)]
        if f in ("hincr", "zincr"):
            k = self.rng.choice(HASH_FIELDS if f == "hincr" else ZSET_MEMBERS)
            real, elem = split_key(k)
            cmd = ("HINCRBY", real, elem, 1) if f == "hincr" else ("ZINCRBY", real, 1, elem)
            return "incr", {"key": k}, [cmd]
        if f == "type-read":
            k = self.rng.choice(HASH_FIELDS + ZSET_MEMBERS)
            return "read", {"key": k}, [read_cmd(k)]
        if f == "sadd":
            k = f"{self.rng.choice(SET_KEYS)}#p{self.process}.{self.seq}"
            self.set_members.append(k)
            return "write", {"key": k, "value": "1"}, [("SADD", *split_key(k))]
        if f == "set-read":
            if not self.set_members:
                k = f"{self.rng.choice(SET_KEYS)}#never"
            else:
                k = self.rng.choice(self.set_members)
            return "read", {"key": k}, [read_cmd(k)]
        k1, k2 = self.rng.choice(TXN_PAIRS)
        if f == "txn-write":
            v = f"t{self.process}.{self.seq}"
            return "txn-write", {"keys": [k1, k2], "value": v}, \
                [("MULTI",), ("SET", k1, v), ("SET", k2, v), ("EXEC",)]
        return "txn-read", {"keys": [k1, k2]}, [("MULTI",), ("GET", k1), ("GET", k2), ("EXEC",)]

    def one_op(self, slot):
        f, fields, cmds = self.choose()
        if f == "cas-incr":
            op = self.history.invoke(self.process, "incr", node=slot.addr, via="watch", **fields)
        else:
            op = self.history.invoke(self.process, f, node=slot.addr, **fields)
        if op is None:
            return
        if f == "cas-incr":
            typ, extra = self.execute_cas(slot, fields["key"], cmds)
        else:
            typ, extra = self.execute(slot, f, cmds, key=fields.get("key"))
        self.history.complete(op, typ, **extra)
        if typ == "info":
            self.process += self.n_workers

    def execute(self, slot, f, cmds, cas_value=None, key=None):
        """Runs cmds on slot; returns (completion type, fields)."""
        conn = self.connected(slot)
        if conn is None:
            self.move_on()
            return "fail", {"error": "connect failed"}
        try:
            replies = round_trip(conn, cmds)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            self.move_on()
            return "info", {"error": f"{type(e).__name__}: {e}"}
        return self.outcome(f, replies, cas_value, cmd_name=cmds[-1][0], key=key)

    def execute_cas(self, slot, key, watch_cmds):
        """WATCH key, GET key, then MULTI SET key v+1 EXEC on the same link."""
        conn = self.connected(slot)
        if conn is None:
            self.move_on()
            return "fail", {"error": "connect failed"}
        try:
            replies = round_trip(conn, watch_cmds)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            self.move_on()  # WATCH and GET change nothing: certainly not applied
            return "fail", {"error": f"{type(e).__name__}: {e}"}
        errors = [r for r in replies if isinstance(r, redis.ResponseError)]
        if errors:
            self.drop_conn()  # and its WATCH
            if error_code(errors[0]) == "MOVED":
                self.follow_moved(str(errors[0]))
            else:
                self.move_on()
            return "fail", {"error": f"before MULTI: {errors[0]}"}
        try:
            new = int(replies[1] or 0) + 1
        except ValueError:
            self.drop_conn()
            return "fail", {"error": f"GET {replies[1]!r} is not a counter"}
        return self.execute(slot, "cas-incr", [("MULTI",), ("SET", key, str(new)), ("EXEC",)],
                            cas_value=new)

    def outcome(self, f, replies, cas_value=None, cmd_name=None, key=None):
        last = replies[-1]
        if len(replies) > 1 and any(isinstance(r, redis.ResponseError) for r in replies):
            self.drop_conn()  # whatever MULTI state the server kept goes with it
        if isinstance(last, redis.ResponseError):
            code = error_code(last)
            first_moved = next((r for r in replies if isinstance(r, redis.ResponseError)
                                and error_code(r) == "MOVED"), None)
            if first_moved is not None:
                self.follow_moved(str(first_moved))
            elif code in NOT_RUN:
                self.move_on()
            if code in NOT_RUN:
                return "fail", {"error": str(last) if code != "EXECABORT" else f"EXECABORT {last}"}
            return "info", {"error": str(last)}
        if f == "cas-incr":
            if last is None:
                return "fail", {"error": "EXEC null: the watched key changed"}
            if isinstance(last, list) and len(last) == 1 and last[0] in (True, b"OK"):
                return "ok", {"value": cas_value}
            return "info", {"error": f"EXEC reply {last!r}"}
        if f in ("write", "read", "incr"):
            if f == "write":
                ok = last in (True, b"OK") or (cmd_name == "SADD" and last == 1)
                return ("ok", {}) if ok else ("info", {"error": f"reply {last!r}"})
            if f == "incr":
                return "ok", {"value": int(float(text(last)))}
            return "ok", {"value": read_value(key, last)}
        if not isinstance(last, list) or len(last) != 2:
            return "info", {"error": f"EXEC reply {last!r}"}
        if any(isinstance(r, redis.ResponseError) for r in last):
            return "info", {"error": f"EXEC reply {last!r}"}
        if f == "txn-write":
            return "ok", {}
        return "ok", {"value": [text(v) for v in last]}


def final_reads(cluster, history, keys, process, timeout_s=60, log=print):
    """GET of every key, each retried (as a new invoke) until ok. Returns the
    keys that could not be read before the deadline."""
    deadline = time.monotonic() + timeout_s
    pending = list(keys)
    target = None
    while pending and time.monotonic() < deadline:
        members = cluster.member_slots()
        if target not in members:
            target = cluster.leader() or (members[0] if members else None)
        if target is None:
            time.sleep(0.2)
            continue
        key = pending[0]
        op = history.invoke(process, "read", final=True, key=key, node=target.addr)
        try:
            with target.client(timeout_s=SOCKET_TIMEOUT_S * 2) as c:
                v = c.execute_command(*read_cmd(key))
        except redis.ResponseError as e:
            code = error_code(e)
            history.complete(op, "fail" if code in NOT_RUN else "info", error=str(e))
            if code not in NOT_RUN:
                process += 1
            parts = str(e).split()
            target = cluster.slot_by_addr(parts[2]) if code == "MOVED" and len(parts) > 2 else None
            time.sleep(0.1)
            continue
        except (redis.ConnectionError, redis.TimeoutError) as e:
            history.complete(op, "info", error=f"{type(e).__name__}: {e}")
            process += 1
            target = None
            time.sleep(0.1)
            continue
        history.complete(op, "ok", value=read_value(key, v))
        pending.pop(0)
    if pending:
        log(f"final reads: could not read {pending} within {timeout_s}s")
    return pending
