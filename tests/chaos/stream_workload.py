"""The stream workload of a chaos run: jobs on Redis streams handed out by a
consumer group, recorded as a history for stream_checker.py.

Before the faults, setup() creates the group on every stream key (XGROUP
CREATE key GROUP 0 MKSTREAM on the leader; BUSYGROUP counts as done).
Producers XADD unique jobs ("p<producer>.<seq>", field "job") to a random
key (KEYS), recording the ID each XADD returned; a producer never retries
an XADD: the next one has a new job. Each consumer c (its name in the
group: "c<n>") does, at each step, the first of:
  - after a claim, XPENDING key GROUP <first> <last> COUNT c: the claimed
    entries' delivery counts (a "pending" op);
  - XACK key GROUP id of the oldest entry it processed and did not see
    acknowledged (one entry per XACK; after a refusal or an unknown outcome
    the same XACK again, since XACK is idempotent);
  - after a restart, its own pending entries: XREADGROUP GROUP GROUP c COUNT
    n STREAMS key <id>, from 0-0 on every key until a key gives nothing
    more (the history);
  - every CLAIM_EVERY_S or so, a claim sweep of every key: XAUTOCLAIM key
    GROUP c min-idle <cursor> COUNT n from 0-0 until the cursor is 0-0;
  - XREADGROUP GROUP GROUP c COUNT n BLOCK BLOCK_MS STREAMS key >, the keys
    in turn (new entries).
Every entry a read or a claim returns is recorded processed (a "process"
event: the job's result), then acked - unless the consumer "crashes" on
purpose (a few %), after the delivery before processing, or after
processing before the acks: it then abandons those entries (an "abandon"
event) and goes on; they stay pending in its name until a claim hands them
on, as a dead consumer's do. One consumer (the last) vanishes for good
("vanish") vanish_after_s after the start, leaving its pending entries to
the others' claims (min-idle MIN_IDLE_MS).

Replies are sorted as the queue workload sorts them (XREADGROUP blocks
like BLMOVE): -MOVED (followed), -NOCLUSTER, -TRYAGAIN, -LOADING and a
refused connect mean "not run"; -TIMEOUT, -UNBLOCKED, -CLUSTERDOWN,
connection errors after sending and anything unexpected are "outcome
unknown" (info), after which the client continues as a new process. After
a read or a claim of unknown outcome, entries may be pending in the
consumer's name that it never saw: it restarts ("restart": a new
connection) and, half the time, reads its history (the pattern Redis
documents for a consumer that starts); otherwise they wait for a claim.

At the end (run.py, after healing): drain() runs the consumers that did not
vanish again, claiming with min-idle 0 and without crashes, until on every
key nothing is pending and the group has delivered up to the stream's last
ID, for DRAIN_QUIET_S in a row (XINFO STREAM and XINFO GROUPS on the
leader, not recorded), or until DRAIN_TIMEOUT_S. final_reads() then reads
every key on every member, on its own data (READONLY): XRANGE key - +,
XINFO STREAM, XINFO GROUPS, XPENDING's summary and entries ("final-read"
ops, one per key and node, compared across the nodes by the checker).

Keys carry the hash tag {xs}; the group is GROUP. The history format is
stream_checker.py's (docstring there).
"""

import random
import re
import threading
import time

import redis

from cluster import HarnessError
from queue_workload import NOT_RUN_QUEUE, raw_command, raw_round_trip
from workload import NOT_RUN, SOCKET_TIMEOUT_S, Client, History, error_code, join_clients

KEYS = ("{xs}:0", "{xs}:1")
GROUP = "chaos"
FIELD = b"job"
STREAM_COMMANDS = ("XADD", "XGROUP", "XREADGROUP", "XACK", "XAUTOCLAIM", "XPENDING", "XINFO",
                   "XRANGE")
BLOCK_MS = 1000                                # XREADGROUP's own timeout
BLOCK_SOCKET_TIMEOUT_S = BLOCK_MS / 1000 + 2   # a consumer's socket timeout: beyond it
READ_COUNT = 5
CLAIM_COUNT = 10
CLAIM_EVERY_S = 1.0         # between one consumer's claim sweeps (jittered)
MIN_IDLE_MS = 2000          # XAUTOCLAIM's min-idle under the faults (0 in the drain)
N_PRODUCERS = 2
N_CONSUMERS = 3
ADD_DELAY_S = 0.1           # pause between one producer's XADDs
FAIL_PAUSE_S = 0.05         # pause after a command refused or of unknown outcome
P_ABANDON_BEFORE_PROCESS = 0.03
P_ABANDON_BEFORE_ACK = 0.03
P_READ_HISTORY = 0.5        # a restarting consumer reads its own pending entries
DRAIN_QUIET_S = 3.0         # nothing pending, everything delivered, this long: drained
DRAIN_TIMEOUT_S = 60.0
SETUP_TRIES = 20
FINAL_PENDING_MAX = 1000    # pending entries listed by a final read
STREAM_INFO = ("length", "last-generated-id", "max-deleted-entry-id", "entries-added",
               "recorded-first-entry-id", "groups")
FINAL_PROCESS = 500000      # process ids of the final reads
ID_RE = re.compile(rb"[0-9]+-[0-9]+\Z")


# -- replies as the history records them ----------------------------------------


def _text(raw):
    return raw.decode(errors="backslashreplace")


def entry_id(raw):
    """An entry ID's text, or None if raw is not one."""
    return _text(raw) if isinstance(raw, bytes) and ID_RE.match(raw) else None


def entries(raw):
    """Raw entries [[id, fields]] as [[id, job]] (job None: the server sent no
    fields, as for an entry gone from the stream; fields other than one "job"
    are described in its place), or None if raw is not a list of entries."""
    if not isinstance(raw, list):
        return None
    out = []
    for e in raw:
        eid = entry_id(e[0]) if isinstance(e, list) and len(e) == 2 else None
        if eid is None:
            return None
        fields = e[1]
        if fields is None:
            out.append([eid, None])
        elif (isinstance(fields, list) and len(fields) == 2 and fields[0] == FIELD
              and isinstance(fields[1], bytes)):
            out.append([eid, _text(fields[1])])
        else:
            out.append([eid, f"malformed fields {fields!r}"[:200]])
    return out


def read_reply(key, raw):
    """XREADGROUP's reply for one key as [[id, job]] (nil: none), or None."""
    if raw is None:
        return []
    if (isinstance(raw, list) and len(raw) == 1 and isinstance(raw[0], list)
            and len(raw[0]) == 2 and raw[0][0] == key.encode()):
        return entries(raw[0][1])
    return None


def claim_reply(raw):
    """XAUTOCLAIM's reply as (next cursor, [[id, job]], [deleted id]), or None."""
    if not isinstance(raw, list) or len(raw) != 3 or not isinstance(raw[2], list):
        return None
    cursor, got, deleted = entry_id(raw[0]), entries(raw[1]), [entry_id(i) for i in raw[2]]
    if cursor is None or got is None or None in deleted:
        return None
    return cursor, got, deleted


def pending_reply(raw):
    """XPENDING's extended reply as [[id, consumer, deliveries]], or None."""
    if not isinstance(raw, list):
        return None
    out = []
    for p in raw:
        if not (isinstance(p, list) and len(p) == 4 and entry_id(p[0]) is not None
                and isinstance(p[1], bytes) and isinstance(p[3], int)):
            return None
        out.append([entry_id(p[0]), _text(p[1]), p[3]])
    return out


def pairs(raw):
    """A flat [name, value, ...] reply as a dict of the scalar values."""
    if not isinstance(raw, list) or len(raw) % 2:
        return None
    return {_text(k): _text(v) if isinstance(v, bytes) else v
            for k, v in zip(raw[::2], raw[1::2]) if v is None or isinstance(v, (bytes, int))}


def final_reply(replies):
    """The final read's five replies as its history fields, or None."""
    if any(isinstance(r, redis.ResponseError) for r in replies):
        return None
    got, stream, groups = entries(replies[0]), pairs(replies[1]), replies[2]
    summary, pending = replies[3], pending_reply(replies[4])
    groups = [pairs(g) for g in groups] if isinstance(groups, list) else None
    if (got is None or stream is None or groups is None or None in groups or pending is None
            or not isinstance(summary, list) or not summary or not isinstance(summary[0], int)):
        return None
    return {"entries": got, "stream": {k: v for k, v in stream.items() if k in STREAM_INFO},
            "groups": groups, "pending_count": summary[0], "pending": pending}


# -- clients -------------------------------------------------------------------------


class StreamClient(Client):
    """A producer or a consumer: state that lives across phases. As in the
    queue workload, -CLUSTERDOWN is an unknown outcome (a blocked
    XREADGROUP may hear it after its delivery was proposed)."""

    not_run = NOT_RUN_QUEUE


class Producer(StreamClient):
    def __init__(self, index, cluster, history, seed, n_procs, keys, delay_s=ADD_DELAY_S):
        super().__init__(f"stream-producer{index}", cluster, history,
                         random.Random(f"{seed}/stream-producer{index}"), index, n_procs)
        self.index = index
        self.keys = keys
        self.delay_s = delay_s
        self.seq = 0

    def step(self, slot):
        self.seq += 1
        key, job = self.rng.choice(self.keys), f"p{self.index}.{self.seq}"
        op = self.history.invoke(self.process, "add", key=key, job=job, node=slot.addr)
        if op is None:
            return self.delay_s
        typ, r = self.call(slot, ("XADD", key, "*", FIELD, job))
        if typ == "ok" and entry_id(r) is None:
            typ, r = "info", f"XADD reply {r!r}"[:200]
        if typ == "ok":
            self.history.complete(op, "ok", id=entry_id(r))
        else:
            self.history.complete(op, typ, error=r)
            if typ == "info":
                self.unknown()
        return self.rng.uniform(0.5, 1.5) * self.delay_s


class Consumer(StreamClient):
    socket_timeout_s = BLOCK_SOCKET_TIMEOUT_S

    def __init__(self, n, process, cluster, history, seed, n_procs, keys, min_idle_ms,
                 p_abandon_before_process=P_ABANDON_BEFORE_PROCESS,
                 p_abandon_before_ack=P_ABANDON_BEFORE_ACK):
        super().__init__(f"stream-consumer{n}", cluster, history,
                         random.Random(f"{seed}/stream-consumer{n}"), process, n_procs)
        self.cid = f"c{n}"
        self.keys = keys
        self.min_idle_ms = min_idle_ms
        self.p_abandon_before_process = p_abandon_before_process
        self.p_abandon_before_ack = p_abandon_before_ack
        self.holding = []      # (key, id) processed, not yet seen acknowledged, oldest first
        self.counts = None     # (key, first, last) of a claim whose delivery counts to read
        self.own = []          # [key, cursor] of its own pending entries still to read
        self.sweep = []        # [key, cursor] of the claim sweep in progress
        self.next_sweep = 0.0  # monotonic time of the next sweep
        self.turn = 0          # the key of the next read of new entries
        self.vanish_at = None  # monotonic time it stops for good (None: never)
        self.draining = False

    def busy(self):
        """True while it holds work: entries to ack, counts or history to read."""
        return bool(self.holding or self.counts or self.own)

    def step(self, slot):
        if self.vanish_at is not None and time.monotonic() >= self.vanish_at:
            return self.vanish()
        if self.counts:
            return self.read_counts(slot)
        if self.holding:
            return self.ack(slot)
        if self.own:
            return self.read(slot, self.own[0][0], self.own[0][1])
        if self.sweep or time.monotonic() >= self.next_sweep:
            return self.claim(slot)
        key = self.keys[self.turn % len(self.keys)]
        self.turn += 1
        return self.read(slot, key, ">")

    # -- what it does with entries -----------------------------------------------
    def handed(self, key, got, via):
        """got ([id, job], oldest first) is the consumer's: each processed,
        then acked - unless it crashes on purpose in between."""
        if not got:
            return
        ids = [eid for eid, _ in got]
        if not self.draining and self.rng.random() < self.p_abandon_before_process:
            return self.abandon(key, ids, f"simulated crash after the {via}, before processing")
        for eid, job in got:
            self.record("process", consumer=self.cid, key=key, id=eid, job=job, via=via)
        if not self.draining and self.rng.random() < self.p_abandon_before_ack:
            return self.abandon(key, ids, "simulated crash after processing, before the acks")
        self.holding += [(key, eid) for eid in ids]

    def abandon(self, key, ids, reason):
        self.record("abandon", consumer=self.cid, key=key, ids=ids, reason=reason)

    def vanish(self):
        """Stops for good: what it holds stays pending in its name."""
        for key in self.keys:
            ids = [eid for k, eid in self.holding if k == key]
            if ids:
                self.abandon(key, ids, "the consumer vanished before the acks")
        self.record("vanish", consumer=self.cid, reason="stops for good")
        self.holding, self.counts, self.own = [], None, []
        self.done = True
        return 0

    def restart(self, reason):
        """A new connection; half the time its own pending entries first."""
        self.record("restart", consumer=self.cid, reason=reason[:200])
        self.drop_conn()
        if self.rng.random() < P_READ_HISTORY:
            self.own = [[key, "0-0"] for key in self.keys]

    def failed(self, op, typ, why, restart_after=None):
        """Records op's failure or unknown outcome; after an unknown outcome
        of command restart_after, the consumer restarts. Returns the pause
        before the next step (no busy loop on a cluster without a leader)."""
        self.history.complete(op, typ, error=why)
        if typ == "info":
            self.unknown()
            if restart_after:
                self.restart(f"{restart_after} outcome unknown: {why}")
        return FAIL_PAUSE_S

    # -- commands --------------------------------------------------------------------
    def read(self, slot, key, start):
        """XREADGROUP from start: ">" new entries (blocking), an ID its own
        pending entries after it."""
        op = self.history.invoke(self.process, "read", key=key, consumer=self.cid, start=start,
                                 node=slot.addr)
        if op is None:
            return FAIL_PAUSE_S
        block = ("BLOCK", BLOCK_MS) if start == ">" else ()
        typ, r = self.call(slot, ("XREADGROUP", "GROUP", GROUP, self.cid, "COUNT", READ_COUNT,
                                  *block, "STREAMS", key, start))
        got = read_reply(key, r) if typ == "ok" else None
        if typ == "ok" and got is None:
            typ, r = "info", f"XREADGROUP reply {r!r}"[:200]
        if typ != "ok":
            return self.failed(op, typ, r, "XREADGROUP" if start == ">" else None)
        self.history.complete(op, "ok", entries=got)
        if start != ">":
            if got:
                self.own[0][1] = got[-1][0]
            else:
                self.own.pop(0)
        self.handed(key, got, "read" if start == ">" else "history read")
        return 0

    def claim(self, slot):
        """One XAUTOCLAIM of the sweep (a new sweep of every key when none is
        in progress)."""
        if not self.sweep:
            self.sweep = [[key, "0-0"] for key in self.keys]
            self.next_sweep = time.monotonic() + self.rng.uniform(0.5, 1.5) * CLAIM_EVERY_S
        key, cursor = self.sweep[0]
        min_idle = 0 if self.draining else self.min_idle_ms
        op = self.history.invoke(self.process, "claim", key=key, consumer=self.cid,
                                 min_idle_ms=min_idle, cursor=cursor, node=slot.addr)
        if op is None:
            return FAIL_PAUSE_S
        typ, r = self.call(slot, ("XAUTOCLAIM", key, GROUP, self.cid, min_idle, cursor,
                                  "COUNT", CLAIM_COUNT))
        parsed = claim_reply(r) if typ == "ok" else None
        if typ == "ok" and parsed is None:
            typ, r = "info", f"XAUTOCLAIM reply {r!r}"[:200]
        if typ != "ok":
            return self.failed(op, typ, r, "XAUTOCLAIM")
        nxt, got, deleted = parsed
        self.history.complete(op, "ok", entries=got, next=nxt, deleted=deleted)
        if nxt == "0-0":
            self.sweep.pop(0)
        else:
            self.sweep[0][1] = nxt
        if got:
            self.counts = (key, got[0][0], got[-1][0])
        self.handed(key, got, "claim")
        return 0

    def read_counts(self, slot):
        """XPENDING of the entries just claimed, in its own name."""
        key, first, last = self.counts
        op = self.history.invoke(self.process, "pending", key=key, consumer=self.cid,
                                 start=first, end=last, node=slot.addr)
        if op is None:
            return FAIL_PAUSE_S
        typ, r = self.call(slot, ("XPENDING", key, GROUP, first, last, CLAIM_COUNT, self.cid))
        got = pending_reply(r) if typ == "ok" else None
        if typ == "ok" and got is None:
            typ, r = "info", f"XPENDING reply {r!r}"[:200]
        if typ != "fail":  # else the same XPENDING again
            self.counts = None
        if typ != "ok":
            return self.failed(op, typ, r)
        self.history.complete(op, "ok", pending=got)
        return 0

    def ack(self, slot):
        key, eid = self.holding[0]
        op = self.history.invoke(self.process, "ack", key=key, consumer=self.cid, id=eid,
                                 node=slot.addr)
        if op is None:
            return FAIL_PAUSE_S
        typ, r = self.call(slot, ("XACK", key, GROUP, eid))
        if typ == "ok" and (isinstance(r, bool) or r not in (0, 1)):
            typ, r = "info", f"XACK reply {r!r}"[:200]
        if typ != "ok":
            return self.failed(op, typ, r)  # then the same XACK again: it is idempotent
        self.history.complete(op, "ok", acked=r)
        self.holding.pop(0)
        return 0


# -- the workload -------------------------------------------------------------------


class StreamWorkload:
    """The producers and consumers of one run, their history, the drain and
    the final reads. vanish_after_s: the last consumer vanishes this long
    after the first start (None: none does). readonly: the final reads send
    READONLY (a cluster's followers; a standalone redis-server refuses it)."""

    name = "stream"

    def __init__(self, cluster, seed, log=print, n_producers=N_PRODUCERS,
                 n_consumers=N_CONSUMERS, keys=KEYS, add_delay_s=ADD_DELAY_S,
                 min_idle_ms=MIN_IDLE_MS, vanish_after_s=None, readonly=True):
        self.cluster = cluster
        self.log = log
        self.keys = list(keys)
        self.readonly = readonly
        self.history = History()
        n = n_producers + n_consumers
        self.producers = [Producer(i, cluster, self.history, seed, n, self.keys, add_delay_s)
                          for i in range(n_producers)]
        self.consumers = [Consumer(c + 1, n_producers + c, cluster, self.history, seed, n,
                                   self.keys, min_idle_ms) for c in range(n_consumers)]
        self.vanish_after_s = vanish_after_s
        self.final_process = FINAL_PROCESS

    def clients(self):
        return self.producers + self.consumers

    def setup(self):
        """The group on every key (XGROUP CREATE ... MKSTREAM) on the leader;
        BUSYGROUP (created already, by an earlier try) counts as done."""
        for key in self.keys:
            r = "no leader"
            for _ in range(SETUP_TRIES):
                ld = self.cluster.leader()
                if ld is not None:
                    try:
                        r = raw_command(ld, ("XGROUP", "CREATE", key, GROUP, "0", "MKSTREAM"),
                                        SOCKET_TIMEOUT_S * 2)
                    except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
                        r = e
                    if r == b"OK" or (isinstance(r, redis.ResponseError)
                                      and error_code(r) == "BUSYGROUP"):
                        break
                time.sleep(0.5)
            else:
                raise HarnessError(f"XGROUP CREATE {key} {GROUP} 0 MKSTREAM: {r!r}"[:300])
        self.log(f"stream: group {GROUP!r} on {', '.join(self.keys)}")

    def start(self, stop):
        if self.vanish_after_s is not None and len(self.consumers) > 1:
            last = self.consumers[-1]
            if last.vanish_at is None and not last.done:
                last.vanish_at = time.monotonic() + self.vanish_after_s
        for c in self.clients():
            if not c.done:
                c.start(stop)

    def join(self, clients=None):
        """Waits for the clients' threads (stop already set)."""
        join_clients(self.clients() if clients is None else clients,
                     BLOCK_SOCKET_TIMEOUT_S + 5, "stream")

    def errors(self):
        return [f"{c.name}: {c.error}" for c in self.clients() if c.error]

    # -- after healing ---------------------------------------------------------------
    def drain(self, quiet_s=DRAIN_QUIET_S, timeout_s=DRAIN_TIMEOUT_S):
        """The consumers that did not vanish run again (claims with min-idle
        0, no crashes) until, on every key, nothing is pending and the group
        delivered up to the last ID, unchanged for quiet_s and with no
        consumer holding work; or timeout_s passes. Returns (drained, detail)."""
        stop = threading.Event()
        live = [c for c in self.consumers if not c.done]
        for c in live:
            c.draining = True
            c.vanish_at = None
            c.next_sweep = 0.0
            c.start(stop)
        deadline = time.monotonic() + timeout_s
        quiet_since, seen, last = None, None, "not checked"
        try:
            while time.monotonic() < deadline:
                state = self.group_state()
                busy = [c.name for c in live if c.busy()]
                settled = state is not None and all(
                    pending == 0 and delivered == top for top, delivered, pending in state.values())
                if state is None:
                    quiet_since, last = None, "no leader answered XINFO"
                elif not settled or busy or state != seen:
                    quiet_since = None
                    last = f"{state} (last ID, last delivered, pending), busy: {busy or 'none'}"
                else:
                    now = time.monotonic()
                    quiet_since = quiet_since or now
                    if now - quiet_since >= quiet_s:
                        return True, f"nothing pending, everything delivered for {quiet_s:g}s"
                seen = state
                if any(c.error for c in live):
                    break
                time.sleep(0.25)
            return False, f"not drained within {timeout_s:g}s: {last}"
        finally:
            stop.set()
            self.join(live)

    def group_state(self):
        """{key: (last-generated-id, the group's last-delivered-id, pending)}
        read on the leader; None if it does not answer."""
        ld = self.cluster.leader()
        if ld is None:
            return None
        cmds = [c for key in self.keys for c in (("XINFO", "STREAM", key), ("XINFO", "GROUPS", key))]
        try:
            replies = raw_round_trip(ld, cmds, SOCKET_TIMEOUT_S * 2)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return None
        out = {}
        for key, info, groups in zip(self.keys, replies[::2], replies[1::2]):
            info = pairs(info)
            group = next((g for g in map(pairs, groups if isinstance(groups, list) else [])
                          if g and g.get("name") == GROUP), None)
            if info is None or group is None:
                return None
            out[key] = (info.get("last-generated-id"), group.get("last-delivered-id"),
                        group.get("pending"))
        return out

    def final_reads(self, phase, timeout_s=60):
        """Every key read on every member, on its own data, each retried
        until ok; returns the "key on node" not read in time."""
        todo = [(slot, key) for slot in self.cluster.member_slots() for key in self.keys]
        deadline = time.monotonic() + timeout_s
        while todo and time.monotonic() < deadline:
            slot, key = todo.pop(0)
            op = self.history.invoke(self.final_process, "final-read", final=True, key=key,
                                     node=slot.addr, phase=phase)
            cmds = [("XRANGE", key, "-", "+"), ("XINFO", "STREAM", key), ("XINFO", "GROUPS", key),
                    ("XPENDING", key, GROUP), ("XPENDING", key, GROUP, "-", "+", FINAL_PENDING_MAX)]
            try:
                replies = raw_round_trip(slot, cmds, SOCKET_TIMEOUT_S * 5, readonly=self.readonly)
                fields = final_reply(replies)
            except (redis.RedisError, OSError) as e:  # READONLY refused included
                replies, fields = [e], None
            if fields is not None:
                self.history.complete(op, "ok", **fields)
                continue
            err = next((r for r in replies if isinstance(r, Exception)), None)
            code = error_code(err) if isinstance(err, redis.ResponseError) else None
            self.history.complete(op, "fail" if code in NOT_RUN else "info",
                                  error=repr(err if err is not None else replies)[:200])
            if code not in NOT_RUN:
                self.final_process += 1
            todo.append((slot, key))
            time.sleep(0.1)
        unread = [f"{key} on {slot.addr}" for slot, key in todo]
        if unread:
            self.log(f"stream final reads ({phase}): could not read {unread} within {timeout_s}s")
        return unread
