"""redis-py (Debian's python3-redis) through a leader kill -9, driven by
tests/integration/test_clients.py; the protocol every failover client of
tests/clients/ speaks:

  argv: MODE SEEDS PREFIX N   MODE: cluster (the library's cluster client on
        every seed), proxy (a plain client on the first seed, a follower with
        raft-follower-proxy on), leader (a plain client on the first seed,
        the leader) or rebuild (cluster, and the application builds a new
        cluster client after REBUILD_AFTER failed attempts in a row, for the
        libraries that never recover by themselves: docs/clients.md, Client
        libraries); SEEDS: host:port,host:port,...
  Phase 1 writes PREFIX:0..N-1, reads them back and runs a pipeline; then it
  prints "phase1" and waits for a line on stdin (the leader is killed
  meanwhile); phase 2 does the same with PREFIX:N..2N-1.
  stdout: "ack KEY VALUE" once a SET was answered OK, then "done".
  Every command is retried as an application would: on the library's
  connection and cluster errors, for at most CLIENT_RETRY_S seconds (environment;
  default 30).
  Exit 0 when every read returned what was written; 1 otherwise.
"""

import os
import sys
import time

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException

RETRY_S = float(os.environ.get("CLIENT_RETRY_S", "30"))
REBUILD_AFTER = 3  # mode rebuild: failed attempts in a row before a new client


class Session:
    """The client, and in mode rebuild what rebuilds it."""

    def __init__(self, mode, seeds):
        self.mode, self.seeds = mode, seeds
        self.c = connect(mode, seeds)

    def rebuild(self):
        try:
            self.c = connect(self.mode, self.seeds)
        except (redis.RedisError, RedisClusterException) as e:
            print(f"rebuild: {e!r}", file=sys.stderr, flush=True)


def retry(s, what, fn):
    deadline = time.monotonic() + RETRY_S
    failures = 0
    while True:
        try:
            return fn(s.c)
        except (redis.RedisError, RedisClusterException) as e:
            # Only the answers a cluster gives during an election are retried.
            if type(e) is redis.ResponseError and not str(e).startswith(
                    ("CLUSTERDOWN", "TIMEOUT", "TRYAGAIN", "MOVED")):
                raise
            print(f"{what}: {e!r}", file=sys.stderr, flush=True)
            if time.monotonic() > deadline:
                raise SystemExit(f"{what}: still failing after {RETRY_S}s: {e!r}")
            failures += 1
            if s.mode == "rebuild" and failures % REBUILD_AFTER == 0:
                s.rebuild()
            time.sleep(0.1)


def connect(mode, seeds):
    addrs = [(h, int(p)) for h, p in (s.rsplit(":", 1) for s in seeds.split(","))]
    if mode in ("cluster", "rebuild"):
        return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in addrs],
                            socket_timeout=2, socket_connect_timeout=1)
    return redis.Redis(host=addrs[0][0], port=addrs[0][1], socket_timeout=2,
                       socket_connect_timeout=1)


def phase(c, prefix, lo, hi):
    for i in range(lo, hi):
        key = f"{prefix}:{i}"
        if retry(c, f"SET {key}", lambda r: r.set(key, f"v{i}")) is not True:
            raise SystemExit(f"SET {key}: not OK")
        print("ack", key, f"v{i}", flush=True)
    for i in range(lo, hi):
        key = f"{prefix}:{i}"
        got = retry(c, f"GET {key}", lambda r: r.get(key))
        if got != f"v{i}".encode():
            raise SystemExit(f"GET {key}: {got!r}")

    def pipelined(r):
        pipe = r.pipeline(transaction=False)
        pipe.set(f"{prefix}:p{lo}", "p")
        pipe.get(f"{prefix}:{lo}")
        return pipe.execute()
    got = retry(c, "pipeline", pipelined)
    if got != [True, f"v{lo}".encode()]:
        raise SystemExit(f"pipeline: {got!r}")
    print("ack", f"{prefix}:p{lo}", "p", flush=True)


def main():
    mode, seeds, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    c = Session(mode, seeds)
    phase(c, prefix, 0, n)
    print("phase1", flush=True)
    sys.stdin.readline()
    phase(c, prefix, n, 2 * n)
    print("done", flush=True)


if __name__ == "__main__":
    main()
