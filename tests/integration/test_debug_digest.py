"""DEBUG DIGEST and DEBUG DIGEST-VALUE: the same data gives the same 40 hex
digits on raftcache as on redis-server 7.0.15, started beside it on a free
port in its own temp dir (--enable-debug-command yes) and stopped by pid.

- Datasets of every type raftcache offers (strings, HyperLogLogs, lists,
  sets, sorted sets, hashes), in their small and large encodings, with and
  without a TTL, built by the same commands on both servers, then changed by
  a seeded stream of random writes: equal DEBUG DIGEST, equal DIGEST-VALUE
  of every key. The digest is not a constant: it moves with a value, a
  list's order and a TTL's presence, and not with a set's insertion order.
- enable-debug-command: no (the default) refuses DEBUG with Redis's exact
  error; local admits loopback clients only; CONFIG SET cannot change it;
  unknown subcommands get Redis's error.
- A 3-node cluster: once every node has applied the leader's commit index,
  the three nodes' digests are equal (a follower answers on a READONLY
  connection and on a plain one, no -MOVED), and equal to redis-server's
  for the same writes.

What a user would notice if these failed: replicas that cannot be compared
with one command, or a comparison against a Redis that reports a false
difference.
"""

import random
import socket

import pytest
import redis

from conftest import KIND, wait_until

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="raftcache beside redis-server")

DEADLINE_S = 60
ZEROS = "0" * 40
REFUSED = ("DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
           "you can run it from a local connection, otherwise you need to set this option in the "
           "configuration file, and then restart the server.")


def debug_on(start_server, value="yes"):
    return start_server({"enable-debug-command": value}).client()


# --- the dataset ------------------------------------------------------------------

FAR_MS = 4_000_000_000_000  # a PEXPIREAT in 2096: nothing expires during the test


def populate(c):
    """Every type in its small and large encodings, with and without TTL."""
    p = c.pipeline(transaction=False)
    p.set("s:short", "hello")
    p.set("s:int", "12345")
    p.set("s:neg", "-42")
    p.set("s:empty", "")
    p.set("s:bin", b"a\x00b\xffc\r\n")
    p.set("s:long", "x" * 100)
    p.set("s:big", "y" * 70000)
    p.append("s:grown", "abc")
    p.append("s:grown", "def" * 20)
    p.incrbyfloat("s:float", "3.25")
    p.set("s:ttl", "temp")
    p.pexpireat("s:ttl", FAR_MS)
    p.pfadd("hll:sparse", "a", "b", "c")
    p.pfadd("hll:dense", *[f"e{i}" for i in range(5000)])
    p.rpush("l:small", "a", "b", "1", "2", "-3")
    p.rpush("l:big", *[f"item-{i}" for i in range(1000)])
    p.rpush("l:longvals", *["v" * (100 + i) for i in range(50)])
    p.rpush("l:ttl", "x", "y")
    p.pexpireat("l:ttl", FAR_MS)
    p.sadd("set:int", 1, 2, 3, -7, 100000)
    p.sadd("set:bigint", *range(1000))
    p.sadd("set:str", "x", "y", "zz", "123")
    p.sadd("set:big", *[f"m{i}" for i in range(700)])
    p.sadd("set:ttl", "a")
    p.pexpireat("set:ttl", FAR_MS)
    p.zadd("z:small", {"a": 1.5, "b": 2, "c": 0, "d": float("inf"), "e": 0.1, "f": -2.5,
                       "g": float("-inf"), "h": 1e-300, "i": 123456789012345678, "77": 3})
    p.zadd("z:big", {f"m{i}": i / 7 for i in range(300)})
    p.zadd("z:longmember", {"k" * 80: 1, "short": 2})
    p.zincrby("z:incr", 0.1, "a")
    p.zincrby("z:incr", 0.2, "a")
    p.zadd("z:ttl", {"a": 1})
    p.pexpireat("z:ttl", FAR_MS)
    p.hset("h:small", mapping={"f": "v", "n": "12", "e": ""})
    p.hset("h:big", mapping={f"f{i}": f"v{i}" for i in range(600)})
    p.hset("h:longval", mapping={"f": "v" * 100, "g": "1"})
    p.hincrbyfloat("h:float", "x", "1.5")
    p.hset("h:ttl", "f", "v")
    p.pexpireat("h:ttl", FAR_MS)
    p.set("persisted", "v")
    p.pexpireat("persisted", FAR_MS)
    p.persist("persisted")
    p.execute()


def random_writes(c, seed, n=400):
    """A seeded stream of writes over a few keys of each type (the same
    stream for the same seed), crossing encoding thresholds both ways."""
    rng = random.Random(seed)
    p = c.pipeline(transaction=False)
    for _ in range(n):
        k = rng.randrange(4)
        m = str(rng.randrange(200)) if rng.random() < 0.5 else "m" * rng.randrange(1, 90)
        op = rng.randrange(12)
        if op == 0:
            p.rpush(f"rl{k}", m)
        elif op == 1:
            p.lpush(f"rl{k}", m)
        elif op == 2:
            p.lpop(f"rl{k}")
        elif op == 3:
            p.sadd(f"rs{k}", m)
        elif op == 4:
            p.srem(f"rs{k}", m)
        elif op == 5:
            p.zadd(f"rz{k}", {m: rng.randrange(-1000, 1000) / rng.choice([1, 3, 7])})
        elif op == 6:
            p.zrem(f"rz{k}", m)
        elif op == 7:
            p.hset(f"rh{k}", m, str(rng.random()))
        elif op == 8:
            p.hdel(f"rh{k}", m)
        elif op == 9:
            p.append(f"rstr{k}", m)
        elif op == 10:
            p.pexpireat(rng.choice(["rl", "rs", "rz", "rh", "rstr"]) + str(k), FAR_MS)
        else:
            p.persist(rng.choice(["rl", "rs", "rz", "rh", "rstr"]) + str(k))
    p.execute()


def digest(c):
    return c.execute_command("DEBUG", "DIGEST").decode()


def digest_values(c, keys):
    return [d.decode() for d in c.execute_command("DEBUG", "DIGEST-VALUE", *keys)]


def all_keys(c):
    return sorted(c.scan_iter(count=1000))


def assert_same_dataset(ours, theirs):
    keys = all_keys(ours)
    assert keys == all_keys(theirs)
    assert digest(ours) == digest(theirs) != ZEROS
    assert digest_values(ours, keys + [b"no-such-key"]) == digest_values(
        theirs, keys + [b"no-such-key"])


# --- raftcache beside redis-server --------------------------------------------------

def test_empty_dataset_digest_is_zeros(start_server, reference):
    ours, theirs = debug_on(start_server), reference("--enable-debug-command", "yes")
    for c in (ours, theirs):
        assert digest(c) == ZEROS
        assert digest_values(c, ["missing"]) == [ZEROS]
        assert c.execute_command("DEBUG", "DIGEST-VALUE") == []


def test_every_type_digests_as_redis(start_server, reference):
    ours, theirs = debug_on(start_server), reference("--enable-debug-command", "yes")
    for c in (ours, theirs):
        populate(c)
    for key, enc in [("l:big", b"quicklist"), ("set:bigint", b"hashtable"),
                     ("set:int", b"intset"), ("z:big", b"skiplist"), ("z:small", b"listpack"),
                     ("h:big", b"hashtable"), ("h:small", b"listpack")]:
        assert ours.object("encoding", key) == theirs.object("encoding", key) == enc, key
    assert_same_dataset(ours, theirs)
    for seed in (1, 2, 3):
        for c in (ours, theirs):
            random_writes(c, seed)
        assert_same_dataset(ours, theirs)


def test_digest_follows_value_order_and_ttl(start_server):
    """What the digest sees, on raftcache alone: a value, a list's order, a
    TTL's presence (not its time), not a set's insertion order."""
    c = debug_on(start_server)

    def of(key):
        return digest_values(c, [key])[0]

    c.rpush("ab", "a", "b")
    c.rpush("ba", "b", "a")
    assert of("ab") != of("ba")
    c.sadd("s1", "a", "b", "c")
    c.sadd("s2", "c", "b", "a")
    assert of("s1") == of("s2")
    c.set("k1", "v")
    c.set("k2", "v")
    assert of("k1") == of("k2")
    before = digest(c)
    c.pexpireat("k1", FAR_MS)
    assert of("k1") != of("k2")
    c.pexpireat("k2", FAR_MS + 1000)
    assert of("k1") == of("k2")
    assert digest(c) != before
    c.persist("k1")
    c.persist("k2")
    assert digest(c) == before
    c.set("k2", "w")
    assert digest(c) != before


# --- who may run DEBUG --------------------------------------------------------------

def test_refused_unless_enabled(start_server, reference):
    ours, theirs = start_server().client(), reference()
    for c in (ours, theirs):
        assert c.config_get("enable-debug-command") == {"enable-debug-command": "no"}
        for args in (("DIGEST",), ("DIGEST-VALUE", "k"), ("HELP",), ("NOSUCH",)):
            with pytest.raises(redis.ResponseError) as e:
                c.execute_command("DEBUG", *args)
            assert str(e.value) == REFUSED
    errs = []
    for c in (ours, theirs):
        with pytest.raises(redis.ResponseError) as e:
            c.config_set("enable-debug-command", "yes")
        errs.append(str(e.value))
    assert errs[0] == errs[1]
    assert "can't set immutable config" in errs[0]


def test_subcommand_errors_as_redis(start_server, reference):
    ours, theirs = debug_on(start_server), reference("--enable-debug-command", "yes")
    for args in (("NOSUCH",), ("DIGEST", "extra"), ()):
        errs = []
        for c in (ours, theirs):
            with pytest.raises(redis.ResponseError) as e:
                c.execute_command("DEBUG", *args)
            errs.append(str(e.value))
        assert errs[0] == errs[1], args
    help_lines = ours.execute_command("DEBUG", "HELP")
    assert help_lines[0].startswith(b"DEBUG <subcommand>")
    assert {b"DIGEST", b"DIGEST-VALUE <key> [<key> ...]"} <= set(help_lines)
    # Every subcommand HELP lists runs (no stub behind a listed name), with
    # a value for each argument it names.
    ours.set("k", "v")
    sample = {"<key>": "k", "<seconds>": "0", "<count>": "3", "[<prefix>]": "p",
              "[<size>]": "10"}
    for line in help_lines[1:]:
        if not line.startswith(b" ") and line not in (b"HELP", b"DIGEST-VALUE <key> [<key> ...]"):
            name, *params = line.decode().split()
            ours.execute_command("DEBUG", name, *[sample[p] for p in params])


def test_populate_as_redis(start_server, reference):
    """DEBUG POPULATE makes Redis's keys and values (cut or zero-padded to a
    size, existing keys kept, a long prefix cut at 127 bytes), with Redis's
    errors; in a database selected too."""
    ours, theirs = debug_on(start_server), reference("--enable-debug-command", "yes")
    for c in (ours, theirs):
        c.set("key:1", "mine")
        assert c.execute_command("DEBUG", "POPULATE", 50) == b"OK"
        assert c.execute_command("DEBUG", "POPULATE", 20, "p", 3) == b"OK"
        assert c.execute_command("DEBUG", "POPULATE", 5, "q", 40) == b"OK"
        assert c.execute_command("DEBUG", "POPULATE", 2, "x" * 200) == b"OK"
        assert c.execute_command("DEBUG", "POPULATE", 0) == b"OK"
        c.execute_command("SELECT", 4)
        assert c.execute_command("DEBUG", "POPULATE", 7, "db4") == b"OK"
        c.execute_command("SELECT", 0)
    assert ours.get("key:1") == b"mine" and ours.get("q:3") == b"value:3" + b"\0" * 33
    assert ours.dbsize() == theirs.dbsize() == 76  # the 200-byte prefix: one key, cut
    assert digest(ours) == digest(theirs)
    for args in (("-1",), ("x",), ("1", "p", "-5"), ("1", "p", "y")):
        errs = []
        for c in (ours, theirs):
            with pytest.raises(redis.ResponseError) as e:
                c.execute_command("DEBUG", "POPULATE", *args)
            errs.append(str(e.value))
        assert errs[0] == errs[1], args
    with pytest.raises(redis.ResponseError, match="proto-max-bulk-len"):
        ours.execute_command("DEBUG", "POPULATE", 1, "big", 1 << 40)


def non_loopback_ipv4():
    """An address of this host that is not loopback, or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent
            addr = s.getsockname()[0]
    except OSError:
        return None
    return None if addr.startswith("127.") else addr


def test_local_admits_loopback_clients_only(start_server):
    addr = non_loopback_ipv4()
    directives = {"enable-debug-command": "local"}
    if addr:  # protected mode would turn the remote client away before DEBUG
        directives.update({"bind": ["127.0.0.1", addr], "protected-mode": "no"})
    srv = start_server(directives)
    local = srv.client()
    assert local.config_get("enable-debug-command") == {"enable-debug-command": "local"}
    local.set("k", "v")
    assert digest(local) != ZEROS
    if addr is None:
        pytest.skip("no non-loopback address to connect from")
    remote = redis.Redis(host=addr, port=srv.port, socket_timeout=30)
    assert remote.get("k") == b"v"
    with pytest.raises(redis.ResponseError) as e:
        remote.execute_command("DEBUG", "DIGEST")
    assert str(e.value) == REFUSED


# --- a cluster ----------------------------------------------------------------------

def wait_applied(cl):
    """Waits until every node has applied the leader's commit index;
    returns the leader."""
    ld = cl.leader()
    commit = int(ld.raft_info()["commit_index"])

    def applied():
        return all(int((nd.raft_info() or {}).get("last_applied_index", -1)) >= commit
                   for nd in cl.nodes)

    wait_until(applied, DEADLINE_S, what=f"every node to apply index {commit}")
    return ld


def test_cluster_nodes_digest_equal(make_cluster, reference):
    cl = make_cluster(3, directives=[("enable-debug-command", "local")])
    theirs = reference("--enable-debug-command", "yes")
    ld = cl.leader()
    with ld.client() as c:
        populate(c)
        random_writes(c, 7)
        c.execute_command("DEBUG", "POPULATE", 1000, "dp", 20)  # through the log
    populate(theirs)
    random_writes(theirs, 7)
    theirs.execute_command("DEBUG", "POPULATE", 1000, "dp", 20)
    wait_applied(cl)
    expected = digest(theirs)
    keys = all_keys(theirs)
    values = digest_values(theirs, keys)
    for nd in cl.nodes:
        with nd.readonly_client() as ro, nd.client() as plain:
            assert digest(ro) == expected, nd
            assert digest(plain) == expected, nd  # no -MOVED on a follower
            assert digest_values(ro, keys) == values, nd
    # A write moves every node's digest once applied, and equally.
    with ld.client() as c:
        c.hset("h:small", "new", "field")
    theirs.hset("h:small", "new", "field")
    wait_applied(cl)
    moved = digest(theirs)
    assert moved != expected
    for nd in cl.nodes:
        with nd.readonly_client() as ro:
            assert digest(ro) == moved, nd
