"""Client libraries through a leader kill -9 (tests/clients/).

Each client runs a short workload on a 3-node cluster (unique keys written,
read back, a pipeline or MULTI/EXEC); between its two phases the leader is
killed -9, and the client must carry on with the retries an application
would do (each command retried on the library's connection and cluster
errors, for a bounded time). Then every key whose write the client saw
acknowledged must be readable, with its value, from the new leader.

The protocol the client programs speak is described at the top of
tests/clients/redispy_failover.py. Modes: "cluster" (the library's cluster
client, seeded with every node, one object for the whole run), "rebuild"
(the same, replaced by the application after a few failed attempts in a
row), "proxy" (a plain client on a follower, raft-follower-proxy on),
"leader" (a plain client on the leader, proxy on). After the kill the leader
stays down, or is restarted on its data dir once a new leader is in place.
README.md (Client libraries) holds the table these tests measure.

Node libraries are installed by `npm ci` into tests/clients/node_modules
(pinned by tests/clients/package-lock.json) when missing, and run on node
20 (the system's, or tests/clients/node-runtime's: conftest.node_bin);
Debian's ruby-redis and php-redis come from `make deps` (scripts/deps.sh).
A library that is not installed is a failure, not a skip.
"""

import os
import queue
import subprocess
import threading
import time

import pytest

from conftest import CLIENTS_DIR as CLIENTS, ROOT, node_bin, node_modules
N = 40  # keys per phase
RUN_DEADLINE_S = 120  # bounds a hang; nothing asserts on how long a run took
# How long a client retries one command. A new leader is normally elected
# within a second or two; this only bounds the runs that never recover, and
# is shorter where the library is known not to (the expected failures below).
CLIENT_RETRY_S = "30"
EXPECTED_FAILURE_RETRY_S = "8"
PROXY = [("raft-follower-proxy", "yes")]


def hiredis_cmd():
    path = os.path.join(ROOT, "build", "tests", "hiredis_failover")
    assert os.path.exists(path), f"{path} missing: make integration builds it"
    return [path]


def script(interpreter, name, *args):
    return lambda: [interpreter, os.path.join(CLIENTS, name), *args]


def node(lib):
    def cmd():
        node_modules()
        return [node_bin(), os.path.join(CLIENTS, "node_failover.js"), lib]
    return cmd


# library -> the command line before MODE SEEDS PREFIX N.
LIBS = {
    "redis-py": script("/usr/bin/python3", "redispy_failover.py"),
    "hiredis": hiredis_cmd,
    "ioredis": node("ioredis"),
    "node-redis4": node("redis4"),
    "node-redis5": node("redis5"),
    "node-redis6": node("redis6"),
    "redis-rb": script("ruby", "redisrb_failover.rb"),
    "phpredis": script("php", "phpredis_failover.php"),
}
CLUSTER_LIBS = [lib for lib in LIBS if lib != "hiredis"]  # hiredis has no cluster client

# Cluster clients that cannot recover while the killed leader stays down,
# whatever a one-shard cluster answers (README.md, Client libraries): each
# keeps sending to the dead master and asks no other node for the new map.
# Strict: the day one recovers, the test says so and the table must change.
# Each is (why, what its stderr shows when it fails that way). Strict: the
# day one recovers, the test says so and the table must change; a run that
# fails some other way is a failure.
STAYS_DOWN_FAILS = {
    "redis-py": ("4.3.4: after 5 connection errors to a node it rebuilds its map starting "
                 "with that node, and deepcopy of its connection arguments raises "
                 "(fixed in redis-py 4.4)", "cannot pickle"),
    "node-redis4": ("re-reads the map only on MOVED/ASK; commands for the dead master wait "
                    "in its offline queue", "no reply within"),
    "node-redis5": ("re-reads the map only on MOVED/ASK; commands for the dead master wait "
                    "in its offline queue", "no reply within"),
    "phpredis": ("falls back only to other masters when a master is unreachable; a "
                 "one-shard map has none", "Can't communicate with any node in the cluster"),
}

# Cluster clients that do not recover even once the killed node is back.
RESTART_FAILS = {
    "phpredis": ("5.3.7: once a connection to a node failed, a RedisCluster object never "
                 "opens a socket to it again", "Can't communicate with any node in the cluster"),
}

# (library, mode, after): after the kill the leader stays "down", or is
# "restarted" on its data dir (as a supervisor would) once a new leader is in
# place. proxy: the client's follower stays up, so "down" says it all; leader:
# a plain client's one address is gone until the restart.
# rebuild: the cluster client of a library that never recovers by itself,
# replaced by the application after a few failed attempts in a row.
CASES = ([(lib, "cluster", after) for lib in CLUSTER_LIBS for after in ("down", "restarted")]
         + [(lib, "rebuild", "down") for lib in STAYS_DOWN_FAILS]
         + [(lib, "proxy", "down") for lib in LIBS]
         + [(lib, "leader", "restarted") for lib in LIBS])


def case_id(case):
    return "-".join(case)


def expected_failure(lib, mode, after):
    """(why, stderr signature) if the case is known to fail, else None."""
    if mode != "cluster":
        return None
    return {"down": STAYS_DOWN_FAILS, "restarted": RESTART_FAILS}[after].get(lib)


class KnownFailure(AssertionError):
    """The library failed the way STAYS_DOWN_FAILS / RESTART_FAILS say."""


def params():
    for lib, mode, after in CASES:
        known = expected_failure(lib, mode, after)
        marks = ([pytest.mark.xfail(reason=known[0], raises=KnownFailure, strict=True)]
                 if known else [])
        yield pytest.param(lib, mode, after, marks=marks, id=case_id((lib, mode, after)))


class Run:
    """One client process; its stdout lines go to a queue read with deadlines."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=CLIENTS, env=env)
        self.lines = queue.Queue()
        self.acked = {}
        self.stderr = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._drain_err, daemon=True).start()

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def _drain_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def until(self, word, deadline):
        """Reads lines (recording acks) until one equals word; False at EOF."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"client gave no '{word}' within {RUN_DEADLINE_S}s:\n"
                                     + self.why())
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                return False
            if line.startswith("ack "):
                _, key, value = line.split(" ", 2)
                self.acked[key] = value
            elif line == word:
                return True

    def finish(self, deadline):
        try:
            self.proc.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def why(self):
        return "".join(self.stderr[-40:])


@pytest.mark.parametrize("lib,mode,after", params())
def test_client_survives_leader_kill(make_cluster, lib, mode, after):
    argv = LIBS[lib]()
    cl = make_cluster(3, None if mode in ("cluster", "rebuild") else PROXY)
    ld = cl.leader()
    others = [nd for nd in cl.nodes if nd is not ld]
    seeds = others if mode == "proxy" else [ld] + others
    prefix = f"{lib}-{mode}"
    retry_s = EXPECTED_FAILURE_RETRY_S if expected_failure(lib, mode, after) else CLIENT_RETRY_S
    env = dict(os.environ, CLIENT_RETRY_S=retry_s)
    run = Run(argv + [mode, ",".join(nd.addr for nd in seeds), prefix, str(N)], env)
    deadline = time.monotonic() + RUN_DEADLINE_S
    try:
        assert run.until("phase1", deadline), f"phase 1 failed:\n{run.why()}"
        assert len(run.acked) == N + 1
        cl.kill9(ld)
        run.proc.stdin.write("go\n")
        run.proc.stdin.flush()
        if after == "restarted":
            cl.wait_leader(not_node=ld)
            cl.start(ld)
        done = run.until("done", deadline)
        rc = run.finish(deadline)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(timeout=10)
    if not (done and rc == 0):
        why = f"{lib} ({mode}) did not survive the leader's kill:\n{run.why()}"
        known = expected_failure(lib, mode, after)
        if known and known[1] in "".join(run.stderr):
            raise KnownFailure(why)
        raise AssertionError(why)
    assert len(run.acked) == 2 * (N + 1)
    new = cl.wait_leader(not_node=ld)
    with new.client() as c:
        got = dict(zip(run.acked, c.mget(list(run.acked))))
    lost = {k: (v, got[k]) for k, v in run.acked.items() if got[k] != v.encode()}
    assert not lost, f"acknowledged writes not readable: {lost}"
