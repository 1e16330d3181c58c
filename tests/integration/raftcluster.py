"""A raftcache cluster of real processes on loopback, for the integration suite.

`Cluster(n, base_dir)` writes one config per node (free ports, its own data
dir, cluster-members naming every node, a shared raft-secret, short election
timeouts) and starts or stops nodes by pid. Every wait polls with a deadline;
nothing asserts on how long something took.

What "converged" means (Cluster.wait_converged): one leader agreed on by
every node asked, every node's last_applied_index equal to the leader's
commit_index, and every node's digest equal. A digest is the sorted list of
(key, type, value, has-ttl) of a node's keyspace, read through SCAN on a
READONLY connection (so a follower answers from its own data; a set's
members in its own order, which SPOP draws from). The nodes run with
enable-debug-command local, so a test may also compare DEBUG DIGEST (which
a node computes in one step on its loop: not for huge values).

`AckWriter` is a client thread that follows MOVED and retries CLUSTERDOWN,
TIMEOUT and connection errors with the same (idempotent) SET, and records a
key only once the cluster answered OK: those are the acknowledged writes the
durability promise is about.
"""

import hashlib
import os
import signal
import subprocess
import threading

import redis

from conftest import BIN, Server, free_port, wait_until

SECRET = "it-raft-secret"
ELECTION_TIMEOUT_MS = 500
HEARTBEAT_MS = 50
# Deadlines are generous: the machine may be slow and the suite busy; they
# only bound a hang, they are not what a test checks.
ELECTION_DEADLINE_S = 30
CONVERGE_DEADLINE_S = 60


def free_ports(n):
    ports = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


def parse_info(text):
    info = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            k, v = line.split(":", 1)
            info[k] = v
    return info


def raft_info_of(client):
    """RAFT.INFO through a redis-py client, as a dict."""
    raw = client.execute_command("RAFT.INFO")
    return parse_info(raw.decode() if isinstance(raw, bytes) else raw)


def readonly_connect(conn):
    """redis-py connect hook: the usual handshake, then READONLY."""
    conn.on_connect()
    conn.send_command("READONLY")
    if conn.read_response() not in (b"OK", "OK"):
        raise redis.ConnectionError("READONLY refused")


class ClusterNode(Server):
    """One member. Its port and data dir stay the same across restarts."""

    def __init__(self, workdir, node_id, port, directives):
        super().__init__(workdir, [("port", port), ("node-id", node_id)] + directives)
        # A cluster with requirepass: every helper connection AUTHs.
        self.password = next((d[1] for d in directives if d[0] == "requirepass"), None)
        self.port = port
        self.node_id = node_id
        self.paused = False

    def __repr__(self):
        return f"node{self.node_id}(:{self.port})"

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def launch(self):
        """Starts the process without waiting for anything."""
        if self._log_file is None:
            self._log_file = open(self.log_path, "ab")
        self.expect_exit = False
        self.paused = False
        self.proc = subprocess.Popen([BIN, self.conf_path], stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     cwd=self.workdir)

    def wait_ping(self, timeout_s=ELECTION_DEADLINE_S):
        def pinged():
            self.assert_running("while starting")
            try:
                return self.client(socket_timeout=1, socket_connect_timeout=1).ping()
            except (redis.ConnectionError, redis.TimeoutError):
                return False
            except redis.ResponseError as e:  # -LOADING counts as not yet
                return False if str(e).startswith("LOADING") else True
        wait_until(pinged, timeout_s, what=f"{self} to answer PING")

    def raft_info(self, timeout_s=2):
        """RAFT.INFO as a dict, or None if the node does not answer."""
        try:
            with self.client(socket_timeout=timeout_s, socket_connect_timeout=1) as c:
                raw = c.execute_command("RAFT.INFO")
        except redis.RedisError:
            return None
        return parse_info(raw.decode() if isinstance(raw, bytes) else raw)

    def readonly_client(self, **kw):
        kw.setdefault("socket_timeout", 30)
        if self.password is not None:
            kw.setdefault("password", self.password)
        return redis.Redis(host="127.0.0.1", port=self.port, redis_connect_func=readonly_connect,
                           **kw)

    def digest(self):
        """Sorted (key, type, value, has-ttl) of the whole keyspace, read
        locally. A value is read by its type: a string's bytes (a long one's
        length and SHA-1, read_big_string), a hash's
        sorted field/value pairs, a set's members in the order SMEMBERS gives
        (the set's own order, which SPOP draws from: replicas must agree on
        it), a sorted set's members with scores in order, a list's elements,
        a stream's XINFO STREAM FULL."""
        rows = []
        with self.readonly_client() as c:
            keys = sorted(set(c.scan_iter(count=1000)))
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                pipe = c.pipeline(transaction=False)
                for k in chunk:
                    pipe.type(k)
                    pipe.pttl(k)
                    pipe.strlen(k)  # an error for other types
                heads = pipe.execute(raise_on_error=False)
                pipe = c.pipeline(transaction=False)
                for j, k in enumerate(chunk):
                    if not is_big_string(heads[3 * j], heads[3 * j + 2]):
                        read_value(pipe, k, heads[3 * j])
                values = iter(pipe.execute(raise_on_error=False))
                for j, k in enumerate(chunk):
                    typ, pttl, strlen = heads[3 * j:3 * j + 3]
                    for reply in (typ, pttl):
                        if isinstance(reply, Exception):
                            raise reply
                    value = (read_big_string(c, k, strlen) if is_big_string(typ, strlen)
                             else next(values))
                    if typ == b"none" or pttl == -2:
                        continue  # expired between SCAN and TYPE
                    if isinstance(value, dict):
                        value = sorted(value.items())
                    rows.append((k, typ, value, pttl >= 0))
        return rows


# Strings longer than this are compared by SHA-1, read in GETRANGE chunks:
# one GET of a 100 MB value (test_big_writes.py) held the node's loop, and a
# digest of three of them on every node, repeated until the cluster agreed,
# kept it from agreeing.
BIG_STRING = 1 << 20
BIG_STRING_CHUNK = 4 << 20


def is_big_string(typ, strlen):
    return typ == b"string" and isinstance(strlen, int) and strlen > BIG_STRING


def read_big_string(c, key, length):
    """(length, SHA-1) of a long string, read a chunk at a time."""
    h = hashlib.sha1()
    for off in range(0, length, BIG_STRING_CHUNK):
        h.update(c.getrange(key, off, min(off + BIG_STRING_CHUNK, length) - 1))
    return ("sha1", length, h.hexdigest())


def read_value(pipe, key, typ):
    """Queues the read of key's whole value by its type (digest)."""
    if typ == b"hash":
        pipe.hgetall(key)
    elif typ == b"set":
        pipe.execute_command("SMEMBERS", key)
    elif typ == b"zset":
        pipe.zrange(key, 0, -1, withscores=True)
    elif typ == b"list":
        pipe.lrange(key, 0, -1)
    elif typ == b"stream":  # entries, recorded IDs and counters
        pipe.execute_command("XINFO", "STREAM", key, "FULL", "COUNT", 0)
    else:
        pipe.get(key)


class Cluster:
    def __init__(self, n, base_dir, directives=None, registry=None):
        self.base_dir = base_dir
        self.registry = registry  # list the fixture stops every node of
        ports = free_ports(n)
        members = " ".join(f"{i + 1}=127.0.0.1:{p}" for i, p in enumerate(ports))
        common = [("cluster-members", members), ("raft-secret", SECRET),
                  ("raft-election-timeout-ms", ELECTION_TIMEOUT_MS),
                  ("raft-heartbeat-ms", HEARTBEAT_MS), ("enable-debug-command", "local")]
        extra = list(directives.items()) if isinstance(directives, dict) else list(directives or [])
        names = {d[0] for d in extra}
        common = [d for d in common if d[0] not in names] + extra
        self.common = common
        self.nodes = []
        for i, p in enumerate(ports):
            workdir = os.path.join(base_dir, f"node{i + 1}")
            os.makedirs(workdir)
            self.nodes.append(ClusterNode(workdir, i + 1, p, common))

    def __len__(self):
        return len(self.nodes)

    def new_node(self, members=None):
        """A node with the next id, a free port and an empty dir, not started.
        members=None: no cluster-members (it starts as a one-member cluster,
        the RAFT.CLUSTER JOIN path); a list of nodes: cluster-members names
        them (not the new node), so it waits to be added by RAFT.NODE ADD."""
        node_id = len(self.nodes) + 1
        port = free_port()
        workdir = os.path.join(self.base_dir, f"node{node_id}")
        os.makedirs(workdir)
        directives = [d for d in self.common if d[0] != "cluster-members"]
        if members:
            directives.append(("cluster-members",
                               " ".join(f"{m.node_id}=127.0.0.1:{m.port}" for m in members)))
        nd = ClusterNode(workdir, node_id, port, directives)
        self.nodes.append(nd)
        if self.registry is not None:
            self.registry.append(nd)
        return nd

    def node(self, node_id):
        return self.nodes[node_id - 1]

    # -- lifecycle -------------------------------------------------------------
    def start_all(self):
        for nd in self.nodes:
            nd.launch()
        for nd in self.nodes:
            nd.wait_ping()
        return self.wait_leader()

    def start(self, nd, wait=True):
        """Restarts nd on its own dir; with wait, until it answers PING."""
        assert not nd.alive(), f"{nd} is already running"
        nd.launch()
        if wait:
            nd.wait_ping()

    def crash_all(self):
        """kill -9 every node, restarts them all on their dirs, and waits for a
        leader and for the nodes to agree."""
        for nd in self.nodes:
            self.kill9(nd)
        for nd in self.nodes:
            self.start(nd, wait=False)
        self.wait_leader()
        self.wait_converged()

    def kill9(self, nd):
        nd.expect_exit = True
        if nd.alive():
            nd.proc.send_signal(signal.SIGKILL)
            nd.proc.wait(timeout=10)
        nd.paused = False

    def stop(self, nd, timeout_s=20):
        """SIGTERM; asserts a clean exit (status 0)."""
        if nd.paused:
            self.sigcont(nd)
        rc = nd.stop(signal.SIGTERM, timeout_s)
        assert rc == 0, f"{nd} exited with status {rc} on SIGTERM\n{nd.log_tail()}"

    def sigstop(self, nd):
        nd.proc.send_signal(signal.SIGSTOP)
        nd.paused = True

    def sigcont(self, nd):
        nd.proc.send_signal(signal.SIGCONT)
        nd.paused = False

    def live(self):
        """Nodes running and not paused."""
        return [nd for nd in self.nodes if nd.alive() and not nd.paused]

    # -- leadership --------------------------------------------------------------
    def agreed_leader(self, nodes):
        """The leader node if every node in `nodes` answers RAFT.INFO, exactly
        one says role:leader, and all name it as leader_id in the same term;
        else None."""
        infos = {}
        for nd in nodes:
            info = nd.raft_info()
            if info is None:
                return None
            infos[nd.node_id] = info
        leaders = [i for i, info in infos.items() if info.get("role") == "leader"]
        if len(leaders) != 1:
            return None
        lid = leaders[0]
        terms = {info.get("current_term") for info in infos.values()}
        ids = {info.get("leader_id") for info in infos.values()}
        if ids != {str(lid)} or len(terms) != 1:
            return None
        return self.node(lid)

    def wait_leader(self, nodes=None, timeout_s=ELECTION_DEADLINE_S, not_node=None):
        """Waits until the given nodes (default: the live ones) agree on one
        leader (other than not_node, if given) and returns it."""
        def agreed():
            group = nodes if nodes is not None else self.live()
            ld = self.agreed_leader(group)
            return ld if ld is not None and ld is not not_node else None
        return wait_until(agreed, timeout_s, interval_s=0.05,
                          what="one leader agreed on by " + str(nodes or "the live nodes"))

    def leader(self):
        return self.wait_leader()

    def followers(self):
        ld = self.leader()
        return [nd for nd in self.live() if nd is not ld]

    # -- data --------------------------------------------------------------------
    def client(self, nd, **kw):
        return nd.client(**kw)

    def wait_converged(self, nodes=None, timeout_s=CONVERGE_DEADLINE_S):
        """Waits until `nodes` (default: the live ones) agree on a leader, have
        all applied the leader's commit index and hold equal digests.
        Returns the common digest."""
        group = nodes if nodes is not None else self.live()
        last = {}

        def converged():
            ld = self.agreed_leader(group)
            if ld is None:
                last["why"] = "no agreed leader"
                return None
            commit = ld.raft_info().get("commit_index")
            applied = {nd.node_id: (nd.raft_info() or {}).get("last_applied_index") for nd in group}
            if set(applied.values()) != {commit}:
                last["why"] = f"leader {ld} commit_index {commit}, last_applied {applied}"
                return None
            # Read through SCAN, not DEBUG DIGEST: the digest is computed in
            # one step on the node's loop, and over the 100 MB values of
            # test_big_writes.py (under AddressSanitizer) it holds the loop
            # past the election timeout, so the check itself caused
            # elections and never saw the commit index settle.
            try:
                digests = {nd.node_id: nd.digest() for nd in group}
            except redis.ResponseError as e:
                # Not yet: a leader answers reads -CLUSTERDOWN until its no-op
                # commits, a node that lost its state until it has caught up
                # (docs/cluster-replies.md, docs/storage-safety.md).
                if not str(e).startswith("CLUSTERDOWN"):
                    raise
                last["why"] = f"a node cannot be read yet: {e}"
                return None
            first = digests[group[0].node_id]
            if any(d != first for d in digests.values()):
                last["why"] = "digests differ: " + describe_digest_diff(digests)
                return None
            if ld.raft_info().get("commit_index") != commit:
                last["why"] = "commit index moved while reading digests"
                return None
            return [first]

        try:
            return wait_until(converged, timeout_s, interval_s=0.1,
                              what=f"{group} to converge")[0]
        except AssertionError as e:
            raise AssertionError(f"{e}; last state: {last.get('why')}") from None


def describe_digest_diff(digests, limit=10):
    maps = {nid: {k: rest for k, *rest in d} for nid, d in digests.items()}
    keys = sorted(set().union(*[set(m) for m in maps.values()]))
    diffs = []
    for k in keys:
        vals = {nid: m.get(k) for nid, m in maps.items()}
        if len({repr(v) for v in vals.values()}) > 1:
            diffs.append(f"{k!r}: {vals}")
            if len(diffs) >= limit:
                break
    sizes = {nid: len(d) for nid, d in digests.items()}
    return f"sizes {sizes}; " + "; ".join(diffs)


RETRYABLE = ("CLUSTERDOWN", "TIMEOUT", "LOADING", "TRYAGAIN")


class AckWriter(threading.Thread):
    """SETs prefix:i = v<i> for i = 0, 1, ... one at a time until stop().
    acked holds the keys answered OK; errors counts what was retried."""

    def __init__(self, cluster, prefix, socket_timeout_s=2):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.prefix = prefix
        self.socket_timeout_s = socket_timeout_s
        self.acked = {}
        self.errors = {}
        self.fatal = None
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._target = None  # "host:port"
        self._clients = {}

    def stop(self, timeout_s=30):
        self._halt.set()
        self.join(timeout_s)
        assert not self.is_alive(), "writer thread did not stop"
        if self.fatal:
            raise AssertionError(f"writer {self.prefix}: {self.fatal}")

    def acked_count(self):
        with self._lock:
            return len(self.acked)

    def _client(self, addr):
        if addr not in self._clients:
            host, port = addr.rsplit(":", 1)
            self._clients[addr] = redis.Redis(host=host, port=int(port),
                                              socket_timeout=self.socket_timeout_s,
                                              socket_connect_timeout=1)
        return self._clients[addr]

    def _next_node(self):
        addrs = [nd.addr for nd in self.cluster.nodes]
        i = addrs.index(self._target) if self._target in addrs else -1
        self._target = addrs[(i + 1) % len(addrs)]

    def _count(self, what):
        self.errors[what] = self.errors.get(what, 0) + 1

    def run(self):
        self._target = self.cluster.nodes[0].addr
        i = 0
        try:
            while not self._halt.is_set():
                key, value = f"{self.prefix}:{i}", f"v{i}"
                if self._set(key, value):
                    with self._lock:
                        self.acked[key] = value.encode()
                    i += 1
        except Exception as e:  # noqa: BLE001 - reported by stop()
            self.fatal = repr(e)
        finally:
            for c in self._clients.values():
                c.close()

    def _set(self, key, value):
        """One attempt; True when acknowledged."""
        try:
            reply = self._client(self._target).set(key, value)
        except (redis.ConnectionError, redis.TimeoutError) as e:
            self._count(type(e).__name__)
            self._clients.pop(self._target).close()
            self._next_node()
            self._halt.wait(0.02)
            return False
        except redis.ResponseError as e:
            msg = str(e)
            if msg.startswith("MOVED "):
                self._count("MOVED")
                self._target = msg.split()[2]
                return False
            if msg.startswith(RETRYABLE):
                self._count(msg.split()[0])
                if msg.startswith("CLUSTERDOWN"):
                    self._next_node()
                self._halt.wait(0.02)
                return False
            raise
        if reply is not True:
            raise AssertionError(f"SET {key} answered {reply!r}")
        return True


def check_acked_present(nd, acked):
    """Every acknowledged key holds its value on nd (read with READONLY)."""
    missing = []
    with nd.readonly_client() as c:
        keys = list(acked)
        for i in range(0, len(keys), 1000):
            chunk = keys[i:i + 1000]
            pipe = c.pipeline(transaction=False)
            for k in chunk:
                pipe.get(k)
            for k, got in zip(chunk, pipe.execute()):
                if got != acked[k]:
                    missing.append((k, acked[k], got))
    assert not missing, (f"{len(missing)} of {len(acked)} acknowledged writes missing or wrong "
                         f"on {nd}, e.g. {missing[:10]}")
