"""A raftcache cluster of real processes on loopback, for the integration suite.

`Cluster(n, base_dir)` writes one config per node (free ports, its own data
dir, cluster-members naming every node, a shared raft-secret, short election
timeouts) and starts or stops nodes by pid. What it asks the nodes (RAFT.INFO,
the leader, convergence, a keyspace's digest) is the cluster harness it shares
with tests/chaos: tests/harness/raftharness.py. Every wait polls with a
deadline; nothing asserts on how long something took.

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

import os
import signal
import subprocess
import threading

import redis

from conftest import BIN, Server, free_port, wait_until
from raftharness import RaftNode, agreed_leader, convergence

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


class ClusterNode(Server, RaftNode):
    """One member: a Server (conftest.py: its config file, start, stop,
    clients, log) that the cluster harness (tests/harness/raftharness.py)
    can ask. Its port and data dir stay the same across restarts."""

    def __init__(self, workdir, node_id, port, directives):
        super().__init__(workdir, [("port", port), ("node-id", node_id)] + directives)
        # A cluster with requirepass: every helper connection AUTHs.
        self.password = next((d[1] for d in directives if d[0] == "requirepass"), None)
        self.port = port
        self.node_id = node_id
        self.paused = False

    def __repr__(self):
        return f"node{self.node_id}(:{self.port})"

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
            return self.pinged()
        wait_until(pinged, timeout_s, what=f"{self} to answer PING")


class Cluster:
    def __init__(self, n, base_dir, directives=None, registry=None, per_node=None):
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
            own = list(per_node(i + 1)) if per_node else []
            self.nodes.append(ClusterNode(workdir, i + 1, p, common + own))

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
        nd.kill9()

    def stop(self, nd, timeout_s=20):
        """SIGTERM; asserts a clean exit (status 0)."""
        if nd.paused:
            self.sigcont(nd)
        rc = nd.stop(signal.SIGTERM, timeout_s)
        assert rc == 0, f"{nd} exited with status {rc} on SIGTERM\n{nd.log_tail()}"

    def sigstop(self, nd):
        nd.sigstop()

    def sigcont(self, nd):
        nd.sigcont()

    def live(self):
        """Nodes running and not paused."""
        return [nd for nd in self.nodes if nd.alive() and not nd.paused]

    # -- leadership --------------------------------------------------------------
    def agreed_leader(self, nodes):
        """The leader every node of `nodes` names, in one term; or None
        (tests/harness/raftharness.py)."""
        return agreed_leader(nodes)

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
        all applied the leader's commit index and hold equal digests (read
        through SCAN, not DEBUG DIGEST: the digest is computed in one step on
        the node's loop, and over the 100 MB values of test_big_writes.py
        under AddressSanitizer it holds the loop past the election timeout).
        Returns the common digest."""
        group = nodes if nodes is not None else self.live()
        converged, last = convergence(group)
        try:
            return wait_until(converged, timeout_s, interval_s=0.1,
                              what=f"{group} to converge")[0]
        except AssertionError as e:
            raise AssertionError(f"{e}; last state: {last.get('why')}") from None


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
