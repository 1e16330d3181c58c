"""Keyspace notifications (notify-keyspace-events): Redis 7.0's events for
every write command, and in a 3-node cluster as a subscriber on a
follower sees them.

- One node: each write command of EVENTS publishes exactly the keyspace
  events redis-server 7.0.15 publishes for it, in its order ("new" for a
  created key, "del" when a container empties, nothing for a no-op);
  RAFTCACHE_BIN=redis-server runs this test against Redis itself.

- A write made on the leader reaches a subscriber on a follower as its
  keyspace (__keyspace@0__:<key>) and keyevent (__keyevent@0__:<event>)
  messages, in the order the writes were applied, Redis's event names
  included ("new", "set", "expire", "del", "lpush", "hset", ...).
- A key whose TTL passes is removed by the leader's expiry entry, which
  fires "expired" on every node: the follower's subscriber gets it.
- Each node publishes its own events to its own subscribers only: a
  follower's subscriber gets each event exactly once (a broadcast from the
  leader on top would deliver it twice).
- With notify-keyspace-events empty (the default) nothing is published.
- CONFIG SET/GET of the flags: Redis's canonical text and error.
"""

import time

import pytest
import redis

from conftest import KIND

cluster_only = pytest.mark.skipif(KIND != "raftcache", reason="a raftcache cluster")

FLAGS = "KEA"


def set_flags(cluster, flags):
    for nd in cluster.nodes:
        assert nd.client().config_set("notify-keyspace-events", flags)


def pmessages(ps, n, timeout_s=10):
    """The next n pmessages as (channel, data) pairs (fewer at the deadline)."""
    got, deadline = [], time.monotonic() + timeout_s
    while len(got) < n and time.monotonic() < deadline:
        m = ps.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if m is not None and m["type"] == "pmessage":
            got.append((m["channel"].decode(), m["data"].decode()))
    return got


def no_more(ps, quiet_s=0.5):
    """Nothing else arrives for quiet_s (a message delivered twice would)."""
    deadline = time.monotonic() + quiet_s
    while time.monotonic() < deadline:
        m = ps.get_message(ignore_subscribe_messages=True, timeout=0.05)
        if m is not None:
            return m
    return None


def subscriber(nd, pattern):
    ps = nd.client().pubsub()
    ps.psubscribe(pattern)
    m = ps.get_message(timeout=5)  # the confirmation: the subscription is in place
    assert m is not None and m["type"] == "psubscribe"
    return ps


def both(key, event):
    return [(f"__keyspace@0__:{key}", event), (f"__keyevent@0__:{event}", key)]


# (command, the "key:event" keyspace events it publishes), run in order on
# one node with notify-keyspace-events KEAn: redis-server 7.0.15's events.
EVENTS = [
    ('set a 1', 'a:new a:set'),
    ('set a 2 ex 100', 'a:set a:expire'),
    ('setnx a x', ''),
    ('setnx b x', 'b:new b:set'),
    ('getset b y', 'b:set'),
    ('setex c 100 v', 'c:new c:set c:expire'),
    ('psetex d 100000 v', 'd:new d:set d:expire'),
    ('getdel d', 'd:del'),
    ('getdel nokey', ''),
    ('getex c persist', 'c:persist'),
    ('getex c ex 50', 'c:expire'),
    ('getex c pxat 1', 'c:del'),
    ('mset m1 1 m2 2', 'm1:new m1:set m2:new m2:set'),
    ('msetnx m1 1 m3 3', ''),
    ('msetnx m4 1 m5 3', 'm4:new m4:set m5:new m5:set'),
    ('incr n', 'n:new n:incrby'),
    ('decr n', 'n:incrby'),
    ('incrby n 5', 'n:incrby'),
    ('decrby n 2', 'n:incrby'),
    ('incrbyfloat n 1.5', 'n:incrbyfloat'),
    ('append s ab', 's:new s:append'),
    ('append s cd', 's:append'),
    ('setrange s 1 ZZ', 's:setrange'),
    ('setrange s3 2 x', 's3:new s3:setrange'),
    ('setbit bits 7 1', 'bits:new bits:setbit'),
    ('setbit bits 7 1', ''),
    ('setbit bits 7 0', 'bits:setbit'),
    ('bitfield bf set u8 0 255', 'bf:new bf:setbit'),
    ('bitfield bf get u8 0', ''),
    ('bitop and bdst bits bf', 'bdst:new bdst:set'),
    ('bitop and bdst nokey1 nokey2', 'bdst:del'),
    ('pfadd hll a b', 'hll:new hll:pfadd'),
    ('pfadd hll a', ''),
    ('pfmerge hll2 hll', 'hll2:new hll2:pfadd'),
    ('pfcount hll', ''),
    ('expire a 100', 'a:expire'),
    ('pexpire a 100000', 'a:expire'),
    ('expireat a 1', 'a:del'),
    ('persist b', ''),
    ('expire b 100', 'b:expire'),
    ('persist b', 'b:persist'),
    ('rename b b2', 'b2:new b:rename_from b2:rename_to'),
    ('renamenx b2 m1', ''),
    ('renamenx b2 b3', 'b3:new b2:rename_from b3:rename_to'),
    ('copy b3 b4', 'b4:new b4:copy_to'),
    ('copy b3 b4 replace', 'b4:new b4:copy_to'),
    ('copy b3 b4', ''),
    ('del b3 b4 nokey', 'b3:del b4:del'),
    ('unlink m1', 'm1:del'),
    ('lpush l a b c', 'l:new l:lpush'),
    ('rpush l d', 'l:rpush'),
    ('lpushx l e', 'l:lpush'),
    ('rpushx nol e', ''),
    ('lpop l', 'l:lpop'),
    ('rpop l 2', 'l:rpop'),
    ('lpop l 0', ''),
    ('linsert l before b x', 'l:linsert'),
    ('linsert l before zz x', ''),
    ('lset l 0 y', 'l:lset'),
    ('lrem l 0 x', 'l:lrem'),
    ('lrem l 0 nope', ''),
    ('ltrim l 0 -1', 'l:ltrim'),
    ('rpush l2 1 2', 'l2:new l2:rpush'),
    ('lmove l2 l3 left right', 'l3:new l3:rpush l2:lpop'),
    ('rpoplpush l2 l3', 'l3:lpush l2:rpop l2:del'),
    ('lmpop 1 l3 left count 5', 'l3:lpop l3:del'),
    ('ltrim l 5 10', 'l:ltrim l:del'),
    ('sadd s1 a b c', 's1:new s1:sadd'),
    ('sadd s1 a', ''),
    ('srem s1 x', ''),
    ('srem s1 a', 's1:srem'),
    ('smove s1 s2 b', 's1:srem s2:new s2:sadd'),
    ('smove s1 s2 nope', ''),
    ('sadd s4 1 2 3', 's4:new s4:sadd'),
    ('spop s4', 's4:spop'),
    ('spop s4 1', 's4:spop'),
    ('spop s4 10', 's4:spop s4:del'),
    ('sadd sa 1 2', 'sa:new sa:sadd'),
    ('sadd sb 2 3', 'sb:new sb:sadd'),
    ('sinterstore sd sa sb', 'sd:new sd:sinterstore'),
    ('sunionstore sd sa sb', 'sd:sunionstore'),
    ('sdiffstore sd sa sb', 'sd:sdiffstore'),
    ('sinterstore sd sa nokey', 'sd:del'),
    ('hset h f 1 g 2', 'h:new h:hset'),
    ('hmset h f 3', 'h:hset'),
    ('hsetnx h f x', ''),
    ('hsetnx h z x', 'h:hset'),
    ('hincrby h f 2', 'h:hincrby'),
    ('hincrbyfloat h f 1.5', 'h:hincrbyfloat'),
    ('hdel h nope', ''),
    ('hdel h f g', 'h:hdel'),
    ('hdel h z', 'h:hdel h:del'),
    ('zadd z 1 a 2 b', 'z:new z:zadd'),
    ('zadd z 1 a', ''),
    ('zadd z incr 1 a', 'z:zincr'),
    ('zincrby z 1 b', 'z:zincr'),
    ('zrem z nope', ''),
    ('zrem z a', 'z:zrem'),
    ('zadd z2 1 a 2 b 3 c 4 d 5 e 6 f', 'z2:new z2:zadd'),
    ('zremrangebyscore z2 1 1', 'z2:zremrangebyscore'),
    ('zremrangebyrank z2 0 0', 'z2:zremrangebyrank'),
    ('zremrangebylex z2 [c [c', 'z2:zremrangebylex'),
    ('zpopmin z2', 'z2:zpopmin'),
    ('zpopmax z2 5', 'z2:zpopmax z2:del'),
    ('zadd z3 1 a', 'z3:new z3:zadd'),
    ('zrangestore zd z3 0 -1', 'zd:new zd:zrangestore'),
    ('zrangestore zd nokey 0 -1', 'zd:del'),
    ('zunionstore zu 1 z3', 'zu:new zu:zunionstore'),
    ('zinterstore zu 2 z3 z', 'zu:del'),
    ('zdiffstore zu 1 z3', 'zu:new zu:zdiffstore'),
    ('zmpop 1 z3 min', 'z3:zpopmin z3:del'),
    ('rpush sl 3 1 2', 'sl:new sl:rpush'),
    ('sort sl store sorted', 'sorted:new sorted:sortstore'),
    ('sort nokey store sorted', 'sorted:del'),
]


def test_every_write_command_fires_redis_events(server):
    c = server.client()
    c.config_set("notify-keyspace-events", "KEAn")
    ps = server.client().pubsub()
    ps.psubscribe("__keyspace@0__:*")
    ps.subscribe("marker")
    for _ in range(2):  # the confirmations: both subscriptions are in place
        assert ps.get_message(timeout=5) is not None
    for i, (cmd, want) in enumerate(EVENTS):
        try:
            c.execute_command(*cmd.split())
        except redis.ResponseError:
            pass  # the errors are the point of some rows: they fire nothing
        # a marker after the command: the messages before it are the command's
        c.publish("marker", str(i))
        got, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline:
            m = ps.get_message(timeout=0.1)
            if m is None:
                continue
            if m["type"] == "message":
                assert m["data"] == str(i).encode()
                break
            key = m["channel"].decode()[len("__keyspace@0__:"):]
            got.append(f"{key}:{m['data'].decode()}")
        else:
            raise AssertionError(f"no marker after {cmd!r}")
        assert " ".join(got) == want, cmd


@cluster_only
def test_follower_subscriber_sees_leader_writes(cluster):
    leader = cluster.wait_leader()
    follower = [nd for nd in cluster.nodes if nd is not leader][0]
    set_flags(cluster, FLAGS + "n")
    ps = subscriber(follower, "__key*@0__:*")
    c = leader.client()
    c.set("k1", "v", ex=100)
    c.lpush("list", "a")
    c.hset("h", "f", "1")
    c.delete("k1")
    want = (both("k1", "new") + both("k1", "set") + both("k1", "expire") +
            both("list", "new") + both("list", "lpush") +
            both("h", "new") + both("h", "hset") + both("k1", "del"))
    assert pmessages(ps, len(want)) == want
    assert no_more(ps) is None


@cluster_only
def test_follower_subscriber_sees_expired(cluster):
    leader = cluster.wait_leader()
    follower = [nd for nd in cluster.nodes if nd is not leader][0]
    set_flags(cluster, "Ex")
    ps = subscriber(follower, "__keyevent@0__:*")
    leader.client().psetex("short", 100, "1")
    # removed by the leader's active expiry entry, applied on the follower too
    assert pmessages(ps, 1, timeout_s=15) == [("__keyevent@0__:expired", "short")]
    assert no_more(ps) is None
    assert follower.readonly_client().exists("short") == 0


@cluster_only
def test_every_node_fires_its_own_events_once(cluster):
    leader = cluster.wait_leader()
    set_flags(cluster, "Eg$")
    subs = {nd.node_id: subscriber(nd, "__keyevent@0__:*") for nd in cluster.nodes}
    c = leader.client()
    c.set("x", "1")
    c.incrby("x", 5)
    c.rename("x", "y")
    want = [("__keyevent@0__:set", "x"), ("__keyevent@0__:incrby", "x"),
            ("__keyevent@0__:rename_from", "x"), ("__keyevent@0__:rename_to", "y")]
    for nid, ps in subs.items():
        assert pmessages(ps, len(want)) == want, nid
        assert no_more(ps) is None, nid


@cluster_only
def test_off_by_default_and_config(cluster):
    leader = cluster.wait_leader()
    follower = [nd for nd in cluster.nodes if nd is not leader][0]
    assert follower.client().config_get("notify-keyspace-events") == {
        "notify-keyspace-events": ""}
    ps = subscriber(follower, "*")
    leader.client().set("quiet", "1")
    leader.client().delete("quiet")
    cluster.wait_converged()
    assert no_more(ps) is None
    c = follower.client()
    c.config_set("notify-keyspace-events", "KA")
    assert c.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AK"}
    with pytest.raises(redis.ResponseError) as e:
        c.config_set("notify-keyspace-events", "KEQ")
    assert "Invalid event class character. Use 'Ag$lshzxeKEtmdn'." in str(e.value)
    assert c.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AK"}
