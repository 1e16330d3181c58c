"""Keyspace notifications (notify-keyspace-events) in a 3-node cluster, as
a subscriber on a follower sees them.

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

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="a raftcache cluster")

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
