"""RAFT.IMPORT: a dump.rdb that redis-server 7.0 SAVEd, loaded into a
3-node raftcache cluster through the log (src/server/import.h).

redis-server is filled with every type (strings, lists, sets, sorted sets,
hashes in their small and large encodings, streams with consumer groups),
TTLs, several databases and a FUNCTION LOAD library, then SAVEs; the
cluster imports the file and every node, followers included, must hold
what redis-server holds: DEBUG DIGEST per database (streams, whose digest
raftcache computes over more than Redis does, src/types/t_stream.c, live
in a database of their own, compared by XRANGE, XINFO GROUPS and the
pending entries). A damaged file (one byte flipped) is refused with
nothing applied; without REPLACE an existing key refuses the file,
REPLACE overwrites it. The 1M-key measurement is scripts/bench-import.py
(make bench-import), outside make test.

Waits: every wait polls a condition with a deadline (wait_until).
"""

import os
import subprocess

import pytest
import redis

from raftharness import wait_until

DEADLINE_S = 30
DIRECTIVES = {"raft-follower-proxy": "yes", "enable-debug-command": "local"}
DBS = (0, 1, 5)   # plain types, compared by DEBUG DIGEST
STREAM_DB = 2     # streams, compared by their entries, groups and PEL
LIB = """#!lua name=importlib
redis.register_function('ping_import', function(keys, args) return 'pong' end)
"""


def fill(ref):
    c0 = ref.client()
    c0.function_load(LIB)
    for db in DBS:
        c = ref.client(db=db)
        p = f"d{db}:"
        c.set(p + "s", "text")
        c.set(p + "n", 42)
        c.set(p + "big", "x" * 5000)  # LZF-compressed in the file
        c.set(p + "ttl", "t", px=3_600_000)
        c.rpush(p + "l", *range(300))
        c.rpush(p + "lbig", *[f"e{i}" * 20 for i in range(2000)])  # several quicklist nodes
        c.sadd(p + "iset", 1, 2, 300000)
        c.sadd(p + "set", *[f"m{i}" for i in range(600)])  # a hashtable set
        c.zadd(p + "z", {"a": 1.5, "b": -2})
        c.zadd(p + "zbig", {f"m{i}": i / 3 for i in range(300)})  # a skiplist
        c.hset(p + "h", mapping={"f": "v", "g": "w"})
        c.hset(p + "hbig", mapping={f"f{i}": "v" * 100 for i in range(600)})
        c.expire(p + "hbig", 7200)
        for i in range(100):
            c.set(f"{p}k{i}", i)
    c = ref.client(db=STREAM_DB)
    for i in range(300):
        c.xadd("st", {"f": i, "g": "x" * (i % 7)})
    c.xgroup_create("st", "g1", id="0")
    c.xgroup_create("st", "g2", id="$")
    c.xreadgroup("g1", "alice", {"st": ">"}, count=5)
    c.xreadgroup("g1", "bob", {"st": ">"}, count=3)
    c.xack("st", "g1", c.xrange("st", count=1)[0][0])
    c.xadd("st2", {"a": 1})


def streams(c):
    out = []
    for k in sorted(c.keys()):
        groups = c.xinfo_groups(k)
        pel = [[(p["message_id"], p["consumer"], p["times_delivered"])
                for p in c.xpending_range(k, g["name"], "-", "+", 100)] for g in groups]
        out.append((k, c.xrange(k), groups, pel))
    return out


def snapshot(nd_client):
    """What a node holds, per database: each key's DEBUG DIGEST-VALUE and
    whether it has a TTL, the streams' content, the libraries. (DEBUG
    DIGEST covers every database, streams included: compared once the
    streams are deleted, digest_without_streams.)"""
    out = {}
    for db in DBS:
        c = nd_client(db)
        out[db] = sorted((k, c.execute_command("DEBUG", "DIGEST-VALUE", k)[0], c.pttl(k) > 0)
                         for k in c.keys())
    out[STREAM_DB] = streams(nd_client(STREAM_DB))
    out["functions"] = [lib[1] for lib in nd_client(0).function_list()]  # its name
    return out


def save(ref):
    c = ref.client()
    assert c.save()
    return os.path.join(c.config_get("dir")["dir"], "dump.rdb")


def import_info(c):
    info = c.info("persistence")
    return {k[len("import_"):]: v for k, v in info.items() if k.startswith("import_")}


def wait_holds(nd, want):
    """Polls until nd's own data is want; then (or at the deadline) compares."""
    def got():
        return snapshot(lambda db: nd.readonly_client(db=db))
    try:
        wait_until(lambda: got() == want, DEADLINE_S, what=f"{nd} to hold what redis-server holds")
    finally:
        assert got() == want


def run_import(c, path, *opts, want="done"):
    assert c.execute_command("RAFT.IMPORT", path, *opts) == b"OK"
    return wait_until(lambda: (lambda i: i if i["status"] == want else None)(import_info(c)),
                      DEADLINE_S, what=f"import status {want}")


def test_import_every_type_into_a_cluster(make_cluster, redis_reference):
    ref = redis_reference("--enable-debug-command", "local")
    fill(ref)
    want = snapshot(lambda db: ref.client(db=db))
    path = save(ref)
    cl = make_cluster(3, directives=DIRECTIVES)
    leader = cl.leader()
    c = leader.client()
    info = run_import(c, path)
    assert info["keys_loaded"] == info["keys_total"] == sum(len(want[db]) for db in DBS) + 2
    assert info["functions_loaded"] == 1
    assert info["bytes_read"] == info["total_bytes"] == os.path.getsize(path)
    assert info["in_progress"] == 0 and info["last_error"] in ("", None)
    for nd in cl.nodes:  # the leader, then the followers' own data
        wait_holds(nd, want)
    assert 0 < c.pttl("d0:ttl") <= 3_600_000
    # the whole dataset's digest (TTLs included) once the streams are gone
    ref.client(db=STREAM_DB).delete("st", "st2")
    c.execute_command("SELECT", STREAM_DB)
    c.delete("st", "st2")
    c.execute_command("SELECT", 0)
    digest = ref.client().execute_command("DEBUG", "DIGEST")
    for nd in cl.nodes:
        wait_until(lambda: nd.readonly_client().execute_command("DEBUG", "DIGEST") == digest,
                   DEADLINE_S, what=f"{nd}'s DEBUG DIGEST to be redis-server's")
    assert c.fcall("ping_import", 0) == b"pong"
    assert "import of" in leader.log_tail().lower()
    # again without REPLACE: the keys exist, the file is refused, nothing changes
    info = run_import(c, path, want="refused")
    assert "exists" in info["last_error"] and "REPLACE" in info["last_error"]
    c.set("d0:s", "changed")
    run_import(c, path, "REPLACE")  # the streams deleted above come back too
    assert c.get("d0:s") == b"text"
    for nd in cl.nodes:
        wait_holds(nd, want)


def test_damaged_file_is_refused_with_nothing_applied(make_cluster, redis_reference, tmp_path):
    ref = redis_reference()
    fill(ref)
    data = bytearray(open(save(ref), "rb").read())
    cl = make_cluster(3, directives=DIRECTIVES)
    c = cl.leader().client()
    for where in (len(data) // 2, len(data) - 3):  # a value's byte, the checksum's
        bad = bytearray(data)
        bad[where] ^= 0x5A
        path = tmp_path / f"bad{where}.rdb"
        path.write_bytes(bytes(bad))
        info = run_import(c, str(path), want="refused")
        assert "offset" in info["last_error"], info
    truncated = tmp_path / "truncated.rdb"
    truncated.write_bytes(bytes(data[:len(data) // 3]))
    info = run_import(c, str(truncated), want="refused")
    assert "truncated" in info["last_error"], info
    for nd in cl.nodes:
        for db in (*DBS, STREAM_DB):
            assert nd.readonly_client(db=db).dbsize() == 0
        assert nd.readonly_client().function_list() == []


def test_errors_reply_at_once(make_cluster, tmp_path):
    cl = make_cluster(3, directives={"raft-follower-proxy": "no"})
    c = cl.leader().client()
    for args, err in ((("/nonexistent/dump.rdb",), "cannot open"),
                      (("x", "NOREPLACE"), "syntax error")):
        try:
            c.execute_command("RAFT.IMPORT", *args)
            raise AssertionError("no error")
        except redis.ResponseError as e:
            assert err in str(e)
    notrdb = tmp_path / "not.rdb"
    notrdb.write_bytes(b"hello, world")
    info = run_import(c, str(notrdb), want="refused")
    assert "bad magic" in info["last_error"]
    follower = cl.followers()[0].client()
    try:
        follower.execute_command("RAFT.IMPORT", str(notrdb))
        raise AssertionError("a follower imported")
    except redis.ResponseError as e:
        assert str(e).startswith("MOVED")


def test_backup_of_a_cluster_restores_into_a_new_one(make_cluster, tmp_path):
    """The backup docs/operations.md gives: `redis-cli --rdb` from any node
    of a running cluster (a follower here), then RAFT.IMPORT into a new
    cluster whose members know nothing of the old one."""
    old = make_cluster(3, directives=DIRECTIVES)
    fill(old.leader())
    want = snapshot(lambda db: old.leader().client(db=db))
    old.wait_converged()
    follower = old.followers()[0]
    backup = str(tmp_path / "backup.rdb")
    out = subprocess.run(["redis-cli", "-p", str(follower.port), "--rdb", backup],
                         capture_output=True, text=True, timeout=DEADLINE_S)
    assert out.returncode == 0, out.stdout + out.stderr
    new = make_cluster(3, directives=DIRECTIVES)
    run_import(new.leader().client(), backup)
    for nd in new.nodes:
        wait_holds(nd, want)


@pytest.mark.skipif(os.environ.get("RAFTCACHE_SANITIZED") == "1",
                    reason="a size test: test_import_every_type_into_a_cluster runs under ASan")
def test_import_a_million_keys_in_16_databases(make_cluster, redis_reference):
    """1M keys spread over all 16 databases (DEBUG POPULATE), every type of
    fill() beside them, TTLs on 10,000 of them: each node's DEBUG DIGEST
    (every database, TTLs included) is redis-server's."""
    ref = redis_reference("--enable-debug-command", "local")
    fill(ref)
    ref.client(db=STREAM_DB).delete("st", "st2")  # digests of streams differ (see above)
    per_db = 1_000_000 // 16
    for db in range(16):
        c = ref.client(db=db)
        c.execute_command("DEBUG", "POPULATE", per_db, f"m{db}", 16)
        with c.pipeline(transaction=False) as p:
            for i in range(0, per_db, per_db // 625):
                p.pexpire(f"m{db}:{i}", 3_600_000 + i)
            p.execute()
    total = sum(ref.client(db=db).dbsize() for db in range(16))
    assert total >= 1_000_000
    digest = ref.client().execute_command("DEBUG", "DIGEST")
    path = save(ref)
    cl = make_cluster(3, directives=DIRECTIVES)
    c = cl.leader().client(socket_timeout=120)
    assert c.execute_command("RAFT.IMPORT", path) == b"OK"
    info = wait_until(lambda: (lambda i: i if i["status"] == "done" else None)(import_info(c)),
                      300, interval_s=0.2, what="the import of 1M keys")
    assert info["keys_loaded"] == total
    for nd in cl.nodes:
        r = nd.readonly_client(socket_timeout=120)
        wait_until(lambda: sum(r.info("keyspace").get(f"db{db}", {}).get("keys", 0)
                               for db in range(16)) == total, 300, interval_s=0.2,
                   what=f"{nd} to hold every key")
        assert r.execute_command("DEBUG", "DIGEST") == digest, nd
    c.flushall()  # the teardown's convergence check and the nodes' stop stay quick
