"""raft-follower-proxy is indistinguishable from the leader: every command
that reads or writes the keyspace, sent to a follower, comes back byte for
byte as the leader answers it directly, in RESP2 and in RESP3 (a map for
HGETALL, a double for ZSCORE, a set for SMEMBERS...), errors included.

The same script runs twice on one 3-node cluster with the proxy on: on the
leader in one database, on a follower in another. Both run on the leader's
keyspace (the follower forwards), so the replies must be equal bytes. A
coverage check keeps the script whole: every command of COMMAND with the
write or readonly flag is in it or named in NOT_COMPARED with its reason.
"""

import hashlib

import pytest

from conftest import Raw

PROXY = {"raft-follower-proxy": "yes"}

LIB = """#!lua name=proxylib
redis.register_function('fget', function(keys, args) return redis.call('get', keys[1]) end)
redis.register_function{function_name='fget_ro', callback=function(keys, args)
  return redis.call('get', keys[1]) end, flags={'no-writes'}}
"""

RETURN_ONE = "return 1"
SHA_ONE = hashlib.sha1(RETURN_ONE.encode()).hexdigest()

# Commands the script leaves out, and why.
NOT_COMPARED = {
    "flushall": "acts on every database at once, the other side's too (test_databases.py)",
    "swapdb": "acts on two databases at once, the other side's too (test_databases.py)",
    "replicaof": "makes the cluster a Redis master's replica (test_replicaof.py)",
    "slaveof": "REPLICAOF's older name (test_replicaof.py)",
}

# {other} is a database of the side's own, for MOVE and COPY ... DB.
SCRIPT = [
    # strings; RANDOMKEY while the database holds one key
    ("SET", "s", "hello"), ("RANDOMKEY",), ("GET", "s"), ("APPEND", "s", " world"),
    ("STRLEN", "s"), ("GETRANGE", "s", 0, 4), ("SUBSTR", "s", 0, 4), ("SETRANGE", "s", 6, "W"),
    ("GETSET", "s", "v2"), ("GETEX", "s", "PERSIST"), ("GETDEL", "s"), ("GET", "s"),
    ("SET", "n", 10), ("INCR", "n"), ("INCRBY", "n", 5), ("DECR", "n"), ("DECRBY", "n", 2),
    ("INCRBYFLOAT", "n", "1.5"), ("MSET", "a", 1, "b", 2), ("MGET", "a", "b", "nokey"),
    ("MSETNX", "a", 1, "c", 3), ("SETNX", "d", 4), ("SETEX", "e", 100000, "v"),
    ("PSETEX", "f", 100000000, "v"), ("SET", "lc1", "ohmytext"), ("SET", "lc2", "mynewtext"),
    ("LCS", "lc1", "lc2"), ("LCS", "lc1", "lc2", "IDX", "MINMATCHLEN", 2, "WITHMATCHLEN"),
    ("SET", "s", "x", "GET"), ("INCR", "s"), ("GET",), ("SET", "s", "v", "NX", "XX"),
    # bits
    ("SETBIT", "b", 7, 1), ("GETBIT", "b", 7), ("BITCOUNT", "b"), ("BITPOS", "b", 1),
    ("BITOP", "OR", "b2", "b", "b"), ("BITFIELD", "b", "INCRBY", "u8", 0, 1, "GET", "u8", 0),
    ("BITFIELD_RO", "b", "GET", "u8", 0),
    # keys
    ("EXISTS", "a", "b", "nokey"), ("TYPE", "a"), ("DUMP", "a"), ("DUMP", "nokey"),
    ("RESTORE", "r", 100000, b"\x00\x05hello\n\x00cr\xdfve4 \n"), ("RESTORE", "r", 0, b"x"),
    ("RESTORE-ASKING", "ra", 0, b"\x00\x05hello\n\x00cr\xdfve4 \n"),
    ("MIGRATE", "127.0.0.1", 1, "nokey", 0, 1000), ("MIGRATE", "127.0.0.1", 1, "", 0, 1000,
                                                      "COPY", "KEYS", "nokey", "nokey2"),
    ("TOUCH", "a", "b"),
    ("EXPIRE", "a", 100000), ("EXPIREAT", "a", 4102444800), ("EXPIRETIME", "a"),
    ("PEXPIREAT", "b", 4102444800000), ("PEXPIRETIME", "b"), ("PEXPIRE", "c", 100000000),
    ("TTL", "nokey"), ("PTTL", "d"), ("PERSIST", "a"), ("RENAME", "a", "a2"),
    ("RENAMENX", "b", "a2"), ("COPY", "a2", "a3"), ("COPY", "a2", "a4", "DB", "{other}"),
    ("MOVE", "a3", "{other}"), ("DEL", "a2", "nokey"), ("UNLINK", "b"), ("DBSIZE",),
    ("KEYS", "lc1"), ("KEYS", "nomatch*"), ("SCAN", 0, "MATCH", "lc1", "COUNT", 1000),
    # hashes
    ("HSET", "h", "f1", "v1", "f2", "v2"), ("HSETNX", "h", "f1", "x"), ("HGET", "h", "f1"),
    ("HMGET", "h", "f1", "nof"), ("HMSET", "h", "f3", 3), ("HINCRBY", "h", "f3", 2),
    ("HINCRBYFLOAT", "h", "f3", "0.5"), ("HEXISTS", "h", "f1"), ("HLEN", "h"),
    ("HSTRLEN", "h", "f1"), ("HKEYS", "h"), ("HVALS", "h"), ("HGETALL", "h"),
    ("HSCAN", "h", 0), ("HSET", "h1", "only", "v"), ("HRANDFIELD", "h1"),
    ("HRANDFIELD", "h1", -2, "WITHVALUES"), ("HDEL", "h", "f2"), ("HGETALL", "nokey"),
    # lists
    ("RPUSH", "l", "a", "b", "c"), ("LPUSH", "l", "z"), ("LPUSHX", "l", "y"),
    ("RPUSHX", "l", "d"), ("LINSERT", "l", "BEFORE", "a", "q"), ("LLEN", "l"),
    ("LINDEX", "l", 0), ("LRANGE", "l", 0, -1), ("LPOS", "l", "a"), ("LSET", "l", 0, "Y"),
    ("LREM", "l", 1, "q"), ("LTRIM", "l", 0, 10), ("LPOP", "l"), ("RPOP", "l", 2),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("RPOPLPUSH", "l", "l2"),
    ("LMPOP", 1, "l", "LEFT", "COUNT", 1), ("LPOP", "nokey"), ("LPOP", "nokey", 2),
    ("LPUSH", "s", "x"),
    # blocking commands that find what they wait for, and one that times out
    ("RPUSH", "bl", "a", "b", "c", "d", "e"), ("BLPOP", "bl", 0), ("BRPOP", "bl", 0),
    ("BRPOPLPUSH", "bl", "bl2", 0), ("BLMOVE", "bl", "bl2", "LEFT", "RIGHT", 0),
    ("BLMPOP", 0, 1, "bl", "LEFT", "COUNT", 2), ("BLPOP", "empty", "0.01"),
    # sets
    ("SADD", "st", "a", "b", "c"), ("SCARD", "st"), ("SISMEMBER", "st", "a"),
    ("SMISMEMBER", "st", "a", "x"), ("SMEMBERS", "st"), ("SREM", "st", "c"),
    ("SMOVE", "st", "st2", "a"), ("SADD", "st2", "b"), ("SINTER", "st", "st2"),
    ("SUNION", "st", "st2"), ("SDIFF", "st2", "st"), ("SINTERCARD", 2, "st", "st2"),
    ("SINTERSTORE", "st3", "st", "st2"), ("SUNIONSTORE", "st4", "st", "st2"),
    ("SDIFFSTORE", "st5", "st2", "st"), ("SSCAN", "st", 0), ("SADD", "one", "m"),
    ("SRANDMEMBER", "one"), ("SRANDMEMBER", "one", 3), ("SPOP", "one"), ("SPOP", "nokey", 2),
    # sorted sets
    ("ZADD", "z", 1, "a", 2, "b", 3, "c"), ("ZSCORE", "z", "a"), ("ZMSCORE", "z", "a", "x"),
    ("ZINCRBY", "z", "1.5", "a"), ("ZCARD", "z"), ("ZCOUNT", "z", 0, 10),
    ("ZLEXCOUNT", "z", "-", "+"), ("ZRANK", "z", "b"), ("ZREVRANK", "z", "b"),
    ("ZRANGE", "z", 0, -1, "WITHSCORES"), ("ZRANGEBYSCORE", "z", 0, 10, "WITHSCORES"),
    ("ZREVRANGE", "z", 0, -1), ("ZREVRANGEBYSCORE", "z", 10, 0),
    ("ZADD", "zl", 0, "a", 0, "b"), ("ZRANGEBYLEX", "zl", "-", "+"),
    ("ZREVRANGEBYLEX", "zl", "+", "-"), ("ZRANGESTORE", "z2", "z", 0, 1),
    ("ZUNION", 2, "z", "z2", "WITHSCORES"), ("ZINTER", 2, "z", "z2"), ("ZDIFF", 2, "z", "z2"),
    ("ZINTERCARD", 2, "z", "z2"), ("ZUNIONSTORE", "z3", 2, "z", "z2"),
    ("ZINTERSTORE", "z4", 2, "z", "z2"), ("ZDIFFSTORE", "z5", 2, "z", "z2"),
    ("ZADD", "z1", 5, "m"), ("ZRANDMEMBER", "z1"), ("ZRANDMEMBER", "z1", 2, "WITHSCORES"),
    ("ZADD", "bz", 1, "a", 2, "b", 3, "c"), ("BZPOPMIN", "bz", 0), ("BZPOPMAX", "bz", 0),
    ("BZMPOP", 0, 1, "bz", "MIN"), ("BZPOPMIN", "empty", "0.01"),
    ("ZSCAN", "z", 0), ("ZPOPMIN", "z"), ("ZPOPMAX", "z", 2), ("ZMPOP", 1, "z3", "MIN"),
    ("ZREM", "z3", "a"), ("ZREMRANGEBYSCORE", "z3", 0, 1), ("ZREMRANGEBYRANK", "z4", 0, 0),
    ("ZREMRANGEBYLEX", "zl", "-", "+"), ("ZADD", "z", "NX", "XX", 1, "a"),
    # geo
    ("GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"),
    ("GEODIST", "g", "Palermo", "Catania", "km"), ("GEOHASH", "g", "Palermo"),
    ("GEOPOS", "g", "Palermo", "nowhere"),
    ("GEOSEARCH", "g", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "ASC", "WITHDIST"),
    ("GEOSEARCHSTORE", "g2", "g", "FROMMEMBER", "Palermo", "BYBOX", 400, 400, "km"),
    ("GEORADIUS", "g", 15, 37, 200, "km", "ASC", "WITHCOORD"),
    ("GEORADIUS_RO", "g", 15, 37, 200, "km", "ASC"),
    ("GEORADIUSBYMEMBER", "g", "Palermo", 200, "km", "WITHDIST"),
    ("GEORADIUSBYMEMBER_RO", "g", "Palermo", 200, "km"),
    # HyperLogLog
    ("PFADD", "hll", "a", "b", "c"), ("PFCOUNT", "hll"), ("PFMERGE", "hll2", "hll"),
    ("PFDEBUG", "ENCODING", "hll"),
    # streams
    ("XADD", "x", "1-1", "f", "v"), ("XADD", "x", "2-1", "f", "v2"), ("XLEN", "x"),
    ("XRANGE", "x", "-", "+"), ("XREVRANGE", "x", "+", "-", "COUNT", 1),
    ("XREAD", "COUNT", 1, "STREAMS", "x", 0), ("XREAD", "BLOCK", 0, "STREAMS", "x", 0),
    ("XREAD", "BLOCK", 10, "STREAMS", "x", "$"), ("XGROUP", "CREATE", "x", "g", 0),
    ("XREADGROUP", "GROUP", "g", "c", "COUNT", 2, "STREAMS", "x", ">"), ("XPENDING", "x", "g"),
    ("XACK", "x", "g", "1-1"), ("XCLAIM", "x", "g", "c2", 0, "2-1", "JUSTID"),
    ("XAUTOCLAIM", "x", "g", "c3", 0, "0-0"), ("XDEL", "x", "1-1"),
    ("XTRIM", "x", "MAXLEN", 10), ("XSETID", "x", "5-0"), ("XINFO", "STREAM", "x"),
    ("XADD", "x", "1-0", "f", "v"),
    # scripts and functions
    ("EVAL", "return redis.call('get', KEYS[1])", 1, "d"),
    ("EVAL", "redis.setresp(3); return redis.call('hgetall', KEYS[1])", 1, "h"),
    ("EVAL", "return {double=3.5}", 0), ("EVAL", "return redis.call('incr', KEYS[1])", 1, "d"),
    ("EVAL", RETURN_ONE, 0), ("EVALSHA", SHA_ONE, 0), ("EVALSHA_RO", SHA_ONE, 0),
    ("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "d"),
    ("EVAL", "return redis.call('nosuchcommand')", 0),
    ("FCALL", "fget", 1, "d"), ("FCALL_RO", "fget_ro", 1, "d"),
    # sort
    ("RPUSH", "sl", "b", "a", "c"), ("SORT", "sl", "ALPHA"), ("SORT_RO", "sl", "ALPHA", "DESC"),
    ("SORT", "sl", "ALPHA", "STORE", "sl2"), ("LRANGE", "sl2", 0, -1),
    # transactions, and WATCH
    ("MULTI",), ("SET", "t", 1), ("INCR", "t"), ("HGETALL", "h"), ("ZSCORE", "z1", "m"),
    ("EXEC",), ("MULTI",), ("INCR", "t"), ("NOSUCHCOMMAND",), ("EXEC",),
    ("MULTI",), ("LPUSH", "t", "x"), ("EXEC",), ("WATCH", "t"), ("GET", "t"), ("MULTI",),
    ("INCR", "t"), ("EXEC",), ("WATCH", "t"), ("UNWATCH",), ("MULTI",), ("DISCARD",),
    ("EXEC",), ("MULTI",), ("WATCH", "t"), ("DISCARD",),
    # last: the database emptied
    ("FLUSHDB",), ("DBSIZE",),
]


def run(conn, proto, db, other, pipelined):
    """The script's replies on conn (protocol proto, database db)."""
    conn.cmd("HELLO", proto)  # its reply names the node: not compared
    assert conn.cmd("SELECT", db) == b"+OK\r\n"
    cmds = [tuple(other if a == "{other}" else a for a in c) for c in SCRIPT]
    if pipelined:
        for c in cmds:
            conn.send(*c)
        return [conn.reply() for _ in cmds]
    return [conn.cmd(*c) for c in cmds]


@pytest.fixture
def proxied(make_cluster):
    cl = make_cluster(3, PROXY)
    with cl.leader().client() as lc:
        lc.function_load(LIB)
    return cl


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("pipelined", [False, True], ids=["one-by-one", "pipelined"])
def test_follower_replies_are_the_leaders_bytes(proxied, proto, pipelined):
    base = (proto - 2) * 8 + (4 if pipelined else 0)  # four databases of the 16 each
    ld, fol = proxied.leader(), proxied.followers()[0]
    direct, via = Raw(ld.port), Raw(fol.port)
    try:
        want = run(direct, proto, base, base + 1, False)
        got = run(via, proto, base + 2, base + 3, pipelined)
    finally:
        direct.close()
        via.close()
    diff = [(SCRIPT[i], w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g]
    assert not diff, "\n".join(f"{c}: leader {w!r}, through the proxy {g!r}" for c, w, g in diff)
    if proto == 3:  # the script reaches RESP3's own types
        kinds = {r[:1] for r in want}
        assert {b"%", b"~", b",", b"_"} <= kinds, kinds


def test_script_covers_every_keyspace_command(proxied):
    with proxied.leader().client(decode_responses=True) as c:
        table = c.command()
    keyspace = {name for name, info in table.items()
                if {"write", "readonly"} & set(info["flags"])}
    covered = {c[0].lower() for c in SCRIPT}
    missing = keyspace - covered - set(NOT_COMPARED)
    assert not missing, f"commands the proxy comparison does not send: {sorted(missing)}"
