"""Point-in-time restore, offline (src/server/restore.h): raftcache
--restore-rdb DIR --until MS | --until-index N [--out FILE] reads a stopped
node's data dir, loads its snapshot, applies the committed log up to the
target and writes a dump.rdb.

A single node with a small raft-snapshot-threshold takes a snapshot during
phase 0; phases 1 and 2 write after it (several types, TTLs, databases 0
and 3, a function library), then a FLUSHALL; the time and the leader's
commit index are noted between phases. The node is stopped; the file
restored at phase 1's end (by time and by index) and at phase 0's end
loads in redis-server 7.0 with exactly the keys of those phases (DEBUG
DIGEST-VALUE and PEXPIRETIME of each key, the libraries) and loads into a
new raftcache through RAFT.IMPORT. A target before the snapshot is
refused naming the earliest restorable point; a target past the log
restores up to the last entry and says so. The data dir is unchanged
(names, sizes, mtimes). A node killed (its WAL holds frames) restores
from a private copy that is gone afterwards; a running node's dir is
refused.

Waits: every wait polls a condition with a deadline (wait_until).
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import redis

from conftest import BIN
from raftharness import wait_until

DEADLINE_S = 30
THRESHOLD = 40  # phase 0 crosses it once; phases 1 and 2 together stay below it
DBS = (0, 3)
LIB0 = "#!lua name=lib0\nredis.register_function('f0', function() return 0 end)"
LIB1 = "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)"
SUMMARY = re.compile(r"Restored from snapshot index (\d+) to index (\d+) "
                     r"\(entry time (\S+), (\d+) ms\): (\d+) keys written to (\S+)")


def now_ms():
    return time.time_ns() // 1_000_000


def raft_info(c):
    text = c.execute_command("RAFT.INFO").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def mark(c):
    """The leader's commit index and a time that every entry so far is at
    or before and every later entry is after."""
    index = int(raft_info(c)["commit_index"])
    t = now_ms()
    wait_until(lambda: now_ms() > t, DEADLINE_S, what="the clock to move past the mark")
    return index, t


def phase0(port):
    c = redis.Redis(port=port)
    c.function_load(LIB0)
    for i in range(THRESHOLD + 2):
        c.set(f"p0:k{i}", i)
    wait_until(lambda: int(raft_info(c)["snapshot_last_idx"]) > 0, DEADLINE_S,
               what="a snapshot")
    c.rpush("p0:list", *range(50))
    c.hset("p0:hash", mapping={"a": 1, "b": 2})
    c.set("p0:ttl", "t", px=3_600_000)
    redis.Redis(port=port, db=3).set("p0:db3", "three", px=7_200_000)


def phase1(port):
    c = redis.Redis(port=port)
    c.function_load(LIB1)
    c.set("p0:k0", "changed")
    c.delete("p0:k1")
    c.rpush("p0:list", "more")
    c.zadd("p1:zset", {f"m{i}": i / 3 for i in range(200)})  # a skiplist
    c.sadd("p1:set", 1, 2, 300000)
    c.hset("p1:hash", mapping={f"f{i}": "v" * 80 for i in range(300)})
    c.expire("p1:hash", 5000)
    c.set("p1:big", "x" * 5000)
    c3 = redis.Redis(port=port, db=3)
    c3.rpush("p1:db3list", "a", "b")
    c3.persist("p0:db3")


def phase2(port):
    c = redis.Redis(port=port)
    c.set("p2:s", "later")
    c.set("p0:k2", "later")
    c.function_delete("lib0")
    redis.Redis(port=port, db=3).set("p2:db3", "later")
    c.flushall()


def view(port):
    """Each key's DEBUG DIGEST-VALUE and absolute expiry, per database, and
    the function libraries' names."""
    out = {}
    for db in DBS:
        c = redis.Redis(port=port, db=db)
        for k in c.keys():
            out[db, k] = (c.execute_command("DEBUG", "DIGEST-VALUE", k)[0],
                          c.execute_command("PEXPIRETIME", k))
    libs = redis.Redis(port=port).function_list()
    return out, sorted(lib[1] for lib in libs)


def dir_state(d):
    st = {name: (os.stat(os.path.join(d, name)).st_mtime_ns,
                 os.stat(os.path.join(d, name)).st_size) for name in os.listdir(d)}
    return st, os.stat(d).st_mtime_ns


def restore(data_dir, out, *target, env=None):
    return subprocess.run([BIN, "--restore-rdb", data_dir, *map(str, target), "--out", out],
                          capture_output=True, text=True, timeout=120, env=env)


def restored(data_dir, out, *target):
    r = restore(data_dir, out, *target)
    assert r.returncode == 0, r.stderr
    m = SUMMARY.search(r.stdout)
    assert m, r.stdout
    return m, r.stdout


def load_in_redis(redis_reference, path):
    d = tempfile.mkdtemp(prefix="raftcache-it-pitr-")
    shutil.copy(path, os.path.join(d, "dump.rdb"))
    ref = redis_reference("--dir", d, "--dbfilename", "dump.rdb", "--enable-debug-command",
                          "local")
    wait_until(lambda: ref.client().info("persistence")["loading"] == 0, DEADLINE_S,
               what="redis-server to load the file")
    return ref.port


def test_restore_by_time_and_index(start_server, redis_reference, tmp_path):
    srv = start_server({"raft-snapshot-threshold": THRESHOLD, "enable-debug-command": "local"})
    c = srv.client()
    phase0(srv.port)
    snap = int(raft_info(c)["snapshot_last_idx"])
    want0 = view(srv.port)
    idx0, t0 = mark(c)
    phase1(srv.port)
    want1 = view(srv.port)
    idx1, t1 = mark(c)
    phase2(srv.port)
    assert int(raft_info(c)["snapshot_last_idx"]) == snap  # the only one: before t0
    assert srv.stop() == 0
    before = dir_state(srv.data_dir)

    out = str(tmp_path / "t1.rdb")
    m, _ = restored(srv.data_dir, out, "--until", t1)
    assert int(m.group(1)) == snap and int(m.group(2)) == idx1 and int(m.group(4)) <= t1
    assert m.group(6) == out and int(m.group(5)) == len(want1[0])
    assert view(load_in_redis(redis_reference, out)) == want1

    out_idx = str(tmp_path / "idx1.rdb")
    m, _ = restored(srv.data_dir, out_idx, "--until-index", idx1)
    assert int(m.group(2)) == idx1
    assert view(load_in_redis(redis_reference, out_idx)) == want1

    m, _ = restored(srv.data_dir, str(tmp_path / "t0.rdb"), "--until", t0)
    assert int(m.group(2)) == idx0
    assert view(load_in_redis(redis_reference, str(tmp_path / "t0.rdb"))) == want0

    # past the end: everything, after the FLUSHALL (the library it left)
    m, stdout = restored(srv.data_dir, str(tmp_path / "end.rdb"), "--until", now_ms() + 60_000)
    assert int(m.group(5)) == 0 and "past the last committed entry" in stdout
    assert view(load_in_redis(redis_reference, str(tmp_path / "end.rdb"))) == ({}, [b"lib1"])

    # before the snapshot: refused, naming the earliest point and the directive
    for target in (("--until", 1), ("--until-index", snap - 1)):
        r = restore(srv.data_dir, str(tmp_path / "early.rdb"), *target)
        assert r.returncode == 1 and "before what" in r.stderr, r.stderr
        assert f"earliest restorable index is {snap}" in r.stderr or \
            f"earliest restorable point is index {snap}" in r.stderr, r.stderr
        assert "raft-snapshot-threshold" in r.stderr
    assert not (tmp_path / "early.rdb").exists()
    assert dir_state(srv.data_dir) == before

    # the file loads into a new raftcache through the log
    fresh = start_server({"enable-debug-command": "local"})
    fc = fresh.client()
    assert fc.execute_command("RAFT.IMPORT", out) == b"OK"
    wait_until(lambda: fc.info("persistence")["import_status"] == "done", DEADLINE_S,
               what="the import")
    assert view(fresh.port) == want1


def test_killed_node_running_node_and_bad_dirs(start_server, tmp_path):
    srv = start_server()
    c = srv.client()
    c.set("a", 1)
    c.rpush("l", 1, 2, 3)
    idx, _ = mark(c)
    c.set("b", 2)
    r = restore(srv.data_dir, str(tmp_path / "x.rdb"), "--until-index", idx)
    assert r.returncode == 1 and "in use by process" in r.stderr, r.stderr
    srv.proc.send_signal(signal.SIGKILL)
    srv.stop()
    assert os.path.getsize(os.path.join(srv.data_dir, "raftcache.db-wal")) > 0
    before = dir_state(srv.data_dir)
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    r = restore(srv.data_dir, str(tmp_path / "x.rdb"), "--until-index", idx, env=env)
    assert r.returncode == 0 and f"to index {idx} " in r.stdout, r.stdout + r.stderr
    assert "2 keys written" in r.stdout and "not known to be committed" not in r.stdout
    assert os.listdir(tmp) == [] and dir_state(srv.data_dir) == before
    for data_dir, err in ((str(tmp_path / "none"), "no such directory"),
                          (str(tmp), "not a raftcache data dir")):
        r = restore(data_dir, str(tmp_path / "y.rdb"), "--until", 1)
        assert r.returncode == 1 and err in r.stderr, r.stderr
    r = restore(srv.data_dir, os.path.join(srv.data_dir, "dump.rdb"), "--until", 1)
    assert r.returncode == 1 and "never writes to" in r.stderr, r.stderr
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    assert "--restore-rdb DIR" in r.stderr + r.stdout and "--until-index" in r.stderr + r.stdout
