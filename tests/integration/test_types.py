"""Hashes, sets, sorted sets and streams (with consumer groups) on a cluster, through
redis-py, as an application uses them: every replica ends up with the same
values (compared type by type, a set's own member order included, since SPOP
draws from it), a write that draws random members (SPOP) removes the same
ones everywhere, the values come back after kill -9 of every node, from a
snapshot after a restart, and on a follower that caught up through a
snapshot transfer; WATCH sees changes to every type.

Every wait polls with a deadline; nothing asserts how long anything took.
"""

import pytest
import redis

from conftest import KIND, wait_until
from raftharness import raft_info_of

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="raftcache cluster behaviour")

DEADLINE_S = 60


def fill(c, prefix, n=50):
    """Values of every type under prefix; returns what reads must give."""
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.hset(f"{prefix}:h{i}", mapping={"name": f"user{i}", "visits": i, "tag": "x" * (i % 80)})
        pipe.sadd(f"{prefix}:si{i}", *range(i, i + 5))              # intset
        pipe.sadd(f"{prefix}:ss{i}", *[f"m{j}" for j in range(i)] or ["only"])
        pipe.zadd(f"{prefix}:z{i}", {f"p{j}": j * 1.5 for j in range(i + 1)})
    pipe.hset(f"{prefix}:bighash", mapping={f"f{j}": j for j in range(600)})   # hashtable
    pipe.sadd(f"{prefix}:bigset", *[f"s{j}" for j in range(1000)])            # hashtable
    pipe.zadd(f"{prefix}:bigz", {f"m{j}": j / 3 for j in range(300)})          # skiplist
    # A stream over several nodes, with tombstones (XDEL, an exact trim inside
    # the first node) and recorded IDs: its nodes must come back as they were
    # (radix-tree-keys), or a later approximate trim would differ.
    for j in range(250):
        pipe.xadd(f"{prefix}:st", {"f": j, "g": "x" * (j % 50)}, id=f"{j + 1}-0")
    pipe.xadd(f"{prefix}:st", {"other": "field"}, id="300-1")
    pipe.xdel(f"{prefix}:st", "5-0", "120-0", "300-1")
    pipe.xtrim(f"{prefix}:st", maxlen=240)
    # Consumer groups: entries delivered, acknowledged, claimed by another
    # consumer, a consumer without pending entries, a group at the end.
    pipe.xgroup_create(f"{prefix}:st", "g1", id="0")
    pipe.xreadgroup("g1", "alice", {f"{prefix}:st": ">"}, count=30)
    pipe.xack(f"{prefix}:st", "g1", "20-0", "21-0", "22-0")
    pipe.xclaim(f"{prefix}:st", "g1", "bob", 0, ["23-0", "24-0"])
    pipe.xreadgroup("g1", "alice", {f"{prefix}:st": "0"}, count=2)  # counted again
    pipe.xgroup_create(f"{prefix}:st", "g2", id="$")
    pipe.xgroup_createconsumer(f"{prefix}:st", "g2", "carol")
    pipe.expire(f"{prefix}:h0", 100000)
    pipe.execute()
    return snapshot_of(c, prefix, n)


def snapshot_of(c, prefix, n=50):
    """The readable state of fill()'s keys (sets as sorted members)."""
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.hgetall(f"{prefix}:h{i}")
        pipe.smembers(f"{prefix}:si{i}")
        pipe.smembers(f"{prefix}:ss{i}")
        pipe.zrange(f"{prefix}:z{i}", 0, -1, withscores=True)
    for k in ("bighash", "bigset", "bigz"):
        pipe.type(f"{prefix}:{k}")
        pipe.object("encoding", f"{prefix}:{k}")
    pipe.hlen(f"{prefix}:bighash")
    pipe.zrange(f"{prefix}:bigz", 0, -1, withscores=True)
    pipe.scard(f"{prefix}:bigset")
    pipe.xrange(f"{prefix}:st")
    pipe.execute_command("XINFO", "STREAM", f"{prefix}:st", "FULL")
    pipe.ttl(f"{prefix}:h0")
    out = pipe.execute()
    out[-1] = out[-1] > 0
    return [sorted(v) if isinstance(v, set) else v for v in out]


def test_every_type_replicates_and_survives_kill9(make_cluster):
    cl = make_cluster(3)
    c = cl.leader().client()
    want = fill(c, "t")
    assert want[-12:-6] == [b"hash", b"hashtable", b"set", b"hashtable", b"zset", b"skiplist"]
    cl.wait_converged()
    for nd in cl.nodes:
        with nd.readonly_client() as rc:
            assert snapshot_of(rc, "t") == want, f"{nd} differs"
    cl.crash_all()
    assert snapshot_of(cl.leader().client(), "t") == want


def test_spop_removes_the_same_members_on_every_replica(make_cluster):
    """SPOP draws from a PRNG seeded by the log entry: the leader's reply
    names what every replica removed. The digest compares each node's set
    in its own order, so replicas must also agree on that order."""
    cl = make_cluster(3)
    c = cl.leader().client()
    c.sadd("big", *[f"m{i}" for i in range(2000)])
    c.sadd("ints", *range(300))
    popped = set()
    for _ in range(20):
        popped.update(c.spop("big", 7))
        popped.add(c.spop("big"))
        c.spop("ints", 3)
        c.srandmember("big", -5)  # a read: may differ, changes nothing
    assert len(popped) == 160
    left = c.smembers("big")
    assert not (left & popped) and len(left) == 2000 - 160
    cl.wait_converged()


def test_snapshot_restart_and_follower_catch_up_carry_every_type(make_cluster):
    cl = make_cluster(3, {"raft-snapshot-threshold": 1_000_000})
    leader = cl.leader()
    lagging = [nd for nd in cl.nodes if nd is not leader][0]
    c = leader.client()
    fill(c, "a")
    cl.stop(lagging)
    want = fill(c, "b")
    created = int(raft_info_of(c)["snapshots_created"])
    assert c.execute_command("RAFT.DEBUG", "COMPACT") in (b"OK", "OK", True)
    wait_until(lambda: int(raft_info_of(c)["snapshots_created"]) > created, DEADLINE_S,
               what="a compaction of the leader's log")
    wait_until(lambda: raft_info_of(c)["snapshot_in_progress"] == "no", DEADLINE_S,
               what="the snapshot to end")
    cl.start(lagging)
    wait_until(lambda: int((lagging.raft_info() or {}).get("snapshots_received", 0)) >= 1,
               DEADLINE_S, what=f"{lagging} to receive a snapshot")
    cl.wait_converged()
    with lagging.readonly_client() as rc:
        assert snapshot_of(rc, "b") == want
    # Restart from the snapshot (and the log tail after it) everywhere.
    for nd in list(cl.nodes):
        cl.stop(nd)
    for nd in cl.nodes:
        cl.start(nd, wait=False)
    cl.wait_leader()
    cl.wait_converged()
    assert snapshot_of(cl.leader().client(), "b") == want


@pytest.mark.parametrize("change", [
    ("HSET", "w:h", "f", "2"), ("HINCRBY", "w:h", "n", "1"), ("HDEL", "w:h", "f"),
    ("SADD", "w:s", "new"), ("SREM", "w:s", "a"), ("SPOP", "w:s"),
    ("ZADD", "w:z", "5", "m"), ("ZINCRBY", "w:z", "1", "m"), ("ZPOPMIN", "w:z"),
    ("ZUNIONSTORE", "w:z", "1", "w:s"),
])
def test_watch_sees_changes_to_every_type(make_cluster, change):
    cl = make_cluster(3)
    leader = cl.leader()
    c = leader.client()
    c.hset("w:h", mapping={"f": "1", "n": "1"})
    c.sadd("w:s", "a", "b")
    c.zadd("w:z", {"m": 1, "n": 2})
    key = change[1]
    with leader.client() as watcher:
        pipe = watcher.pipeline(transaction=True)
        pipe.watch(key)
        c.execute_command(*change)
        pipe.multi()
        pipe.set("w:after", "1")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert c.get("w:after") is None


def test_wrongtype_and_type_across_a_cluster(make_cluster):
    cl = make_cluster(3)
    c = cl.leader().client()
    c.hset("k:h", "f", "v")
    c.sadd("k:s", "m")
    c.zadd("k:z", {"m": 1})
    c.set("k:str", "v")
    c.xadd("k:st", {"f": "v"})
    assert [c.type(k) for k in ("k:h", "k:s", "k:z", "k:str", "k:st", "k:none")] == \
        [b"hash", b"set", b"zset", b"string", b"stream", b"none"]
    for cmd in (("GET", "k:h"), ("HGET", "k:s", "f"), ("SADD", "k:z", "x"),
                ("ZADD", "k:h", "1", "x"), ("INCR", "k:s"), ("HSET", "k:str", "f", "v"),
                ("XADD", "k:h", "*", "f", "v"), ("XRANGE", "k:z", "-", "+"), ("LPUSH", "k:st", "x")):
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            c.execute_command(*cmd)
    assert c.mget("k:h", "k:str") == [None, b"v"]
    assert c.set("k:h", "now a string") is True
    assert c.type("k:h") == b"string"
    cl.wait_converged()


def test_hyperloglog_counts_and_cache_agree_on_every_replica(make_cluster):
    """PFCOUNT stores the cardinality it computed in the value, as Redis's
    cache: on the leader that call goes through the log, so every replica
    holds the same bytes; a follower's PFCOUNT answers without changing its
    copy. Values are byte for byte what redis-server writes (unit tests)."""
    cl = make_cluster(3)
    leader = cl.leader()
    c = leader.client()
    assert c.pfadd("visits", *[f"u{i}" for i in range(5000)]) == 1
    assert c.pfadd("small", "a", "b", "c") == 1
    assert c.get("visits")[15] & 0x80  # the cache is stale after PFADD
    n = c.pfcount("visits")
    assert abs(n - 5000) < 250
    assert c.get("visits")[15] == 0  # stored through the log
    assert c.pfmerge("both", "visits", "small") is True
    assert c.pfcount("both", "small") == c.pfcount("both")
    assert c.execute_command("PFDEBUG", "ENCODING", "visits") == b"dense"
    cl.wait_converged()
    want = c.get("visits")
    for nd in cl.nodes:
        with nd.readonly_client() as rc:
            assert rc.get("visits") == want, f"{nd} differs"
            if nd is not leader:
                assert rc.pfcount("small") == 3
                assert rc.get("small")[15] & 0x80, f"{nd} changed its copy on a read"
    assert c.pfcount("small") == 3
    cl.wait_converged()
    for nd in cl.nodes:
        with nd.readonly_client() as rc:
            assert rc.get("small")[15] == 0, f"{nd} missed the cache update"
