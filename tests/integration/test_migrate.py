"""MIGRATE both ways between raftcache and redis-server 7.0,
`redis-cli --cluster import` into a raftcache cluster (src/server/migrate.h,
src/servercmd/cmd_migrate.h), and scripts/import-from-redis.py from a
standalone Redis and a Redis Cluster.

Waits: every wait polls a condition with a deadline (wait_until).
"""

import os
import subprocess
import threading

import redis

from conftest import ROOT, free_port
from raftharness import wait_until

DEADLINE_S = 30


def fill(c, prefix=""):
    c.set(prefix + "s", "text")
    c.set(prefix + "n", 42)
    c.set(prefix + "ttl", "x", px=500000)
    c.rpush(prefix + "l", *range(300))
    c.sadd(prefix + "set", "a", "b", 7)
    c.zadd(prefix + "z", {"a": 1.5, "b": -2})
    c.hset(prefix + "h", mapping={"f": "v", "g": "w"})
    for i in range(5):
        c.xadd(prefix + "st", {"f": i})
    c.xgroup_create(prefix + "st", "g", id="0")
    c.xreadgroup("g", "alice", {prefix + "st": ">"}, count=2)


KEYS = ["s", "n", "ttl", "l", "set", "z", "h", "st"]


def digests(c, keys):
    """DEBUG DIGEST-VALUE of each key; a stream as its entries, groups and
    pending entries (raftcache's stream digest covers its groups, beyond
    Redis's: src/types/t_stream.c)."""
    out = []
    for k in keys:
        if c.type(k) == b"stream":
            pel = [(p["message_id"], p["consumer"], p["times_delivered"])
                   for p in c.xpending_range(k, "g", "-", "+", 10)]
            out.append((c.xrange(k), c.xinfo_groups(k), pel))
        else:
            out.append(c.execute_command("DEBUG", "DIGEST-VALUE", k))
    return out


def test_migrate_to_redis_and_back(start_server, redis_reference):
    ours = start_server({"enable-debug-command": "local"}).client()
    ref_srv = redis_reference("--enable-debug-command", "local", password="pw")
    ref = ref_srv.client()
    fill(ours)
    want = digests(ours, KEYS)
    assert ours.execute_command("MIGRATE", "127.0.0.1", ref_srv.port, "", 0, 5000,
                                "AUTH2", "default", "pw", "KEYS", *KEYS, "missing") == b"OK"
    assert ours.exists(*KEYS) == 0
    assert digests(ref, KEYS) == want
    assert 0 < ref.pttl("ttl") <= 500000
    # the connection is kept for the next MIGRATE to the same address
    assert ours.info("stats")["migrate_cached_sockets"] == 1
    # and back: redis-server's MIGRATE into raftcache
    assert ref.execute_command("MIGRATE", "127.0.0.1", ours.connection_pool.connection_kwargs[
        "port"], "", 0, 5000, "KEYS", *KEYS) == b"OK"
    assert digests(ours, KEYS) == want and ref.exists(*KEYS) == 0
    assert ours.execute_command("MIGRATE", "127.0.0.1", ref_srv.port, "missing", 0,
                                1000) == b"NOKEY"


def test_migrate_errors_and_options(start_server, redis_reference, reference):
    ours = start_server().client()
    ref_srv = redis_reference()
    ref = ref_srv.client()
    port = ref_srv.port
    ours.mset({"a": 1, "b": 2})
    ref.set("b", "theirs")
    # BUSYKEY for b: a is moved and deleted, b stays, the first error is the reply
    try:
        ours.execute_command("MIGRATE", "127.0.0.1", port, "", 0, 1000, "KEYS", "a", "b")
        raise AssertionError("MIGRATE over an existing key succeeded")
    except redis.ResponseError as e:
        assert str(e) == ("Target instance replied with error: BUSYKEY Target key name "
                          "already exists.")
    assert ours.exists("a") == 0 and ours.get("b") == b"2" and ref.get("b") == b"theirs"
    # COPY REPLACE: overwritten there, kept here
    assert ours.execute_command("MIGRATE", "127.0.0.1", port, "b", 0, 1000, "COPY",
                                "REPLACE") == b"OK"
    assert ours.get("b") == b"2" and ref.get("b") == b"2"
    # each side migrating to the other one: the same errors
    errors = [
        ("b", 0, 1000, "AUTH", "wrong"),   # the target has no password
        ("b", 99, 1000),                   # no database 99 there
        ("b", 0, 1000, "KEYS", "a"),       # KEYS with a key
        ("b", 0, 1000, "BOGUS"),
        ("b", "x", 1000),
    ]
    ref.set("b", 2)
    ours_port = ours.connection_pool.connection_kwargs["port"]
    for args in errors:
        replies = []
        for c, target in ((ours, port), (ref, ours_port)):
            try:
                replies.append(c.execute_command("MIGRATE", "127.0.0.1", target, *args))
            except redis.ResponseError as e:
                replies.append(str(e))
        assert replies[0] == replies[1], args
    try:
        ours.execute_command("MIGRATE", "127.0.0.1", 1, "b", 0, 1000)
        raise AssertionError("MIGRATE to a closed port succeeded")
    except redis.ResponseError as e:
        assert str(e) == "IOERR error or timeout connecting to the client"
    assert ours.get("b") == b"2"
    # inside MULTI it is refused (a transaction runs on every node)
    p = ours.pipeline(transaction=True)
    p.execute_command("MIGRATE", "127.0.0.1", port, "b", 0, 1000)
    assert "not offered inside MULTI" in str(p.execute(raise_on_error=False)[0])


def test_a_key_written_while_it_travels_stays(start_server, redis_reference):
    """The target stops answering for a while (DEBUG SLEEP): a write to the
    key meanwhile must not be lost when MIGRATE's deletion is applied."""
    srv = start_server()
    ours = srv.client()
    ref_srv = redis_reference("--enable-debug-command", "local")
    ours.set("k", "old")
    sleeper = ref_srv.client()
    t = threading.Thread(target=lambda: sleeper.execute_command("DEBUG", "SLEEP", "2"))
    t.start()

    def asleep():
        try:
            redis.Redis(port=ref_srv.port, socket_timeout=0.2).ping()
            return False
        except redis.TimeoutError:
            return True
    wait_until(asleep, DEADLINE_S, what="DEBUG SLEEP to start")
    result = {}

    def migrate():
        result["r"] = srv.client().execute_command("MIGRATE", "127.0.0.1", ref_srv.port, "k", 0,
                                                   5000)
    m = threading.Thread(target=migrate)
    m.start()
    writer = srv.client()
    # the MIGRATE is under way once raftcache has a connection out to the target
    wait_until(lambda: any(cl.get("cmd") == "migrate" for cl in writer.client_list()),
               DEADLINE_S, what="MIGRATE to be under way")
    writer.set("k", "new")
    # the target sleeps 2 s, the write took a round trip: MIGRATE still waits
    # for its reply, so its deletion comes after the write in the log
    assert m.is_alive()
    m.join(DEADLINE_S)
    t.join(DEADLINE_S)
    assert result["r"] == b"OK"
    assert ours.get("k") == b"new"
    assert ref_srv.client().get("k") == b"old"


def test_migrate_in_a_cluster_and_cluster_import(make_cluster, redis_reference):
    cl = make_cluster(3, directives={"raft-follower-proxy": "yes"})
    leader = cl.client(cl.leader())
    ref_srv = redis_reference()
    ref = ref_srv.client()
    fill(leader, "c:")
    # MIGRATE sent to a follower runs on the leader; every node deletes the keys
    follower = cl.client(cl.followers()[0])
    assert follower.execute_command("MIGRATE", "127.0.0.1", ref_srv.port, "", 0, 5000, "KEYS",
                                    *["c:" + k for k in KEYS]) == b"OK"
    assert ref.exists(*["c:" + k for k in KEYS]) == len(KEYS)
    cl.wait_converged()
    for nd in cl.nodes:
        assert nd.readonly_client().exists(*["c:" + k for k in KEYS]) == 0
    # redis-cli --cluster import from redis-server into the cluster
    fill(ref, "i:")
    ref.mset({f"i:k{i}": i for i in range(200)})
    out = subprocess.run(["redis-cli", "--cluster", "import", f"127.0.0.1:{cl.leader().port}",
                          "--cluster-from", f"127.0.0.1:{ref_srv.port}", "--cluster-copy"],
                         capture_output=True, text=True, timeout=DEADLINE_S)
    assert out.returncode == 0, out.stdout + out.stderr
    assert leader.dbsize() == ref.dbsize()
    for k in KEYS:
        assert leader.dump("i:" + k) == ref.dump("i:" + k) or k == "l", k
    assert leader.lrange("i:l", 0, -1) == ref.lrange("i:l", 0, -1)


def import_script(*args):
    return subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts",
                                                            "import-from-redis.py"), *args],
                          capture_output=True, text=True, timeout=DEADLINE_S * 4)


def test_import_script_from_redis_and_redis_cluster(tmp_path, start_server, redis_reference):
    """scripts/import-from-redis.py: a standalone redis-server's databases,
    then a Redis Cluster's keys across slots (one slot per MIGRATE)."""
    srv = start_server({"requirepass": "pw"}, password="pw")
    ours = srv.client()
    plain_srv = redis_reference()
    plain = plain_srv.client()
    fill(plain)
    plain.select(3)
    plain.set("in-db3", "x")
    plain.select(0)
    out = import_script("--from", f"127.0.0.1:{plain_srv.port}", "--to", f"127.0.0.1:{srv.port}",
                        "--to-password", "pw")
    assert out.returncode == 0, out.stdout + out.stderr
    assert ours.dbsize() == plain.dbsize()
    assert srv.client(db=3).get("in-db3") == b"x"
    for k in KEYS:
        assert ours.dump(k) == plain.dump(k) or k in ("l", "st"), k
    # a second run stops at the first key raftcache holds, unless --replace
    out = import_script("--from", f"127.0.0.1:{plain_srv.port}", "--to", f"127.0.0.1:{srv.port}",
                        "--to-password", "pw")
    assert out.returncode == 1 and "BUSYKEY" in out.stderr
    # a Redis Cluster of one master holding every slot
    conf = tmp_path / "nodes.conf"
    # its bus port given (port + 10000, Redis's default, can pass 65535)
    cl_srv = redis_reference("--cluster-enabled", "yes", "--cluster-config-file", str(conf),
                             "--cluster-port", free_port())
    cl = cl_srv.client()
    cl.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
    wait_until(lambda: cl.info("cluster") and b"cluster_state:ok" in
               cl.execute_command("CLUSTER", "INFO"), DEADLINE_S, what="the cluster to be ok")
    p = cl.pipeline(transaction=False)
    for i in range(500):
        p.set(f"c:{i}", i)
    p.execute()
    out = import_script("--from", f"127.0.0.1:{cl_srv.port}", "--to", f"127.0.0.1:{srv.port}",
                        "--to-password", "pw", "--move", "--batch", "50")
    assert out.returncode == 0, out.stdout + out.stderr
    assert cl.dbsize() == 0
    assert ours.mget([f"c:{i}" for i in range(500)]) == [str(i).encode() for i in range(500)]
