#!/usr/bin/python3
"""scripts/bench-replicaof.py - REPLICAOF's full sync and replication lag:
a 3-node raftcache cluster replicating a redis-server 7.0 master, beside a
redis-server replica of the same master in the same run (make
bench-replicaof; issue #53's measurement, outside make test).

The master (temp dir, free port) holds --keys strings of --size bytes
(DEBUG POPULATE). Then, for each replica (redis-server, then the cluster's
leader, tests/integration/raftcluster.py's cluster: local loopback,
raft-log-fsync on):
  - the full sync: REPLICAOF until the link is up and the offsets match;
  - the lag under a steady writer: redis-benchmark SET and INCR against
    the master (--clients connections, --requests requests, --pipeline)
    while the replica's applied offset (slave_repl_offset) is sampled every
    --sample-ms against the master's (master_repl_offset): the lag in bytes,
    and in time (how long ago the master had written the first byte the
    replica has not applied). A raftcache offset is on a majority's disks.
Prints the writer's rate with each replica and the lag percentiles (the
time lag's resolution is the sampling period). The master, the writer and
the replica (three raftcache nodes) share the machine's cores: the
writer's rate with each replica says how much CPU the replica took from
the master. One run: the machine is shared, read the ratio, not the last
digit.

Usage: scripts/bench-replicaof.py [--keys 1000000] [--size 100]
       [--requests 400000] [--clients 50] [--pipeline 1]
"""

import argparse
import bisect
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests", "integration"), os.path.join(ROOT, "tests", "harness")]

import redis  # noqa: E402

from conftest import free_port, wait_until  # noqa: E402
from raftcluster import Cluster  # noqa: E402

REDIS = shutil.which("redis-server")
DEADLINE_S = 1800


def redis_server(workdir, *args):
    port = free_port()
    log = open(os.path.join(workdir, f"redis-{port}.log"), "wb")
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir,
                             "--repl-diskless-sync-delay", "0", *args],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    c = redis.Redis(port=port, socket_timeout=600)

    def answers():
        try:
            return c.ping()
        except redis.ConnectionError:
            return False
    wait_until(answers, 60, what="redis-server to answer")
    return proc, port, c


def offsets(master, replica):
    """(master's offset, replica's applied offset), the replica's read first:
    both only grow, so the difference is never below the true lag."""
    r = replica.info("replication")["slave_repl_offset"]
    return master.info("replication")["master_repl_offset"], r


def full_sync(master, master_port, replica):
    t0 = time.monotonic()
    replica.execute_command("REPLICAOF", "127.0.0.1", master_port)

    def synced():
        r = replica.info("replication")
        return (r.get("master_link_status") == "up" and r.get("master_sync_in_progress") == 0
                and r["slave_repl_offset"] == master.info("replication")["master_repl_offset"])
    wait_until(synced, DEADLINE_S, interval_s=0.05, what="the full sync")
    return time.monotonic() - t0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else 0


def lag_under_writer(master, master_port, replica, a):
    """Runs redis-benchmark against the master; samples the offsets."""
    hist_t, hist_off = [], []
    byte_lag, time_lag = [], []
    done = threading.Event()

    def sample():
        while not done.is_set():
            t = time.monotonic()
            m, r = offsets(master, replica)
            hist_t.append(t)
            hist_off.append(m)
            byte_lag.append(m - r)
            # the first sample at which the master had a byte past r
            i = bisect.bisect_right(hist_off, r)
            time_lag.append((t - hist_t[i]) * 1000 if i < len(hist_t) else 0.0)
            time.sleep(a.sample_ms / 1000)  # the sampling period itself

    th = threading.Thread(target=sample)
    th.start()
    t0 = time.monotonic()
    out = subprocess.run(["redis-benchmark", "-p", str(master_port), "-t", "set,incr",
                          "-n", str(a.requests), "-c", str(a.clients), "-P", str(a.pipeline),
                          "-r", "1000000", "-q"], capture_output=True, text=True,
                         timeout=DEADLINE_S)
    bench_s = time.monotonic() - t0
    wait_until(lambda: offsets(master, replica)[1] == offsets(master, replica)[0], DEADLINE_S,
               interval_s=0.05, what="the replica to catch up after the writer")
    drain_s = time.monotonic() - t0 - bench_s
    done.set()
    th.join()
    rates = " ".join(ln.strip() for ln in out.stdout.splitlines() if "requests per second" in ln)
    return rates, bench_s, drain_s, byte_lag, time_lag


def report(name, sync_s, res, keys):
    rates, bench_s, drain_s, byte_lag, time_lag = res
    print(f"{name}:")
    print(f"  full sync of {keys} keys: {sync_s:7.2f} s ({keys / sync_s:9.0f} keys/s)")
    print(f"  writer (redis-benchmark on the master): {rates}  [{bench_s:.1f} s]")
    print(f"  lag, bytes:  p50 {pct(byte_lag, 50):9d}  p99 {pct(byte_lag, 99):9d}  "
          f"max {max(byte_lag, default=0):9d}")
    period = (bench_s + drain_s) * 1000 / max(len(time_lag), 1)
    print(f"  lag, ms:     p50 {pct(time_lag, 50):9.1f}  p99 {pct(time_lag, 99):9.1f}  "
          f"max {max(time_lag, default=0):9.1f}   ({len(time_lag)} samples, one every "
          f"{period:.0f} ms: a lag below that reads 0)")
    print(f"  caught up {drain_s:.2f} s after the writer ended")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--requests", type=int, default=400_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--sample-ms", type=float, default=20)
    a = ap.parse_args()
    if REDIS is None:
        sys.exit("redis-server is not installed")
    workdir = tempfile.mkdtemp(prefix="raftcache-bench-replicaof-")
    procs = []
    cl = None
    try:
        mproc, mport, master = redis_server(workdir, "--enable-debug-command", "yes")
        procs.append(mproc)
        master.execute_command("DEBUG", "POPULATE", a.keys, "key", a.size)
        print(f"master: redis-server 7.0 with {a.keys} strings of {a.size} bytes; writer: "
              f"redis-benchmark -t set,incr -n {a.requests} -c {a.clients} -P {a.pipeline}")
        rproc, _, rep = redis_server(workdir)
        procs.append(rproc)
        sync_s = full_sync(master, mport, rep)
        report("redis-server replica", sync_s, lag_under_writer(master, mport, rep, a), a.keys)
        rep.execute_command("REPLICAOF", "NO", "ONE")
        cl = Cluster(3, os.path.join(workdir, "cluster"), {"raft-follower-proxy": "yes"})
        leader = cl.start_all().client(socket_timeout=60)
        sync_s = full_sync(master, mport, leader)
        report("raftcache 3-node cluster (REPLICAOF on its leader)", sync_s,
               lag_under_writer(master, mport, leader, a), a.keys)
    finally:
        if cl is not None:
            for nd in cl.nodes:
                if nd.alive():
                    cl.stop(nd, timeout_s=60)
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
