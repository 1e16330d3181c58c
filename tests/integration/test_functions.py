"""Redis 7.0 functions (FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS,
FCALL, FCALL_RO) as a redis-py user sees them, on one node and in a
cluster.

- One node: a library loads, lists with its functions' flags and
  descriptions, runs; FCALL_RO refuses a function that may write; DELETE,
  DUMP + RESTORE (and its policies) and STATS answer as Redis's; a
  library's code loads without math, redis.call or new globals, and its
  functions see no KEYS or ARGV globals.
- In a cluster: FUNCTION LOAD goes through the log, so a library loaded
  on the leader is listed by every node (a READONLY connection to a
  follower), its functions' writes reach every node, a no-writes function
  runs on a follower, and DELETE and RESTORE change every node's registry.

The expected replies are redis-server 7.0's: RAFTCACHE_BIN=redis-server
runs the single-node tests against it.
"""

import pytest
import redis

from conftest import KIND, wait_until

cluster_only = pytest.mark.skipif(KIND != "raftcache", reason="a raftcache cluster")

LIB = """#!lua name=counters
redis.register_function('bump', function(keys, args)
    return redis.call('incrby', keys[1], args[1])
end)
redis.register_function{
    function_name = 'peek',
    callback = function(keys) return redis.call('get', keys[1]) end,
    flags = {'no-writes'},
    description = 'reads a counter',
}
"""


def libraries(client):
    """FUNCTION LIST as {library name: {function name: (description, flags)}}."""
    out = {}
    for lib in client.function_list():
        lib = {k.decode() if isinstance(k, bytes) else k: v for k, v in zip(lib[::2], lib[1::2])}
        fns = {}
        for fn in lib["functions"]:
            fn = dict(zip(fn[::2], fn[1::2]))
            fns[fn[b"name"].decode()] = (fn[b"description"], sorted(fn[b"flags"]))
        out[lib["library_name"].decode()] = fns
    return out


def test_load_list_call_delete(server):
    c = server.client()
    c.function_flush()
    assert c.function_load(LIB) == b"counters"
    assert libraries(c) == {
        "counters": {
            "bump": (None, []),
            "peek": (b"reads a counter", [b"no-writes"]),
        }
    }
    assert c.fcall("bump", 1, "n", 5) == 5
    assert c.fcall("BUMP", 1, "n", 2) == 7  # function names ignore case
    assert c.fcall_ro("peek", 1, "n") == b"7"
    with pytest.raises(redis.ResponseError, match="Can not execute a script with write flag"):
        c.fcall_ro("bump", 1, "n", 1)
    with pytest.raises(redis.ResponseError, match="Library 'counters' already exists"):
        c.function_load(LIB)
    assert c.function_load(LIB, replace=True) == b"counters"
    stats = c.function_stats()
    assert stats[0] == b"running_script" and stats[1] is None
    assert stats[3] == [b"LUA", [b"libraries_count", 1, b"functions_count", 2]]
    assert c.function_delete("counters")
    with pytest.raises(redis.ResponseError, match="Function not found"):
        c.fcall("bump", 1, "n", 1)
    with pytest.raises(redis.ResponseError, match="Library not found"):
        c.function_delete("counters")


def test_binary_chunk_is_refused_as_redis_refuses_it(server):
    c = server.client()
    dump = c.eval("return string.dump(function() return 1 end)", 0)
    with pytest.raises(redis.ResponseError) as e:
        c.function_load(b"#!lua name=bin\n" + dump)
    assert str(e.value) == \
        "Error compiling function: user_function:2: unexpected symbol near 'char(27)'"


def test_library_environment(server):
    c = server.client()
    c.function_flush()
    # at load time only redis.register_function, redis.log and the version exist
    for code, err in [
        ("return math.random()", "nonexistent global variable 'math'"),
        ("return redis.call('ping')", "nonexistent global variable 'call'"),
        ("x = 1", "Attempt to modify a readonly table"),
        ("return 1", "No functions registered"),
    ]:
        with pytest.raises(redis.ResponseError, match=err):
            c.function_load("#!lua name=env\n" + code)
    assert c.function_list() == []
    # a function sees no KEYS or ARGV globals, even after an EVAL set them
    c.function_load("#!lua name=env\nredis.register_function('k', function() return KEYS[1] end)")
    assert c.eval("return KEYS[1]", 1, "a") == b"a"
    with pytest.raises(redis.ResponseError, match="nonexistent global variable 'KEYS'"):
        c.fcall("k", 0)


def test_dump_restore_policies(server):
    c = server.client()
    c.function_flush()
    c.function_load(LIB)
    payload = c.function_dump()
    with pytest.raises(redis.ResponseError, match="Library counters already exists"):
        c.function_restore(payload)
    assert c.function_restore(payload, "REPLACE")
    c.function_flush()
    c.function_load("#!lua name=other\nredis.register_function('bump', function() return 0 end)")
    with pytest.raises(redis.ResponseError, match="Function bump already exists"):
        c.function_restore(payload)
    assert set(libraries(c)) == {"other"}
    assert c.function_restore(payload, "FLUSH")
    assert set(libraries(c)) == {"counters"}
    with pytest.raises(redis.ResponseError, match="payload version or checksum are wrong"):
        c.function_restore(payload[:-1] + bytes([payload[-1] ^ 1]))
    assert set(libraries(c)) == {"counters"}


@cluster_only
def test_cluster_library_reaches_every_node(cluster):
    leader = cluster.wait_leader()
    followers = [nd for nd in cluster.nodes if nd is not leader]
    lc = leader.client()
    assert lc.function_load(LIB) == b"counters"
    for nd in followers:
        rc = nd.readonly_client()
        wait_until(lambda: "counters" in libraries(rc), 10, what=f"the library on {nd}")
        assert libraries(rc) == libraries(lc)
    # a function's writes go through the log: every node holds them
    assert lc.fcall("bump", 1, "visits", 3) == 3
    assert lc.fcall("bump", 1, "visits", 4) == 7
    for nd in followers:
        rc = nd.readonly_client()
        wait_until(lambda: rc.get("visits") == b"7", 10, what=f"the writes on {nd}")
        # a no-writes function runs on the follower itself
        assert rc.fcall_ro("peek", 1, "visits") == b"7"
        assert rc.fcall("peek", 1, "visits") == b"7"
    # DUMP on a follower, DELETE on the leader, RESTORE on the leader
    payload = followers[0].readonly_client().function_dump()
    assert lc.function_delete("counters")
    for nd in followers:
        rc = nd.readonly_client()
        wait_until(lambda: libraries(rc) == {}, 10, what=f"the delete on {nd}")
    assert lc.function_restore(payload)
    for nd in followers:
        rc = nd.readonly_client()
        wait_until(lambda: "counters" in libraries(rc), 10, what=f"the restore on {nd}")
    assert lc.fcall("bump", 1, "visits", 1) == 8
    cluster.wait_converged()


# A library that keeps state between calls in its upvalues: a number it
# reassigns and a table it fills.
STATEFUL_LIB = """#!lua name=stateful
local calls, seen = 0, {}
redis.register_function('note', function(keys, args)
    calls = calls + 1
    seen[#seen + 1] = args[1]
    local v = calls .. ':' .. table.concat(seen, ',')
    redis.call('set', keys[1], v)
    return v
end)
redis.register_function{function_name = 'peekstate', flags = {'no-writes'},
    callback = function() calls = calls + 1 return calls end}
"""
# The same with plain values only (a number, a function reassigned): put
# back before each writing call rather than loaded again.
PLAIN_STATE_LIB = """#!lua name=plainstate
local calls, last = 0, 'none'
local function tag() return 'first' end
local function remember(v) last = v tag = function() return 'changed' end end
redis.register_function('tick', function(keys, args)
    calls = calls + 1
    local v = calls .. ':' .. last .. ':' .. tag()
    remember(args[1])
    redis.call('set', keys[1], v)
    return v
end)
redis.register_function{function_name = 'peekplain', flags = {'no-writes'},
    callback = function() calls = calls + 10 return calls end}
"""


@cluster_only
def test_writing_calls_start_from_the_library_as_loaded(cluster):
    """A node restarted (or installing a snapshot) loads a library afresh,
    so state a library kept in memory between calls would differ between
    the nodes: every writing call runs a fresh instance of the library, on
    every node, and sees none of what an earlier call left. (Redis keeps
    that state until a restart; its replicas never run the function.)"""
    leader = cluster.wait_leader()
    lc = leader.client()
    assert lc.function_load(STATEFUL_LIB) == b"stateful"
    assert lc.fcall("note", 1, "n", "a") == b"1:a"
    assert lc.fcall("note", 1, "n", "b") == b"1:b"
    cluster.wait_converged()
    follower = next(nd for nd in cluster.nodes if nd is not leader)
    cluster.stop(follower)
    cluster.start(follower)
    assert cluster.wait_leader().client().fcall("note", 1, "n", "c") == b"1:c"
    cluster.wait_converged()
    for nd in cluster.nodes:
        assert nd.readonly_client().get("n") == b"1:c"
    # a read-only call keeps Redis's behaviour: the loaded instance's state
    assert lc.fcall_ro("peekstate", 0) == 1
    assert lc.fcall_ro("peekstate", 0) == 2
    # plain values and functions in upvalues: put back before a writing call
    assert lc.function_load(PLAIN_STATE_LIB) == b"plainstate"
    assert lc.fcall("tick", 1, "p", "a") == b"1:none:first"
    lc.fcall_ro("peekplain", 0)  # changes the loaded instance's count: no write sees it
    assert lc.fcall("tick", 1, "p", "b") == b"1:none:first"
    cluster.wait_converged()
