"""DUMP as redis-server 7.0 writes it (src/rdb/cmd_dump.h): every type but
streams, compared with redis-server 7.0.15 holding the same values in the
same encodings: the payload is byte for byte redis-server's where the two
hold a value alike (a hashtable's order and a long list's node boundaries
are each server's own), and
redis-server's RESTORE of raftcache's payload gives back the same value.

No sleeps: nothing here waits.
"""

import redis

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
