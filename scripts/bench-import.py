#!/usr/bin/python3
"""scripts/bench-import.py - RAFT.IMPORT of a large dump.rdb into a 3-node
raftcache cluster, against redis-server's own load of the same file
(make bench-import; issue #53's measurement, outside make test).

redis-server 7.0 (temp dir, free port, no persistence of its own) is filled
with --keys keys by DEBUG POPULATE (strings of --size bytes) plus --hashes
hashes of 10 fields, and SAVEs. Then:
  - redis-server's load: a second redis-server started on the file; its
    log's "DB loaded from disk: X seconds";
  - the import: a 3-node cluster (tests/integration/raftcluster.py's: local
    loopback, raft-log-fsync on, the defaults otherwise), RAFT.IMPORT on the
    leader, INFO persistence polled until import_status is done; the time
    is import_duration_ms (validation and loading, until every chunk is
    applied on the leader), then the followers are waited for (DBSIZE).
Prints keys/s and MB/s of each. One run: the machine is shared, read the
ratio, not the last digit. Nothing passes or fails on a time.

Usage: scripts/bench-import.py [--keys 1000000] [--size 100] [--hashes 10000]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
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
    log = open(os.path.join(workdir, "redis.log"), "wb")
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir, *args],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    c = redis.Redis(port=port, socket_timeout=600)

    def loaded():
        try:
            return c.info("persistence")["loading"] == 0
        except (redis.ConnectionError, redis.BusyLoadingError):
            return False
    wait_until(loaded, DEADLINE_S, what="redis-server to answer, loaded")
    return proc, c


def make_file(workdir, keys, size, hashes):
    proc, c = redis_server(workdir, "--enable-debug-command", "yes")
    c.execute_command("DEBUG", "POPULATE", keys, "key", size)
    pipe = c.pipeline(transaction=False)
    for i in range(hashes):
        pipe.hset(f"hash:{i}", mapping={f"f{j}": f"value-{i}-{j}" for j in range(10)})
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    total = c.dbsize()
    c.save()
    proc.terminate()
    proc.wait()
    return os.path.join(workdir, "dump.rdb"), total


def redis_load_seconds(workdir):
    proc, c = redis_server(workdir, "--dbfilename", "dump.rdb")
    proc.terminate()
    proc.wait()
    text = open(os.path.join(workdir, "redis.log"), errors="replace").read()
    return float(re.findall(r"DB loaded from disk: ([0-9.]+) seconds", text)[-1])


def raftcache_import(path, total):
    base = tempfile.mkdtemp(prefix="raftcache-bench-import-")
    cl = Cluster(3, base, {"raft-follower-proxy": "yes"})
    try:
        leader = cl.start_all()
        c = leader.client(socket_timeout=60)
        t0 = time.monotonic()
        assert c.execute_command("RAFT.IMPORT", path) == b"OK"

        def done():
            info = c.info("persistence")
            assert info["import_status"] in ("validating", "loading", "done"), info
            return info if info["import_status"] == "done" else None
        info = wait_until(done, DEADLINE_S, interval_s=0.2, what="the import")
        for nd in cl.nodes:
            wait_until(lambda: nd.readonly_client().dbsize() == total, DEADLINE_S,
                       interval_s=0.2, what=f"{nd} to hold every key")
        all_s = time.monotonic() - t0
        log = [ln for ln in open(leader.log_path, errors="replace") if "Import of" in ln]
        return info["import_duration_ms"] / 1000.0, all_s, log
    finally:
        for nd in cl.nodes:
            if nd.alive():
                cl.stop(nd, timeout_s=60)
        shutil.rmtree(base, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--hashes", type=int, default=10_000)
    a = ap.parse_args()
    if REDIS is None:
        sys.exit("redis-server is not installed")
    workdir = tempfile.mkdtemp(prefix="raftcache-bench-rdb-")
    try:
        path, total = make_file(workdir, a.keys, a.size, a.hashes)
        mb = os.path.getsize(path) / 1e6
        print(f"dump.rdb: {total} keys ({a.keys} strings of {a.size} bytes, {a.hashes} hashes of "
              f"10 fields), {mb:.1f} MB")
        rs = redis_load_seconds(workdir)
        print(f"redis-server load:          {rs:8.2f} s  {total / rs:10.0f} keys/s  "
              f"{mb / rs:7.1f} MB/s")
        imp_s, all_s, log = raftcache_import(path, total)
        print(f"RAFT.IMPORT, 3 nodes:       {imp_s:8.2f} s  {total / imp_s:10.0f} keys/s  "
              f"{mb / imp_s:7.1f} MB/s  (leader applied everything)")
        print(f"  and every follower too:   {all_s:8.2f} s  {total / all_s:10.0f} keys/s  "
              f"{mb / all_s:7.1f} MB/s")
        print(f"ratio (import / redis load): {imp_s / rs:.1f}x")
        print("leader's log:")
        for ln in log:
            print("  " + ln.rstrip())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
