"""The raftcache processes of a chaos run, and what the harness asks them.

A *slot* is a place for one node: a network namespace, an address, a data
dir and a log file. The node running in a slot may change (a membership
change wipes the dir and starts a fresh node, possibly with a new id).
Slots 1..n start as the initial members (cluster-members naming them all);
spare slots start empty and are used by membership changes.

Owns: launching `ip netns exec NS build/raftcache ...` (own session, so a
terminal's Ctrl-C reaches only the harness), the slots and the members,
noticing a node that exited without being killed (a crash), and the
end-of-run convergence check (DEBUG DIGEST and the sets' member orders, read
on READONLY connections; a key-by-key read of every keyspace only to
describe a difference). What it asks a node (RAFT.INFO, PING, kill -9,
SIGSTOP, SIGCONT, the leader, convergence) is the cluster harness it shares
with tests/integration: tests/harness/raftharness.py.
Every wait polls with a deadline; every client call has a socket timeout.

`members` is the set of slots clients may send to: a slot leaves it before
its node is removed and comes back once its fresh node is a voter, so no
client ever writes to a fresh node still running as a one-member cluster.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
# WaitTimeout and readonly_connect: for the modules of this folder, which
# import the harness through this one.
from raftharness import (HarnessError, RaftNode, WaitTimeout,  # noqa: E402,F401
                         configuration, convergence, describe_diff, majority_leader,
                         readonly_connect, wait_until)

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
LOG_TAIL_BYTES = 4000
START_MARK = b"===="  # opens the line the harness writes before each start


class NoLeader(Exception):
    """The healed cluster elects no leader: a finding, not a harness error."""


class Slot(RaftNode):
    """A place for one node (its namespace, address, dir and log); the node
    in it is asked through RaftNode (tests/harness/raftharness.py)."""

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

    def set_orders(self):
        """{key: SMEMBERS} of every set (READONLY): the set's own order, which
        SPOP draws from and replicas must agree on; DEBUG DIGEST does not see
        it."""
        with self.readonly_client(socket_timeout=10) as c:
            return {k: c.execute_command("SMEMBERS", k)
                    for k in sorted(set(c.scan_iter(count=1000, _type="set")))}


def same_keyspaces(group):
    """compare() of raftharness.convergence for a chaos run: DEBUG DIGEST
    and DBSIZE (one step on each node: the cache workload leaves thousands
    of keys), then the sets' member orders; a key-by-key read only to
    describe a difference."""
    sums = {repr(s): s.debug_digest() for s in group}
    if len(set(sums.values())) != 1:
        digests = {repr(s): s.digest() for s in group}
        return None, f"digests differ {sums}: " + describe_diff(digests, limit=5)
    orders = {repr(s): s.set_orders() for s in group}
    first = next(iter(orders.values()))
    if any(o != first for o in orders.values()):
        return None, "set orders differ: " + describe_diff(
            {n: [(k, repr(m)) for k, m in o.items()] for n, o in orders.items()}, limit=5)
    keys = next(iter(sums.values()))[1]
    return True, f"{len(group)} members, {keys} keys"


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
        assert not s.alive(), f"{s} already running"
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
            r = s.pinged()
            return "exited" if r is None else r
        return wait_until(pinged, timeout_s, interval_s=0.1, what=f"{s} to answer PING") is True

    def kill9(self, s):
        s.kill9()
        s.proc = None

    def pause(self, s):
        s.sigstop()

    def resume(self, s):
        s.sigcont()

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
        return majority_leader(slots if slots is not None else self.member_slots())

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
        leader's commit index, and holds the same keyspace (same_keyspaces).
        Returns (converged: bool, detail: str)."""
        converged, last = convergence(self.member_slots(), compare=same_keyspaces)
        try:
            wait_until(converged, timeout_s, interval_s=0.2, what="convergence")
            return True, last["why"]
        except HarnessError:
            return False, last["why"]
