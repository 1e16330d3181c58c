"""The raftcache processes of a chaos run, and what the harness asks them.

A *slot* is a place for one node: a network namespace, an address, a data
dir and a log file. The node running in a slot may change (a membership
change wipes the dir and starts a fresh node, possibly with a new id).
Slots 1..n start as the initial members (cluster-members naming them all);
spare slots start empty and are used by membership changes.

Owns: launching `ip netns exec NS build/raftcache ...` (own session, so a
terminal's Ctrl-C reaches only the harness), kill -9 / SIGSTOP / SIGCONT by
pid, noticing a node that exited without being killed (a crash), RAFT.INFO,
finding the leader and the configuration, and the end-of-run convergence
check (DEBUG DIGEST and the sets' member orders, read on READONLY
connections, as tests/integration does; a key-by-key read of every keyspace
only to describe a difference).
Every wait polls with a deadline; every client call has a socket timeout.

`members` is the set of slots clients may send to: a slot leaves it before
its node is removed and comes back once its fresh node is a voter, so no
client ever writes to a fresh node still running as a one-member cluster.
"""

import os
import shutil
import signal
import subprocess
import threading
import time

import redis

PORT = 7379
SECRET = "chaos-raft-secret"
RAFT_DIRECTIVES = [
    ("raft-election-timeout-ms", "500"),
    ("raft-heartbeat-ms", "50"),
    ("raft-snapshot-log-min-size", "256kb"),
    ("raft-snapshot-threshold", "1000"),
    # A small in-memory log: a leader reads entries back from disk for every
    # follower that fell a little behind, under every fault of the nemesis.
    ("raft-log-max-memory", "16kb"),
    ("loglevel", "notice"),
    # The harness's clients reach the nodes from the root namespace's bridge
    # address, not loopback, and send no password.
    ("protected-mode", "no"),
    # The convergence check compares the nodes' DEBUG DIGEST, asked from
    # there too.
    ("enable-debug-command", "yes"),
]
ADMIN_TIMEOUT_S = 2
DIGEST_BATCH = 500
LOG_TAIL_BYTES = 4000
START_MARK = b"===="  # opens the line the harness writes before each start


class HarnessError(Exception):
    """The harness could not do what it needed (not a finding about raftcache)."""


class NoLeader(Exception):
    """The healed cluster elects no leader: a finding, not a harness error."""


class WaitTimeout(HarnessError):
    """wait_until's deadline passed; callers that wait on the cluster (not
    on the harness) treat it as a finding."""


def wait_until(pred, timeout_s, interval_s=0.1, what="condition"):
    """Polls pred() until it returns a truthy value (returned). Raises
    HarnessError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)


def parse_info(text):
    info = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            k, v = line.split(":", 1)
            info[k] = v
    return info


def readonly_connect(conn):
    """redis-py connect hook: the usual handshake, then READONLY."""
    conn.on_connect()
    conn.send_command("READONLY")
    if conn.read_response() not in (b"OK", "OK"):
        raise redis.ConnectionError("READONLY refused")


class Slot:
    def __init__(self, index, ns, host, base_dir):
        self.index = index
        self.ns = ns
        self.host = host
        self.port = PORT
        self.node_id = None        # id of the node currently in this slot
        self.members_arg = None    # cluster-members the node was started with (None: fresh)
        self.dir = os.path.join(base_dir, "data", f"slot{index}")
        self.log_path = os.path.join(base_dir, "nodes", f"slot{index}.log")
        self.proc = None
        self.paused = False
        self.generation = 0        # bumped each time the dir is wiped

    def __repr__(self):
        return f"n{self.node_id}@s{self.index}"

    @property
    def addr(self):
        return f"{self.host}:{self.port}"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self, timeout_s=ADMIN_TIMEOUT_S, readonly=False):
        kw = {"redis_connect_func": readonly_connect} if readonly else {}
        return redis.Redis(host=self.host, port=self.port, socket_timeout=timeout_s,
                           socket_connect_timeout=min(timeout_s, 1), **kw)

    def raft_info(self, timeout_s=ADMIN_TIMEOUT_S):
        """RAFT.INFO as a dict, or None if the node does not answer."""
        if not self.running() or self.paused:
            return None
        try:
            with self.client(timeout_s) as c:
                raw = c.execute_command("RAFT.INFO")
        except redis.RedisError:
            return None
        return parse_info(raw.decode() if isinstance(raw, bytes) else raw)

    def command(self, *args, timeout_s=ADMIN_TIMEOUT_S):
        """One admin command; returns the reply or the ResponseError/other
        RedisError instance (never raises a RedisError)."""
        try:
            with self.client(timeout_s) as c:
                return c.execute_command(*args)
        except redis.RedisError as e:
            return e

    def server_digest(self):
        """(DEBUG DIGEST, DBSIZE) of the node's own keyspace (READONLY): Redis's
        digest of every stored key's name, type, value and TTL presence."""
        with self.client(timeout_s=10, readonly=True) as c:
            return c.execute_command("DEBUG", "DIGEST"), c.dbsize()

    def set_orders(self):
        """{key: SMEMBERS} of every set (READONLY): the set's own order, which
        SPOP draws from and replicas must agree on; the digest does not see
        it."""
        with self.client(timeout_s=10, readonly=True) as c:
            return {k: c.execute_command("SMEMBERS", k)
                    for k in sorted(set(c.scan_iter(count=1000, _type="set")))}

    def digest(self):
        """Sorted (key, value, has-ttl) of the node's own keyspace (READONLY);
        a value is read by its type (a hash's sorted items, a set's members
        in the set's own order, a sorted set's members with scores, a
        list's items in order). Pipelined, DIGEST_BATCH keys a round trip:
        the cache workload leaves thousands of keys."""
        rows = []
        with self.client(timeout_s=10, readonly=True) as c:
            keys = sorted(set(c.scan_iter(count=1000)))
            for i in range(0, len(keys), DIGEST_BATCH):
                batch = keys[i:i + DIGEST_BATCH]
                p = c.pipeline(transaction=False)
                for k in batch:
                    p.type(k)
                types = p.execute()
                p = c.pipeline(transaction=False)
                for k, typ in zip(batch, types):
                    if typ == b"hash":
                        p.hgetall(k)
                    elif typ == b"set":
                        p.execute_command("SMEMBERS", k)
                    elif typ == b"zset":
                        p.zrange(k, 0, -1, withscores=True)
                    elif typ == b"list":
                        p.lrange(k, 0, -1)
                    elif typ == b"none":
                        p.exists(k)  # gone meanwhile: a placeholder reply
                    else:
                        p.get(k)
                    p.pttl(k)
                replies = p.execute(raise_on_error=True)
                for j, (k, typ) in enumerate(zip(batch, types)):
                    raw, pttl = replies[2 * j], replies[2 * j + 1]
                    if typ == b"none" or pttl == -2:
                        continue
                    if typ == b"hash":
                        value = repr(sorted(raw.items()))
                    elif typ in (b"set", b"zset", b"list"):
                        value = repr(raw)
                    else:
                        # binary values too (the script workload's MessagePack)
                        value = raw.decode(errors="backslashreplace") if raw is not None else None
                    rows.append((k.decode(), value, pttl >= 0))
        return rows


def configuration(info):
    """{node_id: voting} from one node's RAFT.INFO (itself included)."""
    conf = {}
    if info.get("node_id"):
        conf[int(info["node_id"])] = info.get("is_voting") == "yes"
    for k, v in info.items():
        if k.startswith("node") and k[4:].isdigit():
            fields = dict(p.split("=", 1) for p in v.split(",") if "=" in p)
            conf[int(fields["id"])] = fields.get("voting") == "yes"
    return conf


class Cluster:
    def __init__(self, net, n_nodes, n_spare, base_dir, binary, log):
        self.net = net
        self.binary = binary
        self.log = log
        self.n_nodes = n_nodes
        self.slots = [Slot(i, net.ns(i), net.addr(i), base_dir)
                      for i in range(1, n_nodes + n_spare + 1)]
        self.next_id = n_nodes + 1
        self.lock = threading.Lock()
        self.members = set()        # slots clients may use (guarded by lock)
        self.crashes = []           # (time, slot repr, returncode, log tail)
        # (name, value) given to every node launched from now on, after
        # RAFT_DIRECTIVES (the cache workload's maxmemory and policy: a
        # restarted or fresh node starts with them, CONFIG SET does not last)
        self.extra_directives = []
        self._log_files = {}
        os.makedirs(os.path.join(base_dir, "nodes"), exist_ok=True)
        os.makedirs(os.path.join(base_dir, "data"), exist_ok=True)

    def slot(self, index):
        return self.slots[index - 1]

    # -- client view -------------------------------------------------------------
    def member_slots(self):
        with self.lock:
            return sorted(self.members, key=lambda s: s.index)

    def set_member(self, slot, on):
        with self.lock:
            (self.members.add if on else self.members.discard)(slot)

    def slot_by_addr(self, addr):
        for s in self.slots:
            if s.addr == addr:
                return s
        return None

    # -- processes ---------------------------------------------------------------
    def start_initial(self):
        first = self.slots[:self.n_nodes]
        members = [f"{i + 1}={s.addr}" for i, s in enumerate(first)]
        for i, s in enumerate(first):
            s.node_id = i + 1
            s.members_arg = members
            self.launch(s)
            self.set_member(s, True)
        for s in first:
            if not self.wait_ping(s):
                raise HarnessError(f"{s} exited with status {s.proc.returncode} at start\n"
                                   f"{self.log_tail(s)}")

    def launch(self, s):
        """Starts the node of slot s (its id, dir and cluster-members as
        recorded in the slot) without waiting."""
        assert not s.running(), f"{s} already running"
        args = [self.binary, "--bind", s.host, "--port", str(s.port),
                "--node-id", str(s.node_id), "--dir", s.dir, "--raft-secret", SECRET]
        if s.members_arg:
            args += ["--cluster-members", *s.members_arg]
        for name, value in RAFT_DIRECTIVES + self.extra_directives:
            args += ["--" + name, value]
        f = self._log_files.get(s.index)
        if f is None:
            f = self._log_files[s.index] = open(s.log_path, "ab")
        f.write(START_MARK + f" {time.monotonic():.3f} harness: starting node {s.node_id}: "
                f"{' '.join(args)}\n".encode())
        f.flush()
        s.proc = subprocess.Popen(["ip", "netns", "exec", s.ns, *args], stdin=subprocess.DEVNULL,
                                  stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        s.paused = False

    def wait_ping(self, s, timeout_s=30):
        """True once s answers PING; False if its process exited (a crash,
        left for check_crashes() to record). Raises HarnessError on timeout."""
        def pinged():
            if not s.running():
                return "exited"
            r = s.command("PING", timeout_s=1)
            if isinstance(r, redis.ResponseError):
                return not str(r).startswith("LOADING")
            return not isinstance(r, redis.RedisError)
        return wait_until(pinged, timeout_s, what=f"{s} to answer PING") is True

    def kill9(self, s):
        if s.proc is None:
            return
        if s.proc.poll() is None:
            os.kill(s.proc.pid, signal.SIGKILL)
            try:
                s.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                raise HarnessError(f"{s} (pid {s.proc.pid}) did not die on SIGKILL") from None
        s.proc = None
        s.paused = False

    def pause(self, s):
        if s.running():
            os.kill(s.proc.pid, signal.SIGSTOP)
            s.paused = True

    def resume(self, s):
        if s.running() and s.paused:
            os.kill(s.proc.pid, signal.SIGCONT)
        s.paused = False

    def wipe(self, s):
        shutil.rmtree(s.dir, ignore_errors=True)
        s.generation += 1

    def check_crashes(self):
        """Records every node that exited although nobody killed it; returns
        the new ones. The slot is then empty (heal restarts it)."""
        new = []
        for s in self.slots:
            if s.proc is not None and s.proc.poll() is not None:
                entry = (time.monotonic(), repr(s), s.proc.returncode, self.log_tail(s))
                self.crashes.append(entry)
                new.append(entry)
                self.log(f"CRASH: {s} exited by itself with status {s.proc.returncode}")
                s.proc = None
                s.paused = False
        return new

    def log_tail(self, s):
        try:
            with open(s.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - LOG_TAIL_BYTES))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_count(self, s, needle, current=False):
        """How many lines of slot s's log (every node it ran; with current,
        only since the last start by the harness) contain needle."""
        n = 0
        try:
            with open(s.log_path, "rb") as f:
                for line in f:
                    if current and line.startswith(START_MARK):
                        n = 0
                    elif needle in line:
                        n += 1
        except OSError:
            return 0
        return n

    def stop_all(self):
        """kill -9 of every node (teardown); never raises."""
        for s in self.slots:
            try:
                if s.proc is not None and s.proc.poll() is None:
                    os.kill(s.proc.pid, signal.SIGKILL)
                    s.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for f in self._log_files.values():
            f.close()
        self._log_files.clear()

    # -- leadership and configuration ---------------------------------------------
    def leader(self, slots=None):
        """The slot whose node says role:leader and is named leader by a
        majority of the given slots (default: members) in its term; or None."""
        group = slots if slots is not None else self.member_slots()
        infos = {s: s.raft_info(timeout_s=1) for s in group}
        infos = {s: i for s, i in infos.items() if i}
        for s, info in infos.items():
            if info.get("role") != "leader":
                continue
            term = info.get("current_term")
            backers = [t for t, i in infos.items()
                       if i.get("leader_id") == info.get("node_id") and i.get("current_term") == term]
            if len(backers) * 2 > len(group):
                return s
        return None

    def wait_leader(self, timeout_s=30, slots=None):
        return wait_until(lambda: self.leader(slots), timeout_s, interval_s=0.1,
                          what="a leader backed by a majority")

    def configuration(self, timeout_s=10):
        """(leader slot, {node_id: voting}) as the leader reports it."""
        ld = self.wait_leader(timeout_s)
        info = ld.raft_info()
        if info is None:
            raise HarnessError(f"leader {ld} stopped answering RAFT.INFO")
        return ld, configuration(info)

    # -- convergence -----------------------------------------------------------------
    def wait_converged(self, timeout_s=60):
        """Waits until every member agrees on one leader, has applied the
        leader's commit index, and holds the same digest. Returns
        (converged: bool, detail: str)."""
        group = self.member_slots()
        last = {"why": "not checked"}

        def converged():
            ld = self.leader(group)
            if ld is None:
                last["why"] = "no leader backed by every member"
                return False
            infos = {s: s.raft_info() for s in group}
            if any(i is None for i in infos.values()):
                last["why"] = "a member does not answer RAFT.INFO"
                return False
            if any(i.get("leader_id") != infos[ld].get("node_id") for i in infos.values()):
                last["why"] = "members name different leaders"
                return False
            commit = infos[ld].get("commit_index")
            applied = {repr(s): i.get("last_applied_index") for s, i in infos.items()}
            if set(applied.values()) != {commit}:
                last["why"] = f"leader commit_index {commit}, last_applied {applied}"
                return False
            try:
                sums = {repr(s): s.server_digest() for s in group}
                if len(set(sums.values())) != 1:
                    digests = {repr(s): s.digest() for s in group}
                    last["why"] = f"digests differ {sums}: " + describe_diff(digests)
                    return False
                orders = {repr(s): s.set_orders() for s in group}
            except redis.RedisError as e:
                last["why"] = f"digest read failed: {e!r}"
                return False
            first = next(iter(orders.values()))
            if any(o != first for o in orders.values()):
                last["why"] = "set orders differ: " + describe_diff(
                    {n: [(k, repr(m), False) for k, m in o.items()] for n, o in orders.items()})
                return False
            keys = next(iter(sums.values()))[1]
            last["why"] = f"{len(group)} members, {keys} keys, applied index {commit}"
            return True

        try:
            wait_until(converged, timeout_s, interval_s=0.2, what="convergence")
            return True, last["why"]
        except HarnessError:
            return False, last["why"]


def describe_diff(digests, limit=5):
    maps = {n: {k: (v, t) for k, v, t in d} for n, d in digests.items()}
    keys = sorted(set().union(*[set(m) for m in maps.values()]))
    diffs = []
    for k in keys:
        vals = {n: m.get(k) for n, m in maps.items()}
        if len({repr(v) for v in vals.values()}) > 1:
            diffs.append(f"{k}: {vals}")
    return "; ".join(diffs[:limit]) + (f" (+{len(diffs) - limit} more)" if len(diffs) > limit else "")
