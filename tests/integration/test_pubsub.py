"""Pub/sub, as a user of redis-py and of raw RESP sees it, on one node and
in a cluster, and the containers' unknown subcommands.

- SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE and their UNSUBSCRIBEs, PUBLISH and
  SPUBLISH, PUBSUB's subcommands: through redis-py's PubSub (RESP2) and a
  raw RESP3 connection (push messages, any command allowed meanwhile).
- RESP2 subscribed mode refuses other commands with Redis's error.
- A subscriber that disconnects, or RESETs, leaves nothing behind.
- A subscriber that does not read is disconnected past the pubsub class of
  client-output-buffer-limit, and INFO counts it.
- CLIENT LIST / KILL TYPE pubsub find subscribed clients only.
- An unknown subcommand of any container command (CLIENT FOO, OBJECT FOO,
  ...) is an error, inside MULTI too, and the server keeps serving (it
  crashed before).
- The idle timeout closes neither subscribers nor clients blocked on keys.
- In a cluster: a message published on the leader or a follower reaches
  the subscribers of every node, in publish order; PUBLISH counts the
  local receivers; RAFT.PUBLISH is refused to a connection that is no peer.

The expected replies are redis-server 7.0's: RAFTCACHE_BIN=redis-server
runs the single-node tests against it.
"""

import socket
import time

import pytest
import redis

from conftest import KIND, wait_until

cluster_only = pytest.mark.skipif(KIND != "raftcache", reason="a raftcache cluster")


def message(ps, timeout_s=5):
    """The next data message (not a (un)subscribe confirmation), or None."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        m = ps.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if m is not None:
            return m
    return None


def send(sock, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)


def read_exactly(sock, want):
    """Reads until the buffer ends with want's bytes (a deadline applies)."""
    data = b""
    deadline = time.monotonic() + 10
    while not data.endswith(want) and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


# ---------------------------------------------------------------- redis-py


def test_subscribe_publish_and_patterns(server):
    c = server.client()
    sub = server.client().pubsub()
    sub.subscribe("news", "sport")
    sub.psubscribe("n*")
    wait_until(lambda: c.pubsub_numsub("news") == [(b"news", 1)], 5, what="the subscription")
    assert c.publish("news", "hello") == 2  # the channel and the pattern
    got = [message(sub), message(sub)]
    assert {(m["type"], m["channel"], m["data"]) for m in got} == {
        ("message", b"news", b"hello"),
        ("pmessage", b"news", b"hello"),
    }
    assert [m["pattern"] for m in got if m["type"] == "pmessage"] == [b"n*"]
    assert c.publish("weather", "rain") == 0
    assert c.pubsub_numpat() == 1
    assert sorted(c.pubsub_channels()) == [b"news", b"sport"]
    assert c.pubsub_channels("s*") == [b"sport"]
    sub.unsubscribe("news")
    wait_until(lambda: c.pubsub_numsub("news") == [(b"news", 0)], 5, what="the unsubscription")
    assert c.publish("news", "again") == 1  # the pattern only
    assert message(sub)["type"] == "pmessage"
    sub.close()


def test_shard_channels(server):
    c = server.client()
    s = server.sock()  # redis-py 4.3 has no SSUBSCRIBE
    send(s, "SSUBSCRIBE", "orders")
    assert read_exactly(s, b":1\r\n") == b"*3\r\n$10\r\nssubscribe\r\n$6\r\norders\r\n:1\r\n"
    assert c.execute_command("PUBSUB", "SHARDNUMSUB", "orders") == [b"orders", 1]
    assert c.execute_command("PUBSUB", "SHARDCHANNELS") == [b"orders"]
    assert c.execute_command("PUBSUB", "SHARDCHANNELS", "x*") == []
    assert c.execute_command("SPUBLISH", "orders", "o1") == 1
    assert read_exactly(s, b"o1\r\n") == b"*3\r\n$8\r\nsmessage\r\n$6\r\norders\r\n$2\r\no1\r\n"
    assert c.publish("orders", "not a shard message") == 0
    assert c.pubsub_channels() == []
    send(s, "SUNSUBSCRIBE")
    assert read_exactly(s, b":0\r\n") == b"*3\r\n$12\r\nsunsubscribe\r\n$6\r\norders\r\n:0\r\n"
    s.close()


def test_resp2_subscribed_mode_refuses_other_commands(server):
    s = server.sock()
    send(s, "SUBSCRIBE", "a")
    assert read_exactly(s, b":1\r\n") == b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    send(s, "GET", "x")
    assert read_exactly(s, b"context\r\n") == (
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
        b"RESET are allowed in this context\r\n")
    send(s, "PING")
    assert read_exactly(s, b"$0\r\n\r\n") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    send(s, "UNSUBSCRIBE")
    assert read_exactly(s, b":0\r\n") == b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n"
    send(s, "UNSUBSCRIBE")  # none left: one confirmation with a null channel
    assert read_exactly(s, b":0\r\n") == b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    send(s, "GET", "x")
    assert read_exactly(s, b"$-1\r\n") == b"$-1\r\n"
    s.close()


def test_resp3_push_messages_and_commands_while_subscribed(server):
    s = server.sock()
    send(s, "HELLO", "3")
    read_exactly(s, b"modules\r\n*0\r\n")
    send(s, "SUBSCRIBE", "z")
    assert read_exactly(s, b":1\r\n") == b">3\r\n$9\r\nsubscribe\r\n$1\r\nz\r\n:1\r\n"
    send(s, "GET", "x")
    assert read_exactly(s, b"_\r\n") == b"_\r\n"
    assert server.client().publish("z", "m") == 1
    assert read_exactly(s, b"$1\r\nm\r\n") == b">3\r\n$7\r\nmessage\r\n$1\r\nz\r\n$1\r\nm\r\n"
    send(s, "PING")
    assert read_exactly(s, b"+PONG\r\n") == b"+PONG\r\n"
    s.close()


def test_disconnect_and_reset_drop_subscriptions(server):
    c = server.client()
    s = server.sock()
    send(s, "SUBSCRIBE", "gone")
    read_exactly(s, b":1\r\n")
    send(s, "PSUBSCRIBE", "g*")
    read_exactly(s, b":2\r\n")
    assert c.info("stats")["pubsub_channels"] == 1
    s.close()
    wait_until(lambda: c.pubsub_numsub("gone") == [(b"gone", 0)] and c.pubsub_numpat() == 0, 5,
               what="the subscriptions to go with the connection")
    assert c.publish("gone", "x") == 0
    s = server.sock()
    send(s, "SSUBSCRIBE", "r")
    read_exactly(s, b":1\r\n")
    send(s, "RESET")
    assert read_exactly(s, b"+RESET\r\n").endswith(b"+RESET\r\n")
    assert c.execute_command("PUBSUB", "SHARDNUMSUB", "r") == [b"r", 0]
    send(s, "GET", "x")  # out of subscribed mode
    assert read_exactly(s, b"$-1\r\n") == b"$-1\r\n"
    s.close()


def test_client_list_and_kill_type_pubsub(server):
    c = server.client()
    sub = server.client().pubsub()
    sub.subscribe("t")
    wait_until(lambda: c.pubsub_numsub("t") == [(b"t", 1)], 5, what="the subscription")
    listed = c.execute_command("CLIENT", "LIST", "TYPE", "pubsub")
    listed = listed.decode() if isinstance(listed, bytes) else listed
    assert len(listed.splitlines()) == 1 and " sub=1 " in listed and "flags=P" in listed
    normal = c.execute_command("CLIENT", "LIST", "TYPE", "normal")
    normal = normal.decode() if isinstance(normal, bytes) else normal
    assert " sub=1 " not in normal
    assert c.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
    wait_until(lambda: c.pubsub_numsub("t") == [(b"t", 0)], 5, what="the killed subscriber")
    assert c.ping() is True


def test_slow_subscriber_is_disconnected_past_its_output_limit(server):
    c = server.client()
    c.config_set("client-output-buffer-limit", "pubsub 256kb 0 0")
    s = server.sock(rcvbuf=4096)  # reads nothing from here on
    send(s, "SUBSCRIBE", "flood")
    read_exactly(s, b":1\r\n")
    # raftcache counts them (Redis 7.2's field); redis-server 7.0 has no such field
    counted = "client_output_buffer_limit_disconnections"
    before = c.info("stats").get(counted)
    payload = b"x" * 65536
    for _ in range(200):  # 13 MB: far past what the socket buffers hold
        if c.publish("flood", payload) == 0:
            break
    wait_until(lambda: c.pubsub_numsub("flood") == [(b"flood", 0)], 10,
               what="the slow subscriber to be disconnected")
    if before is not None:
        assert c.info("stats")[counted] > before
    s.close()


# --------------------------------------------------- containers' subcommands


# Redis 7.0's commands with subcommands; those the server has are tried.
CONTAINERS = ["acl", "client", "cluster", "command", "config", "function", "latency", "memory",
              "module", "object", "pubsub", "script", "slowlog", "xinfo", "xgroup"]


def containers(server):
    listed = set(server.cli("COMMAND", "LIST").split())
    return [n for n in CONTAINERS if n in listed]


def test_unknown_subcommand_of_every_container_is_an_error(server):
    c = server.client()
    names = containers(server)
    assert {"client", "object", "config", "pubsub"} <= set(names)
    for name in names:
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command(name, "no-such-subcommand")
        assert "unknown subcommand" in str(e.value), (name, str(e.value))
        assert c.ping() is True
        with pytest.raises(redis.ResponseError) as e:  # queued: EXEC aborts
            with c.pipeline(transaction=True) as p:
                p.execute_command(name, "no-such-subcommand")
                p.execute()
        assert "EXECABORT" in str(e.value) or "unknown subcommand" in str(e.value)
        assert c.ping() is True


# ------------------------------------------------------------- in a cluster


def subscribed(nd, *channels, pattern=False):
    ps = nd.client().pubsub()
    (ps.psubscribe if pattern else ps.subscribe)(*channels)
    m = ps.get_message(timeout=5)  # the confirmation: the subscription is in place
    assert m is not None and m["type"] in ("subscribe", "psubscribe")
    return ps


@cluster_only
def test_cluster_message_reaches_subscribers_on_every_node(cluster):
    leader = cluster.wait_leader()
    followers = [nd for nd in cluster.nodes if nd is not leader]
    subs = {nd.node_id: subscribed(nd, "events") for nd in cluster.nodes}
    pat = subscribed(followers[0], "ev*", pattern=True)
    # published on the leader: every node's subscriber gets it; the reply
    # counts this node's receivers only, as Redis Cluster's does
    assert leader.client().publish("events", "from-leader") == 1
    for nid, ps in subs.items():
        m = message(ps)
        assert m is not None and m["data"] == b"from-leader", nid
    m = message(pat)
    assert m is not None and (m["type"], m["data"]) == ("pmessage", b"from-leader")
    # published on a follower (no MOVED: pub/sub runs on every node)
    assert followers[1].client().publish("events", "from-follower") == 1
    for nid, ps in subs.items():
        m = message(ps)
        assert m is not None and m["data"] == b"from-follower", nid
    for ps in list(subs.values()) + [pat]:
        ps.close()


@cluster_only
def test_cluster_messages_keep_their_publish_order(cluster):
    leader = cluster.wait_leader()
    far = [nd for nd in cluster.nodes if nd is not leader][0]
    ps = subscribed(far, "seq")
    pub = leader.client().pipeline(transaction=False)
    for i in range(2000):
        pub.publish("seq", str(i))
    pub.execute()
    got = []
    while len(got) < 2000:
        m = message(ps)
        assert m is not None, f"only {len(got)} of 2000 messages arrived"
        got.append(int(m["data"]))
    assert got == list(range(2000))
    ps.close()


@cluster_only
def test_cluster_shard_messages_and_peers_cannot_be_impersonated(cluster):
    leader = cluster.wait_leader()
    far = [nd for nd in cluster.nodes if nd is not leader][0]
    s = far.sock()
    send(s, "SSUBSCRIBE", "orders")
    read_exactly(s, b":1\r\n")
    assert leader.client().execute_command("SPUBLISH", "orders", "o1") == 0
    assert read_exactly(s, b"o1\r\n").endswith(b"$6\r\norders\r\n$2\r\no1\r\n")
    s.close()
    # a client without RAFT.AUTH cannot inject a message as a peer
    c = far.client()
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("RAFT.PUBLISH", leader.node_id, 0, "orders", "forged")
    assert str(e.value).startswith("RAFT.PUBLISH is for cluster peers")


# ------------------------------------------------------------ idle timeout


def test_idle_timeout_spares_subscribers_and_blocked_clients(start_server):
    srv = start_server({"timeout": 1})
    idle = srv.sock()
    send(idle, "PING")
    read_exactly(idle, b"+PONG\r\n")
    sub = srv.sock()
    send(sub, "SUBSCRIBE", "quiet")
    read_exactly(sub, b":1\r\n")
    blocked = srv.sock()
    send(blocked, "BLPOP", "nothing-here", "0")

    def idle_closed():
        try:
            idle.settimeout(0.1)
            return idle.recv(1) == b""
        except socket.timeout:
            return False
    wait_until(idle_closed, 10, what="the idle client to be closed")
    # the other two waited as long, and are still there
    c = srv.client()  # a fresh connection: the first one was idle too
    assert c.pubsub_numsub("quiet") == [(b"quiet", 1)]
    assert c.info("clients")["blocked_clients"] == 1
    c.rpush("nothing-here", "x")
    assert read_exactly(blocked, b"$1\r\nx\r\n").endswith(b"$1\r\nx\r\n")
    for s in (idle, sub, blocked):
        s.close()
