"""The queue workload of a chaos run: a reliable queue on lists, recorded
as a history for queue_checker.py.

Producers LPUSH unique job ids ("p<producer>.<seq>") onto the pending list.
Each consumer c owns a processing list and repeats: BLMOVE pending -> its
list RIGHT LEFT with a 1 s timeout (so a dead or cut-off node is noticed),
record the job done (a "done" event: the job's result), then LREM its list
1 job (the ack). After an error whose outcome it cannot know - a BLMOVE or
LREM answered -TIMEOUT, -UNBLOCKED or -CLUSTERDOWN, a socket timeout, a
connection lost after sending, any unexpected reply - the consumer restarts
(a "restart" event, a new connection): before taking anything new it reads
its own processing list (LRANGE, a "recover") and takes every job there as
handed to it again: done, then ack. This is Redis's reliable-queue pattern:
what a consumer received but did not see acknowledged stays in its list.
To exercise the other half of the pattern, a consumer also "crashes" on its
own now and then (3%): after a hand-over, before recording the job; or
after recording it, before the ack.

Replies are sorted as the register/KV workload sorts them (workload.py):
-MOVED, -NOCLUSTER, -TRYAGAIN, -LOADING and a refused connect mean "not
run": the op fails, -MOVED makes the named leader the next target, the
others move to another member. -TIMEOUT, -UNBLOCKED, -CLUSTERDOWN (a
blocked BLMOVE may hear it after proposing its move), connection errors
after sending and anything unexpected are "outcome unknown" (info). A
producer does not retry a push: the next push has a new id. After an info
the client continues as a new process (id + number of clients).

Keys carry the hash tag {q} (one slot, as a sharded server would need):
{q}:pending and {q}:processing:<c>.

At the end (run.py, after healing): drain() starts the consumers again,
BLMOVE answering nil also making a consumer look at its own list (a BLMOVE
of unknown outcome may commit late), until the pending list and every
processing list have stayed empty for a few seconds (LLEN on the leader,
not recorded) or a deadline passes; final_reads() then reads every list
once on the leader ("final-read" events, checked empty).

The history format is queue_checker.py's (docstring there).
"""

import random
import threading
import time

import redis
from redis.connection import Connection

from cluster import HarnessError, readonly_connect
from workload import (NOT_RUN, SOCKET_TIMEOUT_S, Client, History, error_code, join_clients,
                      round_trip, text)

PENDING = "{q}:pending"
# Errors after which a queue command certainly did not run (-MOVED aside,
# which is followed). Unlike the register/KV workload, -CLUSTERDOWN is not
# one: a BLMOVE that blocked may hear it once its move is proposed.
NOT_RUN_QUEUE = ("NOCLUSTER", "TRYAGAIN", "LOADING")
QUEUE_COMMANDS = ("LPUSH", "BLMOVE", "LREM", "LRANGE", "LLEN")
BLOCK_TIMEOUT_S = 1                          # BLMOVE's own timeout
BLOCK_SOCKET_TIMEOUT_S = BLOCK_TIMEOUT_S + 2  # a consumer's socket timeout: beyond it
N_PRODUCERS = 2
N_CONSUMERS = 3
PUSH_DELAY_S = 0.1          # pause between one producer's pushes
FAIL_PAUSE_S = 0.05         # pause after a refused command
P_CRASH_BEFORE_DONE = 0.03  # a consumer crashes after a hand-over, before recording the job
P_CRASH_BEFORE_ACK = 0.03   # ... after recording it, before its ack
DRAIN_QUIET_S = 3.0         # every list empty this long: drained
DRAIN_TIMEOUT_S = 60.0
FINAL_PROCESS = 200000      # process ids of the final reads


def processing_key(consumer):
    return "{q}:processing:%s" % consumer


class QueueClient(Client):
    """A producer or a consumer: state that lives across phases (the
    consumer's jobs in hand survive from the faults to the drain). Unlike
    the register/KV workload, -CLUSTERDOWN is an unknown outcome here."""

    not_run = NOT_RUN_QUEUE


class Producer(QueueClient):
    def __init__(self, index, cluster, history, seed, n_procs, delay_s=PUSH_DELAY_S):
        super().__init__(f"producer{index}", cluster, history,
                         random.Random(f"{seed}/producer{index}"), index, n_procs)
        self.index = index
        self.delay_s = delay_s
        self.seq = 0

    def step(self, slot):
        self.seq += 1
        job = f"p{self.index}.{self.seq}"
        op = self.history.invoke(self.process, "push", job=job, node=slot.addr)
        if op is None:
            return self.delay_s
        typ, r = self.call(slot, ("LPUSH", PENDING, job))
        if typ == "ok" and (isinstance(r, bool) or not isinstance(r, int)):
            typ, r = "info", f"LPUSH reply {r!r}"
        self.history.complete(op, typ, **({} if typ == "ok" else {"error": r}))
        if typ == "info":
            self.unknown()
        return self.rng.uniform(0.5, 1.5) * self.delay_s


class Consumer(QueueClient):
    socket_timeout_s = BLOCK_SOCKET_TIMEOUT_S

    def __init__(self, cid, process, cluster, history, seed, n_procs,
                 p_crash_before_done=P_CRASH_BEFORE_DONE, p_crash_before_ack=P_CRASH_BEFORE_ACK):
        super().__init__(f"consumer{cid}", cluster, history,
                         random.Random(f"{seed}/consumer{cid}"), process, n_procs)
        self.cid = cid
        self.key = processing_key(cid)
        self.holding = []           # jobs recorded done, not yet acked (oldest first)
        self.needs_recovery = False  # restarted: read its own list before taking more
        self.draining = False
        self.p_crash_before_done = p_crash_before_done
        self.p_crash_before_ack = p_crash_before_ack

    def step(self, slot):
        if self.needs_recovery:
            return self.recover(slot)
        if self.holding:
            return self.ack(slot)
        return self.take(slot)

    def restart(self, reason):
        """The consumer starts over: a new connection, nothing in hand, its
        own list to read first."""
        self.record("restart", consumer=self.cid, reason=reason)
        self.drop_conn()
        self.holding = []
        self.needs_recovery = True

    def handed(self, jobs, via):
        """jobs (oldest first) are the consumer's: record each done, then
        ack them one by one - unless it "crashes" in between."""
        if self.rng.random() < self.p_crash_before_done:
            return self.restart(f"simulated crash after the {via}, before recording "
                                f"{len(jobs)} job(s)")
        for job in jobs:
            self.record("done", consumer=self.cid, job=job, via=via)
        if self.rng.random() < self.p_crash_before_ack:
            return self.restart(f"simulated crash after recording {len(jobs)} job(s), "
                                f"before the ack")
        self.holding = list(jobs)
        return None

    def take(self, slot):
        op = self.history.invoke(self.process, "take", consumer=self.cid, node=slot.addr)
        if op is None:
            return FAIL_PAUSE_S
        typ, r = self.call(slot, ("BLMOVE", PENDING, self.key, "RIGHT", "LEFT", BLOCK_TIMEOUT_S))
        if typ == "ok" and not (r is None or isinstance(r, (bytes, str))):
            typ, r = "info", f"BLMOVE reply {r!r}"
        if typ == "fail":
            self.history.complete(op, "fail", error=r)
            return FAIL_PAUSE_S
        if typ == "info":
            self.history.complete(op, "info", error=r)
            self.unknown()
            self.restart(f"BLMOVE outcome unknown: {r}"[:200])
            return 0
        if r is None:
            self.history.complete(op, "ok", job=None)
            if self.draining:
                self.needs_recovery = True  # a BLMOVE of unknown outcome may have committed late
            return 0
        job = text(r)
        self.history.complete(op, "ok", job=job)
        self.handed([job], "take")
        return 0

    def recover(self, slot):
        op = self.history.invoke(self.process, "recover", consumer=self.cid, list=self.key,
                                 node=slot.addr)
        if op is None:
            return FAIL_PAUSE_S
        typ, r = self.call(slot, ("LRANGE", self.key, 0, -1))
        if typ == "ok" and not (isinstance(r, list) and all(isinstance(x, (bytes, str)) for x in r)):
            typ, r = "info", f"LRANGE reply {r!r}"[:200]
        if typ != "ok":
            self.history.complete(op, typ, error=r)
            if typ == "info":
                self.unknown()
            return FAIL_PAUSE_S
        jobs = [text(x) for x in r]  # head first: the newest first
        self.history.complete(op, "ok", jobs=jobs)
        self.needs_recovery = False
        if jobs:
            self.handed(list(reversed(jobs)), "recover")
        return 0

    def ack(self, slot):
        job = self.holding[0]
        op = self.history.invoke(self.process, "ack", consumer=self.cid, job=job, node=slot.addr)
        if op is None:
            return FAIL_PAUSE_S
        typ, r = self.call(slot, ("LREM", self.key, 1, job))
        if typ == "ok" and (isinstance(r, bool) or not isinstance(r, int)):
            typ, r = "info", f"LREM reply {r!r}"
        if typ == "ok":
            self.history.complete(op, "ok", removed=r)
            self.holding.pop(0)
            return 0
        self.history.complete(op, typ, error=r)
        if typ == "fail":
            return FAIL_PAUSE_S  # certainly not run: the same ack again, at the new target
        self.unknown()
        self.restart(f"LREM outcome unknown: {r}"[:200])
        return 0


class QueueWorkload:
    """The producers and consumers of one run and their history."""

    name = "queue"

    def __init__(self, cluster, seed, n_producers=N_PRODUCERS, n_consumers=N_CONSUMERS,
                 push_delay_s=PUSH_DELAY_S, log=print):
        self.cluster = cluster
        self.log = log
        self.history = History()
        n = n_producers + n_consumers
        self.producers = [Producer(i, cluster, self.history, seed, n, push_delay_s)
                          for i in range(n_producers)]
        self.consumers = [Consumer(c + 1, n_producers + c, cluster, self.history, seed, n)
                          for c in range(n_consumers)]
        self.final_process = FINAL_PROCESS

    def clients(self):
        return self.producers + self.consumers

    def start(self, stop):
        for c in self.clients():
            c.start(stop)

    def join(self, clients=None):
        """Waits for the clients' threads (stop already set)."""
        join_clients(self.clients() if clients is None else clients,
                     BLOCK_SOCKET_TIMEOUT_S + 5, "queue")

    def errors(self):
        return [f"{c.name}: {c.error}" for c in self.clients() if c.error]

    def drain(self, quiet_s=DRAIN_QUIET_S, timeout_s=DRAIN_TIMEOUT_S):
        """Consumers run again until every list stayed empty for quiet_s
        (and none holds a job), or timeout_s passes. Returns (drained, detail)."""
        stop = threading.Event()
        for c in self.consumers:
            c.draining = True
            c.start(stop)
        deadline = time.monotonic() + timeout_s
        quiet_since, last = None, "not checked"
        try:
            while time.monotonic() < deadline:
                lens = self.list_lengths()
                holding = [c.name for c in self.consumers if c.holding]
                if lens is None:
                    quiet_since, last = None, "no leader answered LLEN"
                elif any(lens.values()) or holding:
                    quiet_since = None
                    last = "lengths %s, holding jobs: %s" % (
                        {k: v for k, v in lens.items() if v} or "all 0", holding or "none")
                else:
                    now = time.monotonic()
                    quiet_since = quiet_since or now
                    if now - quiet_since >= quiet_s:
                        return True, f"every list empty for {quiet_s:g}s"
                if any(c.error for c in self.consumers):
                    break
                time.sleep(0.25)
            return False, f"not drained within {timeout_s:g}s: {last}"
        finally:
            stop.set()
            self.join(self.consumers)

    def lists(self):
        """(consumer or None, key) of every list, the pending list first."""
        return [(None, PENDING)] + [(c.cid, c.key) for c in self.consumers]

    def final_reads(self, phase, timeout_s=60):
        """LRANGE of every list on the leader, each retried until ok; the
        lists that could not be read in time."""
        pending = self.lists()
        deadline = time.monotonic() + timeout_s
        target = None
        while pending and time.monotonic() < deadline:
            members = self.cluster.member_slots()
            if target not in members:
                target = self.cluster.leader() or (members[0] if members else None)
            if target is None:
                time.sleep(0.2)
                continue
            cid, key = pending[0]
            op = self.history.invoke(self.final_process, "final-read", final=True, list=key,
                                     consumer=cid, phase=phase, node=target.addr)
            try:
                v = self.command(target, ("LRANGE", key, 0, -1))
            except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
                self.history.complete(op, "info", error=f"{type(e).__name__}: {e}")
                self.final_process += 1
                target = None
                time.sleep(0.1)
                continue
            if isinstance(v, redis.ResponseError) or not isinstance(v, list):
                code = error_code(v) if isinstance(v, redis.ResponseError) else "?"
                self.history.complete(op, "fail" if code in NOT_RUN else "info",
                                      error=str(v)[:200])
                if code not in NOT_RUN:
                    self.final_process += 1
                parts = str(v).split()
                target = (self.cluster.slot_by_addr(parts[2])
                          if code == "MOVED" and len(parts) > 2 else None)
                time.sleep(0.1)
                continue
            self.history.complete(op, "ok", jobs=[text(x) for x in v])
            pending.pop(0)
        if pending:
            self.log(f"queue final reads ({phase}): could not read "
                     f"{[k for _, k in pending]} within {timeout_s}s")
        return [k for _, k in pending]

    def list_lengths(self):
        """{key: LLEN} of the pending list, then every processing list, read
        on the leader (in that order: a job moves pending -> processing ->
        gone, so one still held is seen); None if no leader answers."""
        ld = self.cluster.leader()
        if ld is None:
            return None
        out = {}
        for _, key in self.lists():
            try:
                n = self.command(ld, ("LLEN", key))
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                return None
            if isinstance(n, bool) or not isinstance(n, int):
                return None
            out[key] = n
        return out

    def command(self, slot, cmd):
        """One harness command (final reads, LLEN) on a fresh connection."""
        return raw_command(slot, cmd, SOCKET_TIMEOUT_S * 2)


def raw_command(slot, cmd, timeout_s):
    """One command on a fresh connection, without redis-py's reply
    callbacks; an error reply comes back as its ResponseError."""
    return raw_round_trip(slot, [cmd], timeout_s)[0]


def raw_round_trip(slot, cmds, timeout_s, readonly=False):
    """cmds as one pipeline on a fresh connection, as raw_command sends one;
    with readonly the connection sends READONLY first (a follower then
    answers reads from its own data)."""
    conn = Connection(host=slot.host, port=slot.port, socket_timeout=timeout_s,
                      socket_connect_timeout=min(timeout_s, 1),
                      redis_connect_func=readonly_connect if readonly else None)
    try:
        conn.connect()
        return round_trip(conn, cmds)
    finally:
        conn.disconnect()


def missing_commands(slot, timeout_s=5, commands=QUEUE_COMMANDS):
    """The commands (default QUEUE_COMMANDS) that slot's server does not know
    (COMMAND INFO answers nil for them). Raises HarnessError if it cannot ask."""
    try:
        r = raw_command(slot, ("COMMAND", "INFO", *commands), timeout_s)
    except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
        raise HarnessError(f"COMMAND INFO on {slot}: {type(e).__name__}: {e}") from None
    if not isinstance(r, list) or len(r) != len(commands):
        raise HarnessError(f"COMMAND INFO on {slot} answered {r!r}"[:300])
    return [name for name, info in zip(commands, r) if not info]
