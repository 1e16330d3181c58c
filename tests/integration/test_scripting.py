"""Lua scripting as users of Redis use it, on one node and in a cluster.

- EVAL / EVALSHA / EVAL_RO / SCRIPT: replies, conversions, Redis 7.0's
  error texts, the NOSCRIPT path redis-py's Script objects rely on.
- redis-py's Lock (acquire, extend, reacquire, release: all scripts) and
  register_script.
- The sandbox: globals and libraries read-only, binary chunks refused, no
  os/io; a hostile bit.tohex argument no longer crashes the server.
- A busy read-only script: other clients, new ones included, get -BUSY
  until SCRIPT KILL stops it, a pattern match that backtracks for hours
  included. string.find/match/gmatch/gsub answer as Redis's, and a
  backtracking match ends on the budget. A runaway script in the log fails with the
  budget error and the server keeps serving; the script cache survives a
  restart.
- In a cluster: a script that draws random numbers and reads the clock
  writes the same values on every node; a runaway script's earlier writes
  are on every node and the cluster keeps serving; scripts loaded on the
  leader are known to followers (SCRIPT EXISTS, EVALSHA_RO with READONLY);
  EVAL on a follower is answered -MOVED, a no-writes script runs there.

The single-node expectations are redis-server 7.0's:
RAFTCACHE_BIN=redis-server runs those tests against it (the budget and
cluster tests are raftcache's own).
"""

import hashlib
import time

import pytest
import redis

from conftest import KIND, wait_until

raftcache_only = pytest.mark.skipif(KIND != "raftcache", reason="raftcache's own behaviour")


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


def error_of(fn, *args):
    with pytest.raises(redis.ResponseError) as e:
        fn(*args)
    return str(e.value)


# ---------------------------------------------------------------- one node


def test_eval_replies_and_conversions(server):
    c = server.client()
    assert c.eval("return 'hello'", 0) == b"hello"
    assert c.eval("return 100.5", 0) == 100
    assert c.eval("return {1, 2, {3, 'x'}, false, true}", 0) == [1, 2, [3, b"x"], None, 1]
    assert c.eval("return {1, 2, nil, 4}", 0) == [1, 2]
    assert c.eval("return {ok='fine'}", 0) == b"fine"
    assert c.eval("return redis.status_reply('DONE')", 0) == b"DONE"
    assert "My Error" in error_of(c.eval, "return redis.error_reply('My Error')", 0)
    assert c.eval("return {KEYS[1], KEYS[2], ARGV[1]}", 2, "a", "b", "c") == [b"a", b"b", b"c"]
    c.set("n", 5)
    c.rpush("l", "x", "y")
    assert c.eval("return redis.call('get', KEYS[1])", 1, "n") == b"5"
    assert c.eval("return redis.call('incr', KEYS[1])", 1, "n") == 6
    assert c.eval("return redis.call('lrange', KEYS[1], 0, -1)", 1, "l") == [b"x", b"y"]
    assert c.eval("return redis.call('get', 'nokey') == false", 0) == 1
    assert c.eval("return type(redis.call('ping'))", 0) == b"table"
    assert c.eval("return redis.call('ping')", 0) == b"PONG"
    assert c.eval("return redis.pcall('incr', 'l')['err']", 0).startswith(b"WRONGTYPE")
    assert c.eval("return redis.sha1hex('Pizza & Mandolino')", 0) == \
        b"74822d82031af7493c20eefa13bd07ec4fada82f"
    assert c.eval("return cjson.encode({1, 2})", 0) == b"[1,2]"
    assert c.eval("return cmsgpack.unpack(cmsgpack.pack({1, 'a'}))", 0) == [1, b"a"]
    assert c.eval("return struct.unpack('>I2', struct.pack('>I2', 258))", 0) == 258
    assert c.eval("return bit.band(7, 3)", 0) == 3


def test_eval_errors_are_redis_texts(server):
    c = server.client()
    c.rpush("l", "x")
    e = error_of(c.eval, "return redis.call('incr', KEYS[1])", 1, "l")
    assert e.startswith("WRONGTYPE Operation against a key holding the wrong kind of value script:")
    assert e.endswith(", on @user_script:1.")
    assert "Number of keys can't be greater than number of args" in error_of(
        c.eval, "return 1", 3, "a")
    assert "Number of keys can't be negative" in error_of(c.eval, "return 1", -1)
    assert error_of(c.eval, "return +", 0).startswith(
        "Error compiling script (new function): user_script:1:")
    assert "Unknown Redis command called from script" in error_of(
        c.eval, "return redis.call('nosuchcommand')", 0)
    assert "Wrong number of args calling Redis command from script" in error_of(
        c.eval, "return redis.call('get')", 0)
    assert "This Redis command is not allowed from script" in error_of(
        c.eval, "return redis.call('eval', 'return 1', 0)", 0)
    assert "Please specify at least one argument for this redis lib call" in error_of(
        c.eval, "return redis.call()", 0)
    assert "Lua redis lib command arguments must be strings or integers" in error_of(
        c.eval, "return redis.call('get', {})", 0)
    # blocking commands are refused inside a script
    assert "This Redis command is not allowed from script" in error_of(
        c.eval, "return redis.call('blpop', 'empty', 0)", 0)


def test_evalsha_script_load_exists_flush(server):
    c = server.client()
    body = "return 'loaded'"
    assert c.script_load(body) == sha1(body)
    assert c.evalsha(sha1(body), 0) == b"loaded"
    assert c.evalsha(sha1(body).upper(), 0) == b"loaded"  # any case
    assert c.script_exists(sha1(body), "f" * 40) == [True, False]
    assert c.eval("return 'via eval'", 0) == b"via eval"
    assert c.script_exists(sha1("return 'via eval'")) == [True]  # EVAL caches its script
    assert c.script_flush() is True
    assert c.script_exists(sha1(body)) == [False]
    assert error_of(c.evalsha, sha1(body), 0) == "No matching script. Please use EVAL."
    assert error_of(c.evalsha, "abc", 0) == "No matching script. Please use EVAL."
    # redis-py's Script object: EVALSHA, then SCRIPT LOAD on NOSCRIPT
    incr_by = c.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert incr_by(keys=["counter"], args=[5]) == 5
    assert incr_by(keys=["counter"], args=[2]) == 7


def test_eval_ro_and_no_writes_scripts(server):
    c = server.client()
    c.set("k", "v")
    assert c.execute_command("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "k") == b"v"
    assert "Write commands are not allowed from read-only scripts" in error_of(
        c.execute_command, "EVAL_RO", "return redis.call('set', KEYS[1], 'x')", 1, "k")
    ro = "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])"
    assert c.eval(ro, 1, "k") == b"v"
    assert "Write commands are not allowed from read-only scripts" in error_of(
        c.eval, "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'x')", 0)
    assert "Can not execute a script with write flag using *_ro command" in error_of(
        c.execute_command, "EVAL_RO", "#!lua\nreturn 1", 0)
    assert "Unexpected flag in script shebang: bogus" in error_of(
        c.eval, "#!lua flags=bogus\nreturn 1", 0)
    assert "Unexpected engine in script shebang: #!python" in error_of(
        c.eval, "#!python\nreturn 1", 0)
    assert c.get("k") == b"v"


def test_sandbox(server):
    c = server.client()
    assert "Script attempted to access nonexistent global variable 'a'" in error_of(
        c.eval, "return a", 0)
    for code in ["a = 10", "setmetatable(_G, {})", "local g = getmetatable(_G); g.__index = {}",
                 "redis.call = function() return 1 end", "_G = {}", "cjson.encode = nil",
                 "string.rep = nil", "getmetatable('').__index = function() return 1 end"]:
        assert "Attempt to modify a readonly table" in error_of(c.eval, code, 0), code
    for name in ["os", "io", "loadfile", "dofile", "print", "require", "setfenv", "debug"]:
        assert "nonexistent global variable" in error_of(c.eval, f"return {name}", 0), name
    assert "attempt to call a nil value" in error_of(
        c.eval, "return loadstring(string.dump(function() return 1 end))()", 0)
    assert c.eval("return loadstring('return 7')()", 0) == 7
    # Debian's bit library wrote out of bounds for this argument
    assert c.eval("return bit.tohex(65535, -2147483648)", 0) == b"0000FFFF"
    assert c.ping()


def test_binary_chunks_are_refused_as_redis_refuses_them(server):
    c = server.client()
    dump = c.eval("return string.dump(function() return 1 end)", 0)
    assert dump.startswith(b"\x1bLua")
    text = "Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'"
    assert error_of(c.eval, dump, 0) == text
    assert error_of(c.script_load, dump) == text
    assert error_of(c.eval, b"\x1bLua", 0) == text
    assert c.eval("return 1", 0) == 1


def test_reply_of_a_deep_table_is_bounded(server):
    c = server.client()
    # both servers: a nesting of 100 is replied whole
    r = c.eval("local t = {} for i = 1, 100 do t = {t} end return t", 0)
    for _ in range(100):
        r = r[0]
    assert r == []


@raftcache_only
def test_reply_of_a_cyclic_or_huge_table_is_one_error(server):
    c = server.client()
    # Redis grows the reply until the Lua C stack ends it, mid-reply
    assert error_of(c.eval, "local t = {} t[1] = {t} t[2] = t return t", 0) == \
        "reached lua stack limit"
    assert error_of(c.eval, "local t = {} for i = 1, 60 do t = {t, t} end return t", 0) == \
        "script reply too large"
    assert error_of(c.eval, "local t = {} t.map = {k = t} return t", 0) == \
        "reached lua stack limit"
    # the connection's next reply is whole: nothing of the refused one was sent
    assert c.eval("return {1, {2}}", 0) == [1, [2]]


PATTERN_SCRIPTS = [
    "return {string.find('hello world', 'o w')}",
    "return {string.find('hello world', 'l+', -5)}",
    "return {string.find('a.b', '.', 1, true)}",
    "return {string.match('key = value', '(%w+)%s*=%s*(%w+)')}",
    "return {string.match('  x', '()x()')}",
    "local t = {} for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do "
    "t[#t + 1] = k .. v end return t",
    "local t = {} for w in ('one two  three'):gmatch('%a*') do t[#t + 1] = w end return t",
    "return {string.gsub('hello world', '(o)', '[%1]')}",
    "return {string.gsub('abc', '', '-')}",
    "return {string.gsub('hello world', '%w+', {hello = 'HI', world = false})}",
    "return {string.gsub('THE (quick) fox', '%f[%a]%a+', string.lower, 2)}",
    "return {string.gsub('f(a(b)c) g(d)', '%b()', '<>')}",
    "return {pcall(string.find, 'a', '[a')}",
    "return {pcall(string.gsub, 'a', '(a)', '%2')}",
    "return {pcall(string.match, 'a', '(()')}",
    "return {pcall(string.gsub, 'abc', '%w', function() return {} end)}",
]


@raftcache_only
def test_pattern_functions_answer_as_redis(server, redis_reference):
    """string.find/match/gmatch/gsub are raftcache's own matcher (its work
    is charged to the budget): Redis's answers and error texts."""
    ours, theirs = server.client(), redis_reference().client()
    for body in PATTERN_SCRIPTS:
        assert ours.eval(body, 0) == theirs.eval(body, 0), body


@raftcache_only
def test_library_calls_with_unbounded_work_are_refused(server):
    c = server.client()
    assert "bad argument #2 to 'insert' (position out of bounds)" in error_of(
        c.eval, "table.insert({}, -2147483648, 1)", 0)
    assert c.eval("local t = {'a'} table.insert(t, 1, 'b') table.insert(t, 3, 'c') return t",
                  0) == [b"b", b"a", b"c"]
    assert "resulting string too large" in error_of(c.eval, "return string.rep('x', 2^31)", 0)
    assert c.ping()


def test_redis_py_lock(server):
    c = server.client()
    lock = c.lock("resource", timeout=10)
    assert lock.acquire(blocking=False)
    assert lock.locked() and lock.owned()
    other = c.lock("resource", timeout=10)
    assert not other.acquire(blocking=False)
    assert lock.extend(10)
    assert 10000 < c.pttl("resource") <= 20000
    assert lock.reacquire()
    assert c.pttl("resource") <= 10000
    lock.release()
    assert not lock.locked()
    assert other.acquire(blocking=True, blocking_timeout=2)
    c.set("resource", "someone else's token")  # the lock expired and was taken over
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        other.release()  # the release script sees another token and deletes nothing
    assert c.get("resource") == b"someone else's token"


def run_busy_and_kill(srv, body):
    """Sends body (a no-writes script that never ends) as EVAL, waits until
    other clients are answered BUSY, and stops it with SCRIPT KILL."""
    c = srv.client()
    runner = srv.sock()
    runner.sendall(b"*3\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n" % (len(body), body))

    def busy():
        try:
            c.ping()
            return False
        except redis.ResponseError as e:
            return str(e).startswith("BUSY Redis is busy running a script")
    wait_until(busy, 10, what="the script to turn busy")
    other = srv.client()  # a new connection is served too (answered BUSY)
    with pytest.raises(redis.ResponseError):
        other.get("k")
    assert c.script_kill() is True
    reply = b""
    while not reply.endswith(b"\r\n"):
        reply += runner.recv(4096)
    assert reply.startswith(b"-ERR Script killed by user with SCRIPT KILL...")
    assert c.ping()
    assert "No scripts in execution right now" in error_of(c.script_kill)
    runner.close()


def test_busy_read_only_script_is_killed(start_server):
    srv = start_server({"busy-reply-threshold": 50})
    run_busy_and_kill(srv, b"#!lua flags=no-writes\nwhile true do end")


@raftcache_only
def test_busy_pattern_match_is_killed(start_server):
    """A match that backtracks for hours inside one call of string.find
    (Redis cannot stop it: its matcher never returns to the VM) is served
    BUSY and killed like a loop of instructions."""
    srv = start_server({"busy-reply-threshold": 50})
    run_busy_and_kill(srv, b"#!lua flags=no-writes\n"
                           b"return string.find(string.rep('a', 28), string.rep('a*', 28) .. 'b')")


@raftcache_only
def test_runaway_script_hits_the_budget(start_server):
    srv = start_server({"lua-replicated-budget": 2000000})
    c = srv.client()
    e = error_of(c.eval, "redis.call('set', KEYS[1], 'before'); while true do end", 1, "k")
    assert e.startswith("Script exceeded its budget of 2000000 Lua instructions")
    assert c.get("k") == b"before"  # the writes before the failure stay
    # pcall cannot swallow it for long
    e = error_of(c.eval, "while true do pcall(function() while true do end end) end", 0)
    assert "exceeded its budget" in e
    assert c.eval("return 1", 0) == 1


@raftcache_only
def test_backtracking_pattern_hits_the_budget(start_server):
    """Lua's own matcher would backtrack for hours on this find inside one
    C call; raftcache's charges each step to the budget (the default one
    here), so the run fails in about a second and the server goes on."""
    srv = start_server()
    c = srv.client()
    started = time.monotonic()
    e = error_of(c.eval, "return string.find(string.rep('a', 24), string.rep('a*', 24) .. 'b')",
                 0)
    assert "exceeded its budget" in e
    assert time.monotonic() - started < 10
    e = error_of(c.eval, "redis.call('set', KEYS[1], 'before') "
                         "return (string.gsub(string.rep('(', 100000), '%b()', ''))", 1, "k")
    assert "exceeded its budget" in e
    assert c.get("k") == b"before"
    assert c.eval("return 1", 0) == 1


@raftcache_only
def test_script_cache_survives_restart(start_server):
    srv = start_server({"raft-snapshot-threshold": 5, "raft-snapshot-log-min-size": 1})
    c = srv.client()
    first = "return 'first'"
    c.script_load(first)
    for i in range(30):  # past a snapshot: SCRIPT LOAD's entry is compacted away
        c.set(f"k{i}", i)
    wait_until(lambda: "snapshot" in srv.log_tail().lower(), 10, what="a snapshot")
    second = "return 'second'"
    c.script_load(second)  # in the log after the snapshot
    srv.stop()
    srv.start()
    c = srv.client()
    assert c.script_exists(sha1(first), sha1(second)) == [True, True]
    assert c.evalsha(sha1(first), 0) == b"first"


# ------------------------------------------------------------- in a cluster

RANDOM_WRITER = """
math.randomseed(tonumber(ARGV[1]))
local t = redis.call('time')
for i = 1, 20 do
    redis.call('hset', KEYS[1], 'f' .. i, tostring(math.random()))
end
redis.call('set', KEYS[2], t[1] .. '.' .. t[2])
redis.call('sadd', KEYS[3], math.random(1000000), math.random(1000000))
return redis.call('spop', KEYS[3])
"""


@raftcache_only
def test_cluster_scripts_write_the_same_everywhere(cluster):
    leader = cluster.wait_leader()
    c = leader.client()
    for i in range(20):
        c.eval(RANDOM_WRITER, 3, f"h{i}", f"t{i}", f"s{i}", i)
        c.eval("return redis.call('incrbyfloat', KEYS[1], math.random())", 1, "f")
    digest = cluster.wait_converged()
    keys = {row[0] for row in digest}
    assert {b"h0", b"t19", b"s5", b"f"} <= keys


@raftcache_only
def test_cluster_runaway_script_fails_alike_and_the_cluster_serves(make_cluster):
    cl = make_cluster(3, {"lua-replicated-budget": 5000000})
    leader = cl.wait_leader()
    c = leader.client()
    e = error_of(c.eval, "redis.call('set', KEYS[1], 'kept'); while true do end", 1, "r")
    assert "exceeded its budget" in e
    for nd in cl.nodes:
        wait_until(lambda nd=nd: nd.readonly_client().get("r") == b"kept", 10,
                   what=f"the write before the failure on {nd}")
    ld = cl.wait_leader()
    assert ld.client().set("after", 1)
    cl.wait_converged()


@raftcache_only
def test_cluster_redis_py_lock_through_a_cluster_client(cluster):
    """redis-py's RedisCluster, started from a follower, finds the leader
    (MOVED) and runs Lock's scripts there."""
    from redis.cluster import RedisCluster
    leader = cluster.wait_leader()
    follower = [nd for nd in cluster.nodes if nd is not leader][0]
    rc = RedisCluster(host="127.0.0.1", port=follower.port, socket_timeout=30)
    lock = rc.lock("{job}:lock", timeout=10)
    assert lock.acquire(blocking=False)
    assert not rc.lock("{job}:lock", timeout=10).acquire(blocking=False)
    assert lock.extend(5)
    assert 10000 < rc.pttl("{job}:lock") <= 15000
    lock.release()
    assert rc.get("{job}:lock") is None
    rc.close()


@raftcache_only
def test_cluster_followers_know_the_scripts(cluster):
    leader = cluster.wait_leader()
    follower = [nd for nd in cluster.nodes if nd is not leader][0]
    body = "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])"
    leader.client().script_load(body)
    leader.client().set("k", "v")
    ro = follower.readonly_client()
    wait_until(lambda: ro.script_exists(sha1(body)) == [True], 10, what="the script on a follower")
    wait_until(lambda: ro.get("k") == b"v", 10, what="the key on a follower")
    assert ro.execute_command("EVALSHA_RO", sha1(body), 1, "k") == b"v"
    assert ro.evalsha(sha1(body), 1, "k") == b"v"  # no-writes: a read, served here
    # a script that may write goes to the leader
    e = error_of(follower.client().eval, "return redis.call('set', KEYS[1], 'x')", 1, "k")
    assert e.startswith("MOVED ") or e.startswith("CLUSTERDOWN"), e
    # SCRIPT FLUSH reaches every node
    leader.client().script_flush()
    wait_until(lambda: ro.script_exists(sha1(body)) == [False], 10, what="the flush on a follower")
