"""The cache workload of a chaos run: a cache under maxmemory, recorded as a
history for cache_checker.py.

Every node runs with maxmemory and maxmemory-policy volatile-lru (setup():
CONFIG SET on every member, and the same directives on the command line of
every node started later - a restart loses CONFIG SET). Only this
workload's keys carry a TTL (SET ... EX TTL_S, far beyond any run), so
they are the only keys the leader may evict: the register/KV and queue
workloads' keys (no TTL) are never evicted, and their checkers never see
this workload's keys (prefix "cache:"). maxmemory is the highest
used_memory of the members at setup plus HEADROOM_BYTES: a few MB, which
the clients' writes (VALUE_BYTES each) fill within the first part of the
fault window, so eviction runs under the faults.

N_CLIENTS threads, each a sequence of processes as in workload.py (a new
one after an outcome it cannot know), repeat a random op (OP_MIX):
  write-new   SET cache:u<c>.<seq> value EX TTL_S: a key written once
              (version 1);
  write-ver   SET of the client's own versioned key cache:v<c>.<gen> with
              its next version (1, 2, ...; one write at a time); after a
              write of unknown outcome the client leaves that key for
              cache:v<c>.<gen+1> (cache_checker.py's contract: an unknown
              write may take effect late, so it must be a key's last);
  read-recent GET of one of the RECENT last write-once keys (mostly hits);
  read-any    GET of any write-once key written so far (mostly nil once
              eviction runs);
  read-ver    GET of any versioned key.
A value is "v:<key>:<version>|" padded to VALUE_BYTES with a filler derived
from that head; a read records the head when the bytes are exactly that,
anything else as "corrupt (...)" (checked as a wrong value). Replies are
sorted as workload.py sorts them (-MOVED followed, -MOVED, -CLUSTERDOWN,
-NOCLUSTER, -TRYAGAIN, -LOADING, -EXECABORT, no connection: "fail"; socket
errors after sending and anything unexpected: "info"), plus -OOM (refused
before anything is proposed): "fail".

After healing (after_heal(), run.py): the evicted_keys every member counted
under the faults are read (each process counts what it applied since it
started, so they differ after restarts and snapshot installs); then
CONFIG RESETSTAT on every member while no entry is applied (the members'
applied index the same before and after, else again), a fill client writes
new keys until the leader applied at least FILL_EVICTIONS evictions, the
cluster converges (every node the same digest, cache keys included), and
every member's evicted_keys, read on READONLY connections at one applied
index, must be equal (they applied the same entries since the reset) and
> 0. final_reads() reads every key written, with MGET on the leader,
after healing and again after the final restart.

The history format is cache_checker.py's (docstring there).
"""

import random
import threading
import time

import redis

from cluster import HarnessError
from queue_workload import raw_command
from workload import NOT_RUN, SOCKET_TIMEOUT_S, Client, History, error_code, join_clients, text

PREFIX = "cache:"
POLICY = "volatile-lru"
TTL_S = 100000                  # the cache keys' TTL: none expires during a run
VALUE_BYTES = 2048
HEADROOM_BYTES = 6 << 20        # maxmemory above the members' used_memory at setup
N_CLIENTS = 3
OP_DELAY_S = 0.01               # pause between one client's ops (rate limit)
FAIL_PAUSE_S = 0.05
RECENT = 200
OP_MIX = [("write-new", 45), ("write-ver", 12), ("read-recent", 18), ("read-any", 13),
          ("read-ver", 12)]
NOT_RUN_CACHE = NOT_RUN + ("OOM",)
FILL_EVICTIONS = 100            # evictions the fill after healing waits for
FILL_TIMEOUT_S = 60.0
RESET_TRIES = 20
FINAL_BATCH = 500               # keys per MGET of the final reads
FINAL_PROCESS = 300000          # process ids of the final reads
FILL_PROCESS = 400000           # process ids of the fill client


def value_of(head):
    """The bytes a write stores for head "v:<key>:<version>"."""
    filler = (head + ";") * (VALUE_BYTES // (len(head) + 1) + 1)
    return (head + "|" + filler)[:max(VALUE_BYTES, len(head) + 1)]


def decode(raw):
    """A read value as the history records it: its head if the bytes are
    exactly what a write of that head stores, else a description."""
    if raw is None:
        return None
    s = text(raw) if isinstance(raw, bytes) and _utf8(raw) else None
    if s is not None:
        head = s.split("|", 1)[0]
        if value_of(head) == s:
            return head
    return "corrupt (%d bytes): %r" % (len(raw), raw[:100])


def _utf8(raw):
    try:
        raw.decode()
        return True
    except UnicodeDecodeError:
        return False


class Keys:
    """The keys the clients wrote so far, shared by their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.once = []        # write-once keys, in invoke order
        self.versioned = []   # versioned keys

    def add(self, key, versioned):
        with self.lock:
            (self.versioned if versioned else self.once).append(key)

    def pick(self, rng, which):
        with self.lock:
            if which == "read-ver":
                pool = self.versioned
            elif which == "read-recent":
                pool = self.once[-RECENT:]
            else:
                pool = self.once
            return rng.choice(pool) if pool else None

    def all(self):
        with self.lock:
            return sorted(set(self.once) | set(self.versioned))


class CacheClient(Client):
    not_run = NOT_RUN_CACHE

    def __init__(self, cid, process, cluster, history, keys, seed, n_procs, fill=False):
        super().__init__(f"cache{cid}", cluster, history, random.Random(f"{seed}/cache{cid}"),
                         process, n_procs)
        self.cid = cid
        self.keys = keys
        self.fill = fill
        self.seq = 0
        self.gen = 0
        self.version = 0   # of the current versioned key: the last one written

    def vkey(self):
        return f"{PREFIX}v{self.cid}.{self.gen}"

    def step(self, slot):
        f = "write-new" if self.fill else self.rng.choices(
            [m[0] for m in OP_MIX], [m[1] for m in OP_MIX])[0]
        if f == "write-new":
            self.seq += 1
            return self.write(slot, f"{PREFIX}u{self.cid}.{self.seq}", 1, False)
        if f == "write-ver":
            return self.write(slot, self.vkey(), self.version + 1, True)
        key = self.keys.pick(self.rng, f)
        return self.read(slot, key) if key is not None else 0

    def write(self, slot, key, version, versioned):
        op = self.history.invoke(self.process, "write", key=key, version=version,
                                 node=slot.addr)
        if op is None:
            return FAIL_PAUSE_S
        if version == 1:
            self.keys.add(key, versioned)
        typ, r = self.call(slot, ("SET", key, value_of(f"v:{key}:{version}"), "EX", TTL_S))
        if typ == "ok" and r not in (b"OK", "OK"):
            typ, r = "info", f"SET reply {r!r}"[:200]
        self.history.complete(op, typ, **({} if typ == "ok" else {"error": r}))
        if versioned:
            self.version = version
            if typ == "info":  # the key's last write: the next one goes to a new key
                self.gen += 1
                self.version = 0
        if typ == "info":
            self.unknown()
        return FAIL_PAUSE_S if typ == "fail" else self.pause()

    def read(self, slot, key):
        op = self.history.invoke(self.process, "read", key=key, node=slot.addr)
        if op is None:
            return FAIL_PAUSE_S
        typ, r = self.call(slot, ("GET", key))
        if typ == "ok" and not (r is None or isinstance(r, bytes)):
            typ, r = "info", f"GET reply {r!r}"[:200]
        if typ == "ok":
            self.history.complete(op, "ok", value=decode(r))
        else:
            self.history.complete(op, typ, error=r)
            if typ == "info":
                self.unknown()
        return FAIL_PAUSE_S if typ == "fail" else self.pause()

    def pause(self):
        return 0 if self.fill else self.rng.uniform(0.5, 1.5) * OP_DELAY_S


class CacheWorkload:
    """The cache clients of one run, their history, and the checks on the
    nodes' eviction counters."""

    name = "cache"

    def __init__(self, cluster, seed, log=print, n_clients=N_CLIENTS):
        self.cluster = cluster
        self.seed = seed
        self.log = log
        self.history = History()
        self.keys = Keys()
        self.cache_clients = [CacheClient(i, i, cluster, self.history, self.keys, seed, n_clients)
                              for i in range(n_clients)]
        self.maxmemory = None
        self.used_at_setup = {}

    # -- setup ---------------------------------------------------------------------
    def setup(self):
        """maxmemory and the policy on every member (CONFIG SET), and on the
        command line of every node started from now on."""
        members = self.cluster.member_slots()
        for s in members:
            info = self.info(s, "memory")
            self.used_at_setup[repr(s)] = int(info["used_memory"])
        self.maxmemory = max(self.used_at_setup.values()) + HEADROOM_BYTES
        directives = [("maxmemory-policy", POLICY), ("maxmemory", str(self.maxmemory))]
        for s in members:
            for name, value in directives:
                r = s.command("CONFIG", "SET", name, value)
                if r not in (b"OK", "OK", True):
                    raise HarnessError(f"CONFIG SET {name} {value} on {s}: {r!r}")
        self.cluster.extra_directives += directives
        self.log(f"cache: maxmemory {self.maxmemory} ({POLICY}) on every node; used_memory "
                 f"at setup {self.used_at_setup}")

    def info(self, slot, section, tries=3):
        """INFO section of slot as a dict, redis-py's parse (READONLY connection)."""
        for attempt in range(tries):
            try:
                with slot.client(readonly=True) as c:
                    return c.info(section)
            except redis.RedisError as e:
                if attempt == tries - 1:
                    raise HarnessError(f"INFO {section} on {slot}: {e!r}") from None
                time.sleep(0.5)

    # -- the fault window --------------------------------------------------------------
    def clients(self):
        return list(self.cache_clients)

    def start(self, stop):
        for c in self.cache_clients:
            c.start(stop)

    def join(self, clients=None):
        join_clients(self.cache_clients if clients is None else clients, SOCKET_TIMEOUT_S + 5,
                     "cache")

    def errors(self):
        return [f"{c.name}: {c.error}" for c in self.cache_clients if c.error]

    # -- after healing ---------------------------------------------------------------
    def counters(self):
        """{member repr: (last_applied_index, evicted_keys)}, read on each
        member's own connections (RAFT.INFO, INFO stats on READONLY)."""
        out = {}
        for s in self.cluster.member_slots():
            raft = s.raft_info()
            if raft is None:
                raise HarnessError(f"{s} does not answer RAFT.INFO")
            out[repr(s)] = (raft.get("last_applied_index"),
                            int(self.info(s, "stats")["evicted_keys"]))
        return out

    def at_one_index(self, tries=RESET_TRIES):
        """counters() read while every member had applied the same index (and
        still had after the reads); None if that never happened."""
        for _ in range(tries):
            before = self.counters()
            after = self.counters()
            indexes = {a for a, _ in before.values()} | {a for a, _ in after.values()}
            if len(indexes) == 1 and before == after:
                return {k: n for k, (_, n) in after.items()}
            time.sleep(0.2)
        return None

    def reset_stats(self):
        """CONFIG RESETSTAT on every member at one applied index; True once
        done (no entry applied anywhere in between)."""
        for _ in range(RESET_TRIES):
            before = self.counters()
            for s in self.cluster.member_slots():
                r = s.command("CONFIG", "RESETSTAT")
                if r not in (b"OK", "OK", True):
                    raise HarnessError(f"CONFIG RESETSTAT on {s}: {r!r}")
            after = self.counters()
            indexes = {a for a, _ in before.values()} | {a for a, _ in after.values()}
            if len(indexes) == 1 and all(n == 0 for _, n in after.values()):
                return True
            time.sleep(0.2)
        return False

    def fill(self, timeout_s=FILL_TIMEOUT_S):
        """A client writes new keys until the leader applied FILL_EVICTIONS
        evictions (counted since the reset); returns that count."""
        stop = threading.Event()
        filler = CacheClient("f", FILL_PROCESS, self.cluster, self.history, self.keys,
                             self.seed, 1, fill=True)
        filler.start(stop)
        deadline = time.monotonic() + timeout_s
        evicted = 0
        try:
            while time.monotonic() < deadline and filler.is_alive():
                ld = self.cluster.leader()
                if ld is not None:
                    evicted = int(self.info(ld, "stats")["evicted_keys"])
                    if evicted >= FILL_EVICTIONS:
                        break
                time.sleep(0.2)
        finally:
            stop.set()
            self.join([filler])
        if filler.error:
            raise HarnessError(f"cache fill client: {filler.error}")
        return evicted

    def after_heal(self):
        """The eviction check on the healed, converged cluster. Returns
        (failures, figures): failures a list of findings."""
        under = self.at_one_index()
        if under is None:
            under = {k: n for k, (_, n) in self.counters().items()}
        figures = {"evicted_under_faults": under}
        self.log(f"cache: evicted_keys under the faults (each process since its start): "
                 f"{figures['evicted_under_faults']}")
        if not self.reset_stats():
            return ["cache: CONFIG RESETSTAT could not be done at one applied index"], figures
        figures["fill_leader_evicted"] = self.fill()
        self.history.close()  # the clients are done; only final reads from here
        ok, detail = self.cluster.wait_converged(60)
        figures["converged_after_fill"] = f"{'yes' if ok else 'NO'}: {detail}"
        self.log(f"cache: convergence after the fill: {figures['converged_after_fill']}")
        if not ok:
            return ["cache: nodes did not converge after the fill"], figures
        counts = self.at_one_index()
        figures["evicted_after_reset"] = counts
        self.log(f"cache: evicted_keys since the reset, at one applied index: {counts}")
        if counts is None:
            return ["cache: the members never stood at one applied index"], figures
        if len(set(counts.values())) != 1:
            return [f"cache: evicted_keys differ between the members: {counts}"], figures
        if not any(counts.values()):
            return ["cache: no key was evicted after the reset (maxmemory never reached)"], \
                figures
        return [], figures

    def final_reads(self, phase, timeout_s=60):
        """MGET of every key written, in batches, on the leader, each batch
        retried until ok; returns the number of keys not read in time."""
        pending = self.keys.all()
        batches = [pending[i:i + FINAL_BATCH] for i in range(0, len(pending), FINAL_BATCH)]
        process = FINAL_PROCESS
        deadline = time.monotonic() + timeout_s
        target = None
        while batches and time.monotonic() < deadline:
            members = self.cluster.member_slots()
            if target not in members:
                target = self.cluster.leader() or (members[0] if members else None)
            if target is None:
                time.sleep(0.2)
                continue
            batch = batches[0]
            op = self.history.invoke(process, "read", final=True, keys=batch, phase=phase,
                                     node=target.addr)
            try:
                v = raw_command(target, ("MGET", *batch), SOCKET_TIMEOUT_S * 5)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
                self.history.complete(op, "info", error=f"{type(e).__name__}: {e}")
                process += 1
                target = None
                time.sleep(0.1)
                continue
            if not isinstance(v, list) or len(v) != len(batch):
                code = error_code(v) if isinstance(v, redis.ResponseError) else "?"
                self.history.complete(op, "fail" if code in NOT_RUN else "info",
                                      error=str(v)[:200])
                if code not in NOT_RUN:
                    process += 1
                parts = str(v).split()
                target = (self.cluster.slot_by_addr(parts[2])
                          if code == "MOVED" and len(parts) > 2 else None)
                time.sleep(0.1)
                continue
            self.history.complete(op, "ok", values=[decode(x) for x in v])
            batches.pop(0)
        left = sum(len(b) for b in batches)
        if left:
            self.log(f"cache final reads ({phase}): {left} keys not read within {timeout_s}s")
        return left
