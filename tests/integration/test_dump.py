"""DUMP and RESTORE as redis-server 7.0 has them (src/rdb/cmd_dump.h): every
type but streams, compared with redis-server 7.0.15 holding the same values
in the same encodings: the payload is byte for byte redis-server's where the
two hold a value alike (a hashtable's order and a long list's node
boundaries are each server's own), redis-server's RESTORE of raftcache's
payload gives back the same value and the reverse, RESTORE's errors are
redis-server's, and in a cluster RESTORE is a write every node applies
alike (a relative TTL made absolute by the leader). Payloads of the
encodings before RDB 10 (Redis 6.x and older) are built by hand
(tests/integration/rdb_bytes.py) and restored on both servers.

No sleeps: nothing here waits.
"""

import time

import redis

import rdb_bytes
from rdb_bytes import with_footer

LISTPACK_AND_SMALL = ["s:embstr", "s:int", "s:raw", "s:lzf", "l:small", "set:intset", "set:wide",
                      "z:lp", "z:skiplist", "h:lp"]
# the same values, laid out each server's own way: a hashtable's order, and
# where a list of several nodes cuts them (each server estimates a node's
# size its own way)
OWN_LAYOUT = ["set:ht", "set:big", "h:ht", "l:big"]


def fill(c):
    c.set("s:embstr", "bar")
    c.set("s:int", "-123")
    c.set("s:raw", "y" * 60 + "z")
    c.set("s:lzf", "abc" * 100)
    c.rpush("l:small", "a", "b", "1", "-70000", "x" * 70, "9000000000")
    c.rpush("l:big", *[f"element-{i}" for i in range(3000)])
    c.sadd("set:intset", 1, 2, 3, -40000)
    c.sadd("set:wide", 1, 2 ** 40)
    c.sadd("set:ht", "a", "b", "c")
    c.sadd("set:big", *range(600))
    c.zadd("z:lp", {"a": 1, "b": 2.5, "c": float("inf"), "d": -3, "e": 1e17, "f": 0.1})
    c.zadd("z:skiplist", {f"m{i}": i * 1.5 for i in range(200)})
    c.hset("h:lp", mapping={"f1": "-5", "f2": "300", "f3": "hello", "f4": "4000000000"})
    c.hset("h:ht", mapping={f"f{i}": f"v{i}" for i in range(600)})


def value_of(c, key):
    t = c.type(key)
    if t == b"string":
        return c.get(key)
    if t == b"list":
        return c.lrange(key, 0, -1)
    if t == b"set":
        return c.smembers(key)
    if t == b"zset":
        return c.zrange(key, 0, -1, withscores=True)
    return c.hgetall(key)


def test_dump_as_redis_writes_it(server, reference):
    ours = server.client()
    ref = reference()
    fill(ours)
    fill(ref)
    for key in LISTPACK_AND_SMALL + OWN_LAYOUT:
        assert ours.object("encoding", key) == ref.object("encoding", key), key
        payload = ours.dump(key)
        if key in LISTPACK_AND_SMALL:
            assert payload == ref.dump(key), key
        ref.restore(key + ":from-raftcache", 0, payload)
        assert value_of(ref, key + ":from-raftcache") == value_of(ref, key), key
    assert ours.dump("missing") is None


def test_dump_of_a_stream_says_it_is_not_offered(server):
    c = server.client()
    c.xadd("st", {"f": "v"})
    try:
        c.dump("st")
    except redis.ResponseError as e:
        assert "not offered yet" in str(e)
    else:
        raise AssertionError("DUMP of a stream succeeded")


def digest_of(c, key):
    return c.execute_command("DEBUG", "DIGEST-VALUE", key)


def test_restore_takes_redis_payloads(start_server, reference):
    ours = start_server({"enable-debug-command": "local"}).client()
    ref = reference("--enable-debug-command", "local")
    fill(ref)
    for key in LISTPACK_AND_SMALL + OWN_LAYOUT:
        assert ours.restore(key, 0, ref.dump(key)) == b"OK"
        assert ours.object("encoding", key) == ref.object("encoding", key), key
        assert digest_of(ours, key) == digest_of(ref, key), key
        assert value_of(ours, key) == value_of(ref, key), key
        # and back: raftcache's DUMP of what it restored, into redis-server
        ref.restore(key + ":back", 0, ours.dump(key))
        assert digest_of(ref, key + ":back") == digest_of(ref, key), key


def test_restore_errors_are_redis_errors(server, reference):
    ours = server.client()
    ref = reference()
    for c in (ours, ref):
        c.set("exists", "v")
    good = ref.dump("exists")
    calls = [
        ("exists", 0, good),
        ("k", -1, good),
        ("k", "x", good),
        ("k", 0, good, "bogus"),
        ("k", 0, good, "IDLETIME", -1),
        ("k", 0, good, "IDLETIME", "x"),
        ("k", 0, good, "FREQ", 256),
        ("k", 0, good, "FREQ", 1, "IDLETIME", 1),
        ("k", 0, good, "IDLETIME"),
        ("k", 0, good[:-1] + bytes([good[-1] ^ 1])),         # checksum
        ("k", 0, with_footer(good[:-10], version=11)),       # a newer RDB version
        ("k", 0, b"short"),
        ("k", 0, with_footer(b"\x00\x81" + b"\xff" * 8)),  # a string longer than the payload
        ("k", 0, with_footer(b"\x0e\x01\x00")),            # a list of one empty node
        ("k", 0, with_footer(b"\x63abc")),                  # no such type
    ]
    for args in calls:
        replies = []
        for c in (ours, ref):
            try:
                replies.append(c.execute_command("RESTORE", *args))
            except redis.ResponseError as e:
                replies.append(str(e))
        assert replies[0] == replies[1], args
    assert ours.exists("k") == 0 and ours.get("exists") == b"v"


def test_restore_ttl_options_and_event(server):
    c = server.client()
    c.config_set("notify-keyspace-events", "Kg")
    ps = c.pubsub()
    ps.psubscribe("__keyspace@0__:*")
    ps.get_message(timeout=5)
    c.set("src", "value")
    payload = c.dump("src")
    assert c.restore("t", 100000, payload) == b"OK"
    assert 0 < c.pttl("t") <= 100000
    before = int(time.time() * 1000)
    assert c.restore("a", before + 100000, payload, absttl=True) == b"OK"
    assert c.pexpiretime("a") == before + 100000
    # a time already past: nothing is created, and REPLACE deletes the key
    assert c.restore("gone", 1, payload, absttl=True) == b"OK"
    assert c.exists("gone") == 0
    assert c.restore("a", 1, payload, absttl=True, replace=True) == b"OK"
    assert c.exists("a") == 0
    assert c.restore("idle", 0, payload, idletime=1000) == b"OK"
    assert 1000 <= c.object("idletime", "idle") < 1100
    c.config_set("maxmemory-policy", "allkeys-lfu")
    assert c.restore("hot", 0, payload, frequency=100) == b"OK"
    assert c.object("freq", "hot") == 100
    events = []
    while (m := ps.get_message(timeout=1)) is not None:
        events.append((m["channel"].decode().split(":", 1)[1], m["data"].decode()))
    assert ("t", "restore") in events and ("a", "del") in events
    assert ("gone", "restore") not in events
    ps.close()


def test_restore_in_a_cluster(cluster):
    leader = cluster.client(cluster.leader())
    leader.rpush("l", *range(300))
    leader.zadd("z", {f"m{i}": i for i in range(10)})
    for key in ("l", "z"):
        payload = leader.dump(key)
        assert leader.restore(key + ":copy", 50000, payload) == b"OK"
    # a damaged payload is refused on every node alike; nothing diverges
    try:
        leader.restore("bad", 0, payload[:-1] + b"\x00")
    except redis.ResponseError as e:
        assert "checksum" in str(e)
    cluster.wait_converged()
    when = leader.pexpiretime("l:copy")
    assert when > 0
    for nd in cluster.followers():
        f = nd.readonly_client()
        # the log holds the leader's absolute time: every node expires it then
        assert f.pexpiretime("l:copy") == when
        assert f.lrange("l:copy", 0, -1) == leader.lrange("l", 0, -1)


def test_restore_takes_payloads_before_rdb_10(start_server, reference):
    """Redis 6.x's encodings (ziplists, zipmaps, text scores, RDB 9 footer):
    restored by raftcache and redis-server 7.0 to the same value, which is
    the value the commands build; the damaged ones refused by both alike."""
    ours = start_server({"enable-debug-command": "local"}).client()
    ref = reference("--enable-debug-command", "local")
    for name, (body, commands) in rdb_bytes.legacy_bodies().items():
        payload = with_footer(body, version=9)
        for c in (ours, ref):
            assert c.restore(name, 0, payload) == b"OK", name
            for cmd, *args in commands:
                c.execute_command(cmd, name + ":want", *args)
        assert digest_of(ours, name) == digest_of(ref, name), name
        assert digest_of(ours, name) == digest_of(ours, name + ":want"), name
        assert value_of(ours, name) == value_of(ref, name), name
    for name, body in rdb_bytes.damaged_legacy_bodies().items():
        replies = []
        for c in (ours, ref):
            try:
                replies.append(c.restore(name, 0, with_footer(body, version=9)))
            except redis.ResponseError as e:
                replies.append(str(e))
        assert replies == ["Bad data format"] * 2, name
        assert ours.exists(name) == 0, name
