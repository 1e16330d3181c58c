"""SAVE, BGSAVE and redis-cli --rdb (src/server/persist.h,
src/servercmd/cmd_save.h): the dump.rdb raftcache writes passes
redis-check-rdb and loads in redis-server 7.0 with the same data (every
type and encoding, TTLs, several databases, a function library); a BGSAVE
taken while a writer keeps writing holds one point in time; a redis-server
replica is refused.

Waits: every wait polls a condition with a deadline (wait_until).
"""

import os
import shutil
import subprocess
import tempfile
import threading

import pytest
import redis

from raftharness import wait_until

DEADLINE_S = 30
LIB = "#!lua name=rdblib\nredis.register_function('rdbf', function() return 7 end)"

pytestmark = pytest.mark.skipif(shutil.which("redis-check-rdb") is None,
                                reason="redis-check-rdb is not installed")


def fill(c):
    """Every type, small and large encodings, TTLs, databases 0 and 3."""
    c.set("s", "text")
    c.set("n", 42)
    c.set("long", "x" * 5000)
    c.set("ttl", "t", px=900000)
    c.rpush("l", *range(300))
    c.sadd("iset", 1, 2, 3)
    c.sadd("set", *[f"m{i}" for i in range(200)])
    c.zadd("z", {"a": 1.5, "b": -2})
    c.zadd("zbig", {f"m{i}": i / 3 for i in range(200)})
    c.hset("h", mapping={"f": "v", "g": "w"})
    c.hset("hbig", mapping={f"f{i}": i for i in range(200)})
    c.expire("hbig", 800000)
    for i in range(5):
        c.xadd("st", {"f": i})
    c.xgroup_create("st", "g", id="0")
    c.xreadgroup("g", "alice", {"st": ">"}, count=2)
    c.execute_command("FUNCTION", "LOAD", "REPLACE", LIB)
    c3 = redis.Redis(port=c.connection_pool.connection_kwargs["port"], db=3)
    c3.set("db3", "three", px=700000)
    c3.rpush("db3list", "a", "b")


def view(port):
    """What must match: each key's digest (a stream as its entries, groups
    and pending entries: raftcache's stream digest covers its groups, beyond
    Redis's, src/types/t_stream.c), TTLs to the minute, then the dataset's
    DEBUG DIGEST without the stream, and the function library."""
    out = {}
    for db in (0, 3):
        c = redis.Redis(port=port, db=db)
        for k in sorted(c.keys()):
            if c.type(k) == b"stream":
                pel = c.xpending_range(k, "g", "-", "+", 10)
                out[db, k] = (c.xrange(k), c.xinfo_groups(k),
                              [(p["message_id"], p["consumer"]) for p in pel])
            else:
                out[db, k] = (c.execute_command("DEBUG", "DIGEST-VALUE", k), c.pttl(k) // 60000)
    c = redis.Redis(port=port)
    libs = c.execute_command("FUNCTION", "LIST", "WITHCODE")
    c.delete("st")
    return out, c.execute_command("DEBUG", "DIGEST"), len(libs)


def check_rdb(path):
    r = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "RDB looks OK" in r.stdout, r.stdout + r.stderr


def load_in_redis(redis_reference, path):
    """A redis-server started on the file: its port, once loaded."""
    d = tempfile.mkdtemp(prefix="raftcache-it-rdb-")
    shutil.copy(path, os.path.join(d, "dump.rdb"))
    ref = redis_reference("--dir", d, "--dbfilename", "dump.rdb", "--enable-debug-command",
                          "local")
    c = ref.client()
    wait_until(lambda: c.info("persistence")["loading"] == 0, DEADLINE_S,
               what="redis-server to load the file")
    return ref.port


def rdb_path(srv):
    return os.path.join(srv.data_dir, "dump.rdb")


def test_save_and_bgsave_load_in_redis(start_server, redis_reference):
    srv = start_server({"enable-debug-command": "local"})
    c = srv.client()
    fill(c)
    before = c.lastsave()
    assert c.save() is True
    check_rdb(rdb_path(srv))
    want = view(srv.port)
    assert view(load_in_redis(redis_reference, rdb_path(srv))) == want
    assert c.info("persistence")["rdb_changes_since_last_save"] == 1  # view's DEL
    # BGSAVE, into another file name
    fill(c)
    c.set("after", "bgsave")
    c.config_set("dbfilename", "bg.rdb")
    saves = c.info("persistence")["rdb_saves"]
    assert c.bgsave() is True  # redis-py reads "+Background saving started" as True

    def saved():
        p = c.info("persistence")
        return p["rdb_saves"] > saves and p["rdb_bgsave_in_progress"] == 0
    wait_until(saved, DEADLINE_S, what="the BGSAVE to end")
    p = c.info("persistence")
    assert p["rdb_last_bgsave_status"] == "ok" and p["rdb_changes_since_last_save"] == 0
    assert c.lastsave() >= before
    path = os.path.join(srv.data_dir, "bg.rdb")
    check_rdb(path)
    want = view(srv.port)
    assert view(load_in_redis(redis_reference, path)) == want
    assert not [f for f in os.listdir(srv.data_dir) if f.startswith("temp-")]
    with pytest.raises(redis.ResponseError, match="can't be a path"):
        c.config_set("dbfilename", "a/b.rdb")


def test_redis_cli_rdb_and_replicas_refused(start_server, redis_reference):
    srv = start_server({"enable-debug-command": "local"})
    c = srv.client()
    fill(c)
    path = os.path.join(srv.workdir, "cli.rdb")
    r = subprocess.run(["redis-cli", "-p", str(srv.port), "--rdb", path], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "Transfer finished with success" in r.stderr, r.stderr
    check_rdb(path)
    want = view(srv.port)
    assert view(load_in_redis(redis_reference, path)) == want
    # a redis-server replica announces itself: refused with the reason
    replica = redis.Redis(port=srv.port)
    assert replica.execute_command("REPLCONF", "listening-port", 6380) == b"OK"
    for cmd in (["PSYNC", "?", "-1"], ["SYNC"]):
        with pytest.raises(redis.ResponseError, match="Raft group"):
            replica.execute_command(*cmd)
    assert c.execute_command("REPLCONF", "capa", "eof", "rdb-only", "1") == b"OK"
    # REPLCONF alone sets nothing (redis-server answers OK too; it once read
    # past its arguments: make asan-integration's command fuzz)
    assert c.execute_command("REPLCONF") == b"OK"


def writer(port, keys, stop, rounds):
    """Round after round, sets every key to the round's number, in order."""
    c = redis.Redis(port=port)
    n = 0
    while not stop.is_set():
        n += 1
        p = c.pipeline(transaction=False)
        for i in range(keys):
            p.set(f"k{i:05d}", n)
        p.execute()
        rounds[0] = n


def test_bgsave_under_writes_is_one_point_in_time(start_server, redis_reference):
    srv = start_server({"enable-debug-command": "local"})
    c = srv.client()
    keys = 3000
    p = c.pipeline(transaction=False)
    for i in range(60000):  # bulk, so that the walk spans many loop iterations
        p.set(f"pad{i}", "p" * 200)
    p.execute()
    stop, rounds = threading.Event(), [0]
    t = threading.Thread(target=writer, args=(srv.port, keys, stop, rounds))
    t.start()
    try:
        wait_until(lambda: rounds[0] >= 2, DEADLINE_S, what="the writer to run")
        saves = c.info("persistence")["rdb_saves"]
        assert c.bgsave() is True  # redis-py reads "+Background saving started" as True
        wait_until(lambda: c.info("persistence")["rdb_saves"] > saves, DEADLINE_S,
                   what="the BGSAVE to end")
    finally:
        stop.set()
        t.join()
    path = rdb_path(srv)
    check_rdb(path)
    ref = redis.Redis(port=load_in_redis(redis_reference, path))
    values = [int(v) for v in ref.mget([f"k{i:05d}" for i in range(keys)])]
    # one point in time: a prefix of the keys has round n, the rest n - 1
    assert values == sorted(values, reverse=True) and values[0] - values[-1] <= 1, values
    assert ref.dbsize() == keys + 60000
