"""Client-side caching (CLIENT TRACKING) beyond what Redis's unit/tracking
covers on one node: tracking clients of followers, whose invalidations
come from the log applied there (reads local with READONLY, or forwarded
by the follower proxy), the RESP2 redirect to a subscriber, flushes,
expiry, eviction without a feedback loop, and node-redis's clientSideCache
across a leader's kill -9.

Every wait is bounded; nothing asserts on how long something took.
"""

import json
import os
import subprocess
import time

import pytest
import redis

from conftest import CLIENTS_DIR, PushRaw, Raw, node_bin, node_modules, wait_until

PROXY = {"raft-follower-proxy": "yes"}
PUSH_WAIT_S = 15


def invalidate(*keys):
    """The RESP3 push of an invalidation of keys (none: a flush's null)."""
    head = b">2\r\n$10\r\ninvalidate\r\n"
    if not keys:
        return head + b"_\r\n"
    body = b"".join(b"$%d\r\n%s\r\n" % (len(k), k.encode()) for k in keys)
    return head + b"*%d\r\n" % len(keys) + body


def bulk(v):
    return b"$%d\r\n%s\r\n" % (len(v), v.encode())


class Tracker(PushRaw):
    """A RESP3 connection with tracking on, reading pushes as raw bytes."""

    def __init__(self, port, *options, readonly=False):
        super().__init__(port)
        assert self.cmd("HELLO", "3").startswith(b"%")
        if readonly:
            assert self.cmd("READONLY") == b"+OK\r\n"
        assert self.cmd("CLIENT", "TRACKING", "ON", *options) == b"+OK\r\n"

    def push(self, timeout_s=PUSH_WAIT_S):
        return super().push(timeout_s)


def reads(t, key, value):
    """Polls GET key on t until it answers value (the node applied it). The
    pushes that came meanwhile told of values before it: dropped."""
    wait_until(lambda: t.cmd("GET", key) == bulk(value), 10, what=f"GET {key} == {value}")
    t.pushes.clear()


def test_a_follower_tells_its_tracking_clients_when_it_applies_a_write(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    f1 = cl.followers()[0]
    w = ld.client()
    w.set("k", "v1")
    t = Tracker(f1.port, readonly=True)
    try:
        reads(t, "k", "v1")
        w.set("k", "v2")
        assert t.push() == invalidate("k")
        # told once the follower holds the new value: never staler than it
        assert t.cmd("GET", "k") == bulk("v2")
        # an expired key is deleted by an entry, applied here too
        w.set("e", "x", px=1500)
        reads(t, "e", "x")
        assert t.push() == invalidate("e")
        # a key read once is invalidated once, until read again
        w.set("k", "v3")
        w.set("k", "v4")
        assert t.push() == invalidate("k")
        assert t.push(timeout_s=1) is None
        # a flush invalidates everything with a null
        assert t.cmd("GET", "k") == bulk("v4")
        w.flushall()
        assert t.push() == invalidate()
    finally:
        t.close()


def test_tracking_through_the_follower_proxy(make_cluster):
    cl = make_cluster(3, PROXY)
    f1, f2 = cl.followers()
    w = f2.client()  # writes forwarded by the other follower
    w.set("k", "v1")
    t = Tracker(f1.port)
    b = Tracker(f1.port, "BCAST", "PREFIX", "user:")
    try:
        assert t.cmd("GET", "k") == bulk("v1")  # forwarded to the leader
        w.set("k", "v2")
        assert t.push() == invalidate("k")
        assert t.cmd("GET", "k") == bulk("v2")
        # the client's own write through the proxy: told too (safe, if once more)
        assert t.cmd("SET", "k", "v3") == b"+OK\r\n"
        assert t.push() == invalidate("k")
        # BCAST: every key under the prefix, whoever reads it
        w.set("user:1", "a")
        w.set("other", "b")
        assert b.push() == invalidate("user:1")
        # a transaction's reads are remembered when its EXEC goes
        assert t.cmd("MULTI") == b"+OK\r\n"
        assert t.cmd("GET", "m") == b"+QUEUED\r\n"
        assert t.cmd("SET", "n", "1") == b"+QUEUED\r\n"
        assert t.cmd("EXEC").startswith(b"*2\r\n")
        w.set("m", "x")
        assert t.push() == invalidate("m")
    finally:
        t.close()
        b.close()


def test_resp2_redirect_to_a_subscriber_of_a_follower(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    f1 = cl.followers()[0]
    w = ld.client()
    w.set("k", "v1")
    sub = Raw(f1.port)
    try:
        redir = int(sub.cmd("CLIENT", "ID")[1:-2])
        assert sub.cmd("SUBSCRIBE", "__redis__:invalidate").startswith(b"*3\r\n$9\r\nsubscribe")
        with f1.client() as c:
            c.execute_command("READONLY")
            c.execute_command("CLIENT", "TRACKING", "ON", "REDIRECT", redir)
            assert c.execute_command("CLIENT", "GETREDIR") == redir
            wait_until(lambda: c.get("k") == b"v1", 10, what="the follower applied k")
            w.set("k", "v2")
            assert sub.reply() == (b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
                                   b"*1\r\n$1\r\nk\r\n")
            # the redirect gone: the tracking client is marked broken_redirect
            sub.close()
            wait_until(lambda: c.get("k") == b"v2", 10, what="the follower applied k")
            w.set("k", "v3")
            wait_until(lambda: b"R" in client_flags(c), PUSH_WAIT_S, what="flag R")
    finally:
        sub.close()


def client_flags(c):
    """CLIENT INFO's flags of connection c."""
    return c.execute_command("CLIENT", "INFO").split(b" flags=")[1].split(b" ")[0]


def test_invalidations_cause_no_eviction_feedback_loop(start_server):
    """Ten tracking clients cache 300 keys of long names; lowering maxmemory
    a little evicts some, and their invalidations (10 KB a key) fill the
    clients' output. Clients that read them: eviction settles with most
    keys kept, instead of evicting for the memory its own messages take."""
    srv = start_server(directives={"maxmemory-policy": "allkeys-lru",
                                   "maxmemory-eviction-tenacity": "100"})
    c = srv.client()
    trackers = [Tracker(srv.port) for _ in range(10)]
    try:
        keys = [f"{j}" + "x" * 1000 for j in range(300)]
        for k in keys:
            c.set(k, "x")
            for t in trackers:
                t.send("GET", k)
        for t in trackers:
            for _ in keys:
                assert t.reply() == bulk("x")
        used = c.info("memory")["used_memory"]
        c.config_set("maxmemory", str(used - 40000))
        wait_until(lambda: c.info("stats")["evicted_keys"] >= 10, 10, what="some eviction")
        told = [0] * len(trackers)

        def drained_and_settled():
            before = c.info("stats")["evicted_keys"]
            for i, t in enumerate(trackers):
                while (p := t.push(timeout_s=0.2)) is not None:
                    assert p.startswith(b">2\r\n$10\r\ninvalidate\r\n*1\r\n"), p
                    told[i] += 1
            time.sleep(0.5)  # sleep: cron ticks, each of which may evict
            return c.info("stats")["evicted_keys"] == before and before == told[0]

        wait_until(drained_and_settled, 60, interval_s=0, what="eviction to settle")
        assert 200 <= c.dbsize() < 300
        assert told == [told[0]] * len(trackers) and told[0] == 300 - c.dbsize()
    finally:
        c.config_set("maxmemory", "0")
        for t in trackers:
            t.close()


class NodeCache:
    """tests/clients/csc_client.js: node-redis with clientSideCache on one
    node, asked line by line."""

    def __init__(self, pkg, port):
        node_modules()
        self.p = subprocess.Popen([node_bin(), os.path.join(CLIENTS_DIR, "csc_client.js"), pkg,
                                   str(port)], cwd=CLIENTS_DIR, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def get(self, key):
        self.p.stdin.write(f"get {key}\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert line, "csc_client.js exited"
        return json.loads(line)

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()


def cached_value(nc, key, value):
    """Polls nc's GET key until it answers value, then asks again: that one
    must be a cache hit with the same value."""
    wait_until(lambda: nc.get(key).get("value") == value, PUSH_WAIT_S,
               what=f"node-redis reads {key} == {value}")
    before = nc.get(key)
    after = nc.get(key)
    assert after["value"] == value and after["hits"] == before["hits"] + 1, (before, after)


@pytest.mark.parametrize("pkg", ["redis5", "redis6"])
def test_node_redis_client_side_cache_across_a_leader_kill(make_cluster, pkg):
    """node-redis on a follower (the proxy forwards its reads): its cache
    serves hits, is invalidated by writes from any node, and stays right
    through the leader's kill -9 and the election after it."""
    cl = make_cluster(3, PROXY)
    ld = cl.leader()
    f1, f2 = cl.followers()
    ld.client().set("k", "v1")
    nc = NodeCache(pkg, f1.port)
    try:
        cached_value(nc, "k", "v1")
        f2.client().set("k", "v2")
        cached_value(nc, "k", "v2")
        cl.kill9(ld)
        new = cl.wait_leader(nodes=[f1, f2])
        with new.client() as w:
            wait_until(lambda: _set(w, "k", "v3"), 30, what="a write to the new leader")
        cached_value(nc, "k", "v3")
        other = f2 if new is f1 else f1
        other.client().set("k", "v4")
        cached_value(nc, "k", "v4")
    finally:
        nc.close()
        cl.start(ld)


def _set(c, key, value):
    try:
        return c.set(key, value)
    except redis.RedisError:
        return False
