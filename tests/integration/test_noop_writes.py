"""A write that changes nothing because its keys are absent (SPOP, ZPOPMIN,
DEL, HDEL... on missing keys) is answered by the leader as a linearizable
read, as redis-server propagates nothing for it: the log does not grow, the
replies are Redis's, a client's own earlier write to the key is still seen
(it is in flight, so the call goes through the log behind it), a present key
goes through the log, and a follower still answers MOVED.

Every wait polls with a deadline; nothing asserts how long anything took.
"""

import pytest
import redis

from conftest import KIND
from raftharness import raft_info_of

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="raftcache's Raft log")

NOOPS = [
    (("SPOP", "n:s"), None),
    (("SPOP", "n:s", "3"), []),
    (("SREM", "n:s", "a", "b"), 0),
    (("ZPOPMIN", "n:z"), []),
    (("ZPOPMAX", "n:z", "2"), []),
    (("ZREM", "n:z", "m"), 0),
    (("ZREMRANGEBYSCORE", "n:z", "0", "10"), 0),
    (("ZREMRANGEBYRANK", "n:z", "0", "-1"), 0),
    (("ZREMRANGEBYLEX", "n:z", "-", "+"), 0),
    (("ZMPOP", "2", "n:z", "{n}:z2", "MIN"), None),
    (("HDEL", "n:h", "f"), 0),
    (("DEL", "n:a", "n:b"), 0),
    (("UNLINK", "n:a"), 0),
    (("GETDEL", "n:a"), None),
    (("PERSIST", "n:a"), 0),
    (("EXPIRE", "n:a", "100"), 0),
    (("PEXPIREAT", "n:a", "99999999999999"), 0),
]


def current_index(c):
    return int(raft_info_of(c)["current_index"])


def test_absent_key_writes_add_no_entry(make_cluster):
    cl = make_cluster(3)
    c = cl.leader().client()
    c.set("warm", 1)
    before = current_index(c)
    for args, want in NOOPS:
        assert c.execute_command(*args) == want, args
    with pytest.raises(redis.ResponseError, match="out of range"):
        c.execute_command("SPOP", "n:s", "-1")
    assert current_index(c) == before


def test_present_keys_and_own_pipelined_writes_go_through_the_log(make_cluster):
    cl = make_cluster(3)
    c = cl.leader().client()
    c.sadd("p:s", "a")
    before = current_index(c)
    assert c.spop("p:s") == b"a"
    assert current_index(c) > before
    # A pipeline's SPOP sees the same client's SADD just before it.
    for i in range(50):
        pipe = c.pipeline(transaction=False)
        pipe.sadd(f"q:{i}", "x")
        pipe.spop(f"q:{i}")
        pipe.zadd(f"z:{i}", {"m": 1})
        pipe.zpopmin(f"z:{i}")
        pipe.hset(f"h:{i}", "f", "v")
        pipe.hdel(f"h:{i}", "f")
        assert pipe.execute() == [1, b"x", 1, [(b"m", 1.0)], 1, 1]
    cl.wait_converged()


def test_follower_still_redirects(make_cluster):
    cl = make_cluster(3)
    follower = cl.followers()[0]
    with follower.client() as fc:
        with pytest.raises(redis.ResponseError, match="MOVED"):
            fc.spop("n:s")
