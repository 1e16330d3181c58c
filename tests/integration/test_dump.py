"""DUMP and RESTORE as redis-server 7.0 has them (src/rdb/cmd_dump.h): every
type, streams with their consumer groups included, compared with redis-server 7.0.15 holding the same values
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


def fill_streams(c):
    """Streams built alike on both servers: explicit IDs, and no consumer
    (a consumer's seen time and a delivery's time are each server's
    clock)."""
    c.xadd("x:one", {"f": "v"}, id="1-1")
    for i in range(1, 251):  # three nodes of 100 entries, the last of 50
        fields = {"name": f"n{i}", "n": i} if i % 7 else {"other": "x" * (i % 30), "n": -i}
        c.xadd("x:nodes", fields, id=f"{1000 + i // 3}-{i % 3}")
    c.xdel("x:nodes", "1001-0", "1010-1", "1083-2")
    c.xtrim("x:nodes", minid="1005-0", approximate=False)
    c.xadd("x:groups", {"a": 1}, id="5-0")
    c.xadd("x:groups", {"a": 2, "b": 70000}, id="6-3")
    c.xgroup_create("x:groups", "g2", id="0")
    c.xgroup_create("x:groups", "g1", id="5-0")
    c.execute_command("XGROUP", "SETID", "x:groups", "g2", "6-3", "ENTRIESREAD", 2)
    c.xgroup_create("x:empty", "g", id="$", mkstream=True)
    c.xadd("x:deleted", {"f": "v"}, id="9-9")
    c.xdel("x:deleted", "9-9")
    for i in range(60):  # past 4096 bytes: a node cut by its size
        c.xadd("x:big", {"f": "v" * 100, "i": i}, id=f"{i + 1}-0")


STREAMS = ["x:one", "x:nodes", "x:groups", "x:empty", "x:deleted", "x:big"]


def fill_consumers(c):
    """A stream with consumers and pending entries, deleted entries and a
    tombstone-only node (an exact MINID trim leaves one)."""
    for i in range(1, 150):
        c.xadd("x:cg", {"k": i, "v": "w" * (i % 5)}, id=f"{i}-0")
    c.xgroup_create("x:cg", "grp", id="0")
    c.xgroup_create("x:cg", "other", id="0")
    c.xreadgroup("grp", "alice", {"x:cg": ">"}, count=5)
    c.xreadgroup("grp", "bob", {"x:cg": ">"}, count=3)
    c.xreadgroup("other", "carol", {"x:cg": ">"}, count=120)
    c.xack("x:cg", "grp", "2-0")
    c.xclaim("x:cg", "grp", "bob", 0, ["3-0"])
    c.xgroup_createconsumer("x:cg", "grp", "idle")
    c.xdel("x:cg", "7-0", "8-0", "120-0")
    c.xadd("x:tomb", {"f": 1}, id="1-1")
    c.xadd("x:tomb", {"f": 2}, id="1-2")
    c.xadd("x:tomb", {"f": 3}, id="1-3")
    c.xdel("x:tomb", "1-3")
    c.xtrim("x:tomb", minid="1-3", approximate=False)
    c.xadd("x:tomb", {"f": 4}, id="2-0")


def xinfo_full(c, key):
    """XINFO STREAM FULL but radix-tree-nodes (the nodes of Redis's radix
    tree, which raftcache, holding its nodes in an array, only estimates)."""
    reply = c.execute_command("XINFO", "STREAM", key, "FULL")
    return [(reply[i], reply[i + 1]) for i in range(0, len(reply), 2)
            if reply[i] != b"radix-tree-nodes"]


def test_stream_dump_as_redis_writes_it(start_server, reference):
    ours = start_server({"enable-debug-command": "local"}).client()
    ref = reference("--enable-debug-command", "local")
    fill_streams(ours)
    fill_streams(ref)
    for key in STREAMS:
        assert xinfo_full(ours, key) == xinfo_full(ref, key), key
        payload = ours.dump(key)
        assert payload == ref.dump(key), key
        ref.restore(key + ":from-raftcache", 0, payload)
        assert digest_of(ref, key + ":from-raftcache") == digest_of(ref, key), key
        assert xinfo_full(ref, key + ":from-raftcache") == xinfo_full(ref, key), key


def test_stream_restore_both_ways(start_server, reference):
    ours = start_server({"enable-debug-command": "local"}).client()
    ref = reference("--enable-debug-command", "local")
    fill_consumers(ref)
    fill_streams(ref)
    for key in ["x:cg", "x:tomb"] + STREAMS:
        payload = ref.dump(key)
        assert ours.restore(key, 0, payload) == b"OK"
        assert xinfo_full(ours, key) == xinfo_full(ref, key), key
        # the same stream, times and all, on both: the same bytes back
        assert ours.dump(key) == payload, key
        ref.restore(key + ":back", 0, ours.dump(key))
        assert digest_of(ref, key + ":back") == digest_of(ref, key), key
        assert xinfo_full(ref, key + ":back") == xinfo_full(ref, key), key
        ours.restore(key + ":again", 0, ours.dump(key))
        assert digest_of(ours, key + ":again") == digest_of(ours, key), key
    # it is a stream like any other: the groups go on from the payload
    assert ours.xreadgroup("grp", "alice", {"x:cg": ">"}, count=1) == \
        ref.xreadgroup("grp", "alice", {"x:cg": ">"}, count=1)


# redis-server 5's DUMP (RDB 9, type 15) from Redis's own
# tests/unit/type/stream-cgroups.tcl: XADD 1-0 .. 6-0, XDEL 3-0, two groups,
# XREADGROUP of 4 by g1, XTRIM MAXLEN = 2.
LEGACY_STREAM = bytes.fromhex(
    "0f011000000000000000010000000000000000c3404a405716570000002300020104010101846461"
    "746105000103010020010381610204200a0001400a0062600a0002400a0063600a4022018164200a"
    "4039200a0065600a0005400a0066200a00ff02060002026731050004000000000000000100000000"
    "000000003ef783437a01000001000000000000000200000000000000003ef783437a010000010000"
    "00000000000400000000000000003ef783437a01000001000000000000000500000000000000003e"
    "f783437a0100000101036331313ef783437a01000004000000000000000100000000000000000000"
    "00000000000200000000000000000000000000000004000000000000000000000000000000050000"
    "0000000000000267320000000009003d52ef6867521dfa")


def test_restore_of_a_redis_6_stream(start_server, reference):
    ours = start_server().client()
    ref = reference()
    for c in (ours, ref):
        assert c.restore("x", 0, LEGACY_STREAM) == b"OK"
    assert xinfo_full(ours, "x") == xinfo_full(ref, "x")
    info = ours.xinfo_stream("x")
    assert info["entries-added"] == 2 and info["max-deleted-entry-id"] == b"0-0"
    assert ours.dump("x") == ref.dump("x")


def restore_reply(c, key, payload):
    try:
        return c.restore(key, 0, payload, replace=True)
    except redis.ResponseError as e:
        return str(e)


def test_damaged_streams_are_refused(start_server, reference):
    """Truncations of a stream's body (its footer made good again) are
    refused (redis-server may read a cut body on into its footer); a bit
    flipped is refused or gives a stream redis-server takes too, the same
    value (raftcache writes a listpack's elements afresh, so a listpack
    damaged into a longer encoding comes back in the usual one), and the
    node serves on. Every offset of a small stream, a sample of a large."""
    ours = start_server().client()
    ref = reference("--enable-debug-command", "local")
    fill_consumers(ref)
    for key in ("x:tomb", "x:cg"):
        body = ref.dump(key)[:-10]
        offsets = [i for i in range(len(body)) if i < 200 or i % 23 == 0]
        for cut in offsets[1:]:
            assert restore_reply(ours, "d", with_footer(body[:cut])) == "Bad data format", cut
        for i in offsets:
            for bit in (0, 7):
                damaged = with_footer(body[:i] + bytes([body[i] ^ (1 << bit)]) + body[i + 1:])
                if restore_reply(ours, "d", damaged) != b"OK":
                    continue
                assert restore_reply(ref, "d", damaged) == b"OK", (key, i, bit)
                assert xinfo_full(ours, "d") == xinfo_full(ref, "d"), (key, i, bit)
                ref.restore("d:back", 0, ours.dump("d"), replace=True)
                assert digest_of(ref, "d:back") == digest_of(ref, "d"), (key, i, bit)
    assert ours.ping()


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
