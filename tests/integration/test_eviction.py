"""Eviction over maxmemory (src/sm/evict.h): the leader chooses the keys, the
deletion is a log entry, and every replica holds the same keys afterwards.

The memory figures compared are used_memory (src/server/memory.h) and maxmemory;
the margins allow the writes of one commit round. Every wait polls with a
deadline; nothing asserts how long anything took.
"""

import time

import pytest
import redis

from conftest import KIND, wait_until
from raftharness import raft_info_of

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="raftcache's eviction entries")

DEADLINE_S = 60
VALUE = b"v" * 200


def used(c):
    return int(c.info("memory")["used_memory"])


def fill(c, prefix, n, ttl=None, batch=200):
    """n keys of VALUE (with a TTL in seconds if given), pipelined."""
    for start in range(0, n, batch):
        pipe = c.pipeline(transaction=False)
        for i in range(start, min(n, start + batch)):
            if ttl:
                pipe.setex(f"{prefix}:{i}", ttl, VALUE)
            else:
                pipe.set(f"{prefix}:{i}", VALUE)
        pipe.execute()


def limit_above_now(c, headroom):
    limit = used(c) + headroom
    c.config_set("maxmemory", limit)
    return limit


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_single_node_stays_under_maxmemory(start_server, policy):
    c = start_server().client()
    c.config_set("maxmemory-policy", policy)
    limit = limit_above_now(c, 2 * 1024 * 1024)
    fill(c, "k", 40000)  # ~10 MB of values: 5 times the room
    info = c.info()
    assert info["evicted_keys"] > 0
    assert info["maxmemory_policy"] == policy
    assert used(c) <= limit * 1.05, (used(c), limit)
    assert 0 < c.dbsize() < 40000
    # The newest keys are there: eviction runs before each write.
    assert c.get("k:39999") == VALUE


def test_lru_keeps_the_keys_that_are_read(start_server):
    c = start_server().client()
    c.config_set("maxmemory-policy", "allkeys-lru")
    c.config_set("maxmemory-samples", 10)
    fill(c, "hot", 200)
    limit_above_now(c, 2 * 1024 * 1024)
    # The LRU clock counts seconds: the cold keys are written over about four
    # of them while the hot ones are read all along, so that the oldest cold
    # keys are seconds idler than any hot key when they are chosen.
    for batch in range(40):
        fill(c, f"cold{batch}", 500)
        pipe = c.pipeline(transaction=False)
        for i in range(200):
            pipe.get(f"hot:{i}")
        pipe.execute()
        time.sleep(0.1)  # sleep: the LRU clock counts seconds (above)
    assert c.info()["evicted_keys"] > 5000
    hot = sum(c.exists(f"hot:{i}") for i in range(200))
    cold = sum(c.exists(f"cold0:{i}") for i in range(500))
    assert hot > 190 and cold < 50, (hot, cold)


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random",
                                    "volatile-ttl"])
def test_volatile_policies_never_evict_persistent_keys(start_server, policy):
    c = start_server().client()
    c.config_set("maxmemory-policy", policy)
    fill(c, "keep", 1000)
    limit_above_now(c, 1024 * 1024)
    fill(c, "tmp", 20000, ttl=100000)
    assert c.info()["evicted_keys"] > 0
    assert sum(c.exists(f"keep:{i}") for i in range(1000)) == 1000
    # Only persistent keys left to evict: writes are refused as Redis does.
    c.execute_command("DEL", *[f"tmp:{i}" for i in range(20000)])
    c.config_set("maxmemory", used(c) - 100 * 1024)
    with pytest.raises(redis.ResponseError, match="OOM command not allowed"):
        fill(c, "more", 2000)
    assert sum(c.exists(f"keep:{i}") for i in range(1000)) == 1000
    assert c.get("keep:0") == VALUE  # reads still served


def test_volatile_ttl_evicts_the_nearest_expiry_first(start_server):
    c = start_server().client()
    c.config_set("maxmemory-policy", "volatile-ttl")
    c.config_set("maxmemory-samples", 20)
    fill(c, "late", 2000, ttl=1000000)
    fill(c, "soon", 2000, ttl=100000)
    limit_above_now(c, 0)
    fill(c, "new", 1000, ttl=500000)
    late = sum(c.exists(f"late:{i}") for i in range(2000))
    soon = sum(c.exists(f"soon:{i}") for i in range(2000))
    assert late > soon, (late, soon)


def test_lfu_counter_and_object_freq(start_server):
    c = start_server().client()
    c.set("k", "v")
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is not selected"):
        c.object("freq", "k")
    c.config_set("maxmemory-policy", "allkeys-lfu")
    c.config_set("lfu-log-factor", 0)  # every access counts
    c.set("f", "v")
    assert c.object("freq", "f") == 5  # a new key's counter
    for _ in range(20):
        c.get("f")
    assert c.object("freq", "f") >= 25
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is selected"):
        c.object("idletime", "f")


def test_eviction_fires_keyspace_events_and_counts(start_server):
    c = start_server().client()
    c.config_set("notify-keyspace-events", "Ee")
    ps = c.pubsub()
    ps.subscribe("__keyevent@0__:evicted")
    c.config_set("maxmemory-policy", "allkeys-random")
    fill(c, "a", 2000)
    c.config_set("maxmemory", 1)  # the cron evicts without any write
    wait_until(lambda: c.dbsize() == 0, DEADLINE_S, what="every key evicted")
    got = set()

    def drained():
        while (m := ps.get_message(timeout=0.1)) is not None:
            if m["type"] == "message":
                got.add(m["data"])
        return len(got) == 2000
    wait_until(drained, DEADLINE_S, what="2000 evicted events")
    assert c.info()["evicted_keys"] == 2000
    c.config_resetstat()
    assert c.info()["evicted_keys"] == 0


def test_log_only_commands_are_unknown_to_clients(start_server):
    c = start_server().client()
    c.set("k", "v")
    for cmd in (("RAFTCACHE.EVICT", "allkeys", "k"), ("RAFTCACHE.SERVE", "LPOP", "k")):
        with pytest.raises(redis.ResponseError, match="unknown command"):
            c.execute_command(*cmd)
    assert c.get("k") == b"v"


def test_replicas_stay_identical_while_the_leader_evicts(make_cluster):
    cl = make_cluster(3, {"maxmemory-policy": "allkeys-lru"})
    leader = cl.leader()
    c = leader.client()
    limit = limit_above_now(c, 3 * 1024 * 1024)
    for nd in cl.followers():  # the same limit everywhere, as a deployment would set it
        nd.client().config_set("maxmemory", limit)
    for i in range(4):
        fill(c, f"w{i}", 10000)
        pipe = c.pipeline(transaction=False)
        for k in range(0, 10000, 7):
            pipe.get(f"w{i}:{k}")
        pipe.execute()
    assert used(c) <= limit * 1.05
    cl.wait_converged()  # every replica applied the leader's log: same digests
    evicted = c.info()["evicted_keys"]
    assert evicted > 0
    for nd in cl.followers():
        with nd.readonly_client() as rc:
            assert rc.info()["evicted_keys"] == evicted  # applied, not decided
            assert rc.dbsize() == c.dbsize()


def test_a_follower_over_maxmemory_keeps_its_keys_and_says_so(make_cluster):
    cl = make_cluster(3, {"maxmemory-policy": "allkeys-lru"})
    leader = cl.leader()
    c = leader.client()
    fill(c, "k", 5000)
    follower = cl.followers()[0]
    fc = follower.client()
    fc.config_set("maxmemory", used(fc) // 2)  # only this node is short of memory
    wait_until(lambda: fc.info("memory")["mem_over_maxmemory"] == 1, DEADLINE_S,
               what="the follower to report being over maxmemory")
    assert raft_info_of(fc)["over_maxmemory"] == "1"
    fill(c, "more", 1000)
    cl.wait_converged()
    with follower.readonly_client() as rc:
        assert rc.dbsize() == 6000
        assert rc.info()["evicted_keys"] == 0
    with open(follower.log_path, "rb") as f:
        assert b"over maxmemory" in f.read()


def test_restart_with_more_data_than_maxmemory_evicts_down_to_it(start_server):
    """An operator lowers maxmemory below the data and restarts: the node
    loads its snapshot and log past the limit (the keyspace's tables grow
    while it has no Raft core or links yet), starts, and the leader's cron
    evicts down to the limit without any write."""
    srv = start_server({"maxmemory-policy": "allkeys-lru"})
    c = srv.client()
    fill(c, "k", 20000)  # ~6 MB
    assert c.execute_command("RAFT.DEBUG", "COMPACT") == b"OK"
    wait_until(lambda: raft_info_of(c)["snapshot_in_progress"] == "no", DEADLINE_S,
               what="the snapshot")
    fill(c, "after", 2000)  # and some log after the snapshot
    srv.stop()
    srv.start(extra_args=["--maxmemory", "2mb"])
    c = srv.client()
    wait_until(lambda: used(c) <= 2 * 1024 * 1024, DEADLINE_S,
               what="eviction down to maxmemory after the restart")
    assert c.info()["evicted_keys"] > 0
    assert 0 < c.dbsize() < 22000
