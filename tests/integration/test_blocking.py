"""Blocking commands (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN,
BZPOPMAX, BZMPOP, XREAD and XREADGROUP BLOCK) as Redis 7.0 behaves, on one node and in a
cluster.

One node (raftcache and redis-server alike): a client blocks until a write
fills a key, blocked clients are served first blocked first served, a
timeout answers a null, MULTI never blocks, CLIENT UNBLOCK answers a null or
an error, a blocked client runs nothing else until answered, and a client
that went away while blocked takes nothing.

A cluster (raftcache): a client blocks on the leader and the member it
received is gone on every replica; a follower answers MOVED; leadership
moving away answers every blocked client MOVED to the new leader, where it
blocks again.

Every wait polls with a deadline; nothing asserts how long anything took.
"""

import socket
import threading

import pytest
import redis

from conftest import KIND, wait_until

WAIT_S = 10


class Blocked(threading.Thread):
    """Runs one command on its own connection; .result or .error when done."""

    def __init__(self, port, *args):
        super().__init__(daemon=True)
        self.conn = redis.Redis(port=port)
        self.client_id = self.conn.client_id()
        self.args = args
        self.result = self.error = None
        self.start()

    def run(self):
        try:
            self.result = self.conn.execute_command(*self.args)
        except redis.RedisError as e:
            self.error = e

    def done(self):
        self.join(WAIT_S)
        assert not self.is_alive(), f"{self.args} still blocked"
        return self


def blocked_count(c):
    return int(c.info("clients")["blocked_clients"])


def wait_blocked(c, n):
    wait_until(lambda: blocked_count(c) == n, WAIT_S, what=f"{n} blocked clients")


def read_reply(s, want):
    data = b""
    while len(data) < len(want):
        chunk = s.recv(4096)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data


# ------------------------------------------------------------------ one node

def test_bzpopmin_blocks_until_a_write_fills_the_key(server):
    c = server.client()
    b = Blocked(server.port, "BZPOPMIN", "z1", "z2", "0")
    wait_blocked(c, 1)
    assert [x["flags"] for x in c.client_list() if int(x["id"]) == b.client_id] == ["b"]
    c.zadd("z2", {"m": 3, "n": 4})
    assert b.done().result == (b"z2", b"m", 3.0)  # redis-py parses the score
    assert c.zrange("z2", 0, -1) == [b"n"]
    assert blocked_count(c) == 0


def test_blocked_clients_are_served_in_the_order_they_blocked(server):
    c = server.client()
    waiters = []
    for i in range(3):
        waiters.append(Blocked(server.port, "BZPOPMAX", "q", "0"))
        wait_blocked(c, i + 1)
    c.zadd("q", {"a": 1, "b": 2})
    wait_until(lambda: blocked_count(c) == 1, WAIT_S, what="two served")
    assert waiters[0].done().result == (b"q", b"b", 2.0)
    assert waiters[1].done().result == (b"q", b"a", 1.0)
    assert waiters[2].is_alive()
    c.zadd("q", {"c": 3})
    assert waiters[2].done().result == (b"q", b"c", 3.0)


def test_timeout_answers_null_and_bzmpop_replies_nested(server):
    c = server.client()
    assert c.execute_command("BZPOPMIN", "none", "0.05") is None
    assert c.execute_command("BZMPOP", "0.05", "1", "none", "MIN") is None
    c.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert c.execute_command("BZMPOP", "0", "2", "none", "z", "MAX", "COUNT", "2") == \
        [b"z", [[b"c", b"3"], [b"b", b"2"]]]
    b = Blocked(server.port, "BZMPOP", "0", "2", "x1", "x2", "MIN", "COUNT", "5")
    wait_blocked(c, 1)
    c.zadd("x2", {"p": 1, "q": 2})
    assert b.done().result == [b"x2", [[b"p", b"1"], [b"q", b"2"]]]


def test_errors_are_redis_ones(server):
    c = server.client()
    c.set("s", "v")
    for args, err in [
        (("BZPOPMIN", "s", "0"), "WRONGTYPE"),
        (("BZPOPMIN", "z", "-1"), "timeout is negative"),
        (("BZPOPMIN", "z", "abc"), "timeout is not a float or out of range"),
        (("BZPOPMIN", "z", "inf"), "timeout is negative"),  # Redis 7.0's words
        (("BZPOPMIN", "z", "1e30"), "timeout is negative"),
        (("BZPOPMIN", "z", "nan"), "timeout is not a float or out of range"),
        (("BZMPOP", "0", "0", "z", "MIN"), "numkeys should be greater than 0"),
        (("BZMPOP", "0", "1", "z", "MIDDLE"), "syntax error"),
        (("BZMPOP", "0", "1", "z", "MIN", "COUNT", "0"), "count should be greater than 0"),
        (("BZMPOP", "abc", "1", "z", "MIN"), "timeout is not a float or out of range"),
        (("CLIENT", "UNBLOCK", "1", "MAYBE"), "reason should be TIMEOUT or ERROR"),
    ]:
        with pytest.raises(redis.ResponseError, match=err):
            c.execute_command(*args)


def test_multi_never_blocks(server):
    c = server.client()
    p = c.pipeline(transaction=True)
    p.execute_command("BZPOPMIN", "none", "0")
    p.execute_command("BZMPOP", "0", "1", "none", "MIN")
    p.set("after", "1")
    assert p.execute() == [None, None, True]


def test_client_unblock_answers_null_or_error(server):
    c = server.client()
    b = Blocked(server.port, "BZPOPMIN", "none", "0")
    wait_blocked(c, 1)
    assert c.client_unblock(b.client_id) == 1
    assert b.done().result is None and b.error is None
    b = Blocked(server.port, "BZPOPMIN", "none", "0")
    wait_blocked(c, 1)
    assert c.client_unblock(b.client_id, error=True) == 1
    assert "UNBLOCKED client unblocked via CLIENT UNBLOCK" in str(b.done().error)
    assert c.client_unblock(b.client_id) == 0
    assert c.client_unblock(c.client_id()) == 0


def test_blocked_client_runs_its_pipeline_in_order(server):
    c = server.client()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)
    s.sendall(b"BZPOPMIN pz 0\r\nSET after-pop 1\r\nGET after-pop\r\n")
    wait_blocked(c, 1)
    assert c.get("after-pop") is None  # the SET waits behind the blocked pop
    c.zadd("pz", {"m": 1})
    want = b"*3\r\n$2\r\npz\r\n$1\r\nm\r\n$1\r\n1\r\n+OK\r\n$1\r\n1\r\n"
    assert read_reply(s, want) == want
    s.close()


def test_client_gone_while_blocked_takes_nothing(server):
    c = server.client()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)
    s.sendall(b"BZPOPMIN gone 0\r\n")
    wait_blocked(c, 1)
    s.close()
    wait_blocked(c, 0)
    c.zadd("gone", {"m": 1})
    assert c.zcard("gone") == 1


def test_same_key_twice_and_resp3(server):
    c = server.client()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)
    s.sendall(b"HELLO 3\r\n")
    s.recv(4096)
    s.sendall(b"BZPOPMIN twice twice 0\r\n")
    wait_blocked(c, 1)
    c.zadd("twice", {"m": 1.5})
    want = b"*3\r\n$5\r\ntwice\r\n$1\r\nm\r\n,1.5\r\n"
    assert read_reply(s, want) == want
    s.sendall(b"BZPOPMIN twice 0.01\r\n")
    assert read_reply(s, b"_\r\n") == b"_\r\n"
    s.close()
    assert blocked_count(c) == 0


def test_blpop_brpop_blmpop_block_until_a_push(server):
    c = server.client()
    b1 = Blocked(server.port, "BLPOP", "l1", "l2", "0")
    wait_blocked(c, 1)
    b2 = Blocked(server.port, "BRPOP", "l2", "0")
    wait_blocked(c, 2)
    b3 = Blocked(server.port, "BLMPOP", "0", "2", "l3", "l2", "LEFT", "COUNT", "5")
    wait_blocked(c, 3)
    c.rpush("l2", "a", "b", "c", "d")
    assert b1.done().result == (b"l2", b"a")  # redis-py makes a tuple
    assert b2.done().result == (b"l2", b"d")
    assert b3.done().result == [b"l2", [b"b", b"c"]]
    assert c.exists("l2") == 0
    assert blocked_count(c) == 0


def test_blmove_chain_hands_the_element_on(server):
    c = server.client()
    mover = Blocked(server.port, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
    wait_blocked(c, 1)
    popper = Blocked(server.port, "BRPOPLPUSH", "dst", "done", "0")
    wait_blocked(c, 2)
    c.lpush("src", "job")
    assert mover.done().result == b"job"
    assert popper.done().result == b"job"
    assert c.lrange("done", 0, -1) == [b"job"]
    assert c.exists("src", "dst") == 0


def test_list_timeouts_and_multi_replies(server):
    c = server.client()
    assert c.execute_command("BLPOP", "none", "0.05") is None
    assert c.execute_command("BLMOVE", "none", "d", "LEFT", "LEFT", "0.05") is None
    assert c.execute_command("BLMPOP", "0.05", "1", "none", "RIGHT") is None
    p = c.pipeline(transaction=True)
    p.execute_command("BLPOP", "none", "0")
    p.execute_command("BRPOPLPUSH", "none", "d", "0")
    p.execute_command("BLMPOP", "0", "1", "none", "LEFT")
    assert p.execute() == [None, None, None]
    c.set("str", "v")
    for args, err in [
        (("BLPOP", "str", "0"), "WRONGTYPE"),
        (("BLMOVE", "str", "d", "LEFT", "LEFT", "0"), "WRONGTYPE"),
        (("BLMOVE", "s", "d", "UP", "LEFT", "0"), "syntax error"),
        (("BLMOVE", "s", "d", "LEFT", "LEFT", "-1"), "timeout is negative"),
        (("BLMPOP", "0", "1", "s", "UP"), "syntax error"),
        (("BLMPOP", "x", "1", "s", "LEFT"), "timeout is not a float or out of range"),
    ]:
        with pytest.raises(redis.ResponseError, match=err):
            c.execute_command(*args)


def test_a_push_serves_blocked_clients_first_come_first_served(server):
    c = server.client()
    waiters = []
    for i in range(4):
        waiters.append(Blocked(server.port, "BLPOP", "fifo", "0"))
        wait_blocked(c, i + 1)
    c.rpush("fifo", "1", "2", "3")
    assert [w.done().result for w in waiters[:3]] == [(b"fifo", b"1"), (b"fifo", b"2"),
                                                      (b"fifo", b"3")]
    assert waiters[3].is_alive() and blocked_count(c) == 1
    c.rpush("fifo", "4")
    assert waiters[3].done().result == (b"fifo", b"4")


# ---------------------------------------------------------------- a cluster

def test_xread_block_wakes_every_reader_of_the_new_entry(server):
    c = server.client()
    c.xadd("st", {"f": "old"}, id="5-0")
    r1 = Blocked(server.port, "XREAD", "BLOCK", "0", "STREAMS", "st", "$")
    r2 = Blocked(server.port, "XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "other", "st",
                 "0", "$")
    wait_blocked(c, 2)
    if KIND == "raftcache":
        # An entry added and deleted in one transaction wakes nobody (as
        # Redis 7.2; 7.0 answers such a reader an empty list of entries:
        # docs/compatibility.md).
        p = c.pipeline(transaction=True)
        p.xadd("st", {"f": "gone"}, id="6-0")
        p.xdel("st", "6-0")
        p.execute()
    c.xadd("st", {"f": "new"}, id="7-0")
    want = [[b"st", [(b"7-0", {b"f": b"new"})]]]
    assert r1.done().result == want and r2.done().result == want
    # waiting on an explicit ID: served at once when something is after it
    assert c.xread({"st": "5-0"}, block=0) == [[b"st", [(b"7-0", {b"f": b"new"})]]]
    # timeout: the null array; inside MULTI it never blocks
    assert c.xread({"st": "$"}, block=50) == []
    p = c.pipeline(transaction=True)
    p.xread({"st": "$"}, block=0)
    assert p.execute() == [[]]
    assert blocked_count(c) == 0


def test_xreadgroup_block_delivers_each_entry_to_one_consumer(server):
    c = server.client()
    c.xgroup_create("gs", "g", id="$", mkstream=True)
    a = Blocked(server.port, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS",
                "gs", ">")
    b = Blocked(server.port, "XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "BLOCK", "0",
                "STREAMS", "gs", ">")
    wait_blocked(c, 2)
    c.xadd("gs", {"f": "1"}, id="1-0")  # the first blocked takes it
    assert a.done().result == [[b"gs", [(b"1-0", {b"f": b"1"})]]]
    assert blocked_count(c) == 1
    c.xadd("gs", {"f": "2"}, id="2-0")
    assert b.done().result == [[b"gs", [(b"2-0", {b"f": b"2"})]]]
    pending = c.xpending("gs", "g")
    assert pending["pending"] == 2 and sorted(x["name"] for x in pending["consumers"]) == [
        b"alice", b"bob"]
    # an ID other than > reads the consumer's history at once, BLOCK or not
    assert c.xreadgroup("g", "alice", {"gs": "0"}, block=0) == [[b"gs", [(b"1-0", {b"f": b"1"})]]]
    assert c.xreadgroup("g", "carol", {"gs": "0"}, block=0) == [[b"gs", []]]
    # the group destroyed under a blocked client: NOGROUP; the key deleted: UNBLOCKED
    a = Blocked(server.port, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS",
                "gs", ">")
    wait_blocked(c, 1)
    c.xgroup_destroy("gs", "g")
    assert str(a.done().error).startswith("NOGROUP the consumer group this client was blocked")
    c.xgroup_create("gs", "g", id="$")
    a = Blocked(server.port, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS",
                "gs", ">")
    wait_blocked(c, 1)
    c.delete("gs")
    assert str(a.done().error) == "UNBLOCKED the stream key no longer exists"
    with pytest.raises(redis.ResponseError, match="NOGROUP"):
        c.xreadgroup("g", "x", {"gs": ">"}, block=0)


cluster_only = pytest.mark.skipif(KIND != "raftcache", reason="a raftcache cluster")


def zcards(cl, key):
    return {nd.node_id: nd.readonly_client().zcard(key) for nd in cl.live()}


@cluster_only
def test_pop_served_on_the_leader_is_gone_on_every_replica(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    c = ld.client()
    b = Blocked(ld.port, "BZPOPMIN", "cq", "0")
    wait_blocked(c, 1)
    c.zadd("cq", {"a": 1, "b": 2})
    assert b.done().result == (b"cq", b"a", 1.0)
    cl.wait_converged()
    assert set(zcards(cl, "cq").values()) == {1}


@cluster_only
def test_follower_answers_moved(make_cluster):
    cl = make_cluster(3)
    f = cl.followers()[0]
    with pytest.raises(redis.ResponseError, match="MOVED"):
        f.client().execute_command("BZPOPMIN", "fz", "0")
    assert blocked_count(f.client()) == 0


@cluster_only
def test_leadership_moving_away_answers_moved(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    c = ld.client()
    b = Blocked(ld.port, "BZPOPMIN", "tz", "0")
    wait_blocked(c, 1)
    target = cl.followers()[0]
    assert c.execute_command("RAFT.TRANSFER_LEADER", target.node_id) in (b"OK", "OK", True)
    err = str(b.done().error)
    new = cl.wait_leader(not_node=ld)
    assert err.startswith("MOVED") and err.endswith(f":{new.port}"), err
    assert blocked_count(c) == 0
    # retried where MOVED points, it blocks there and is served there
    b = Blocked(new.port, "BZPOPMIN", "tz", "0")
    wait_blocked(new.client(), 1)
    new.client().zadd("tz", {"m": 1})
    assert b.done().result == (b"tz", b"m", 1.0)


@cluster_only
def test_reliable_queue_across_a_leadership_change(make_cluster):
    """BLMOVE into a processing list: a job is either still pending, being
    processed, or done -- never lost or duplicated -- across a change of
    leader while consumers are blocked."""
    cl = make_cluster(3)
    ld = cl.leader()
    c = ld.client()
    b = Blocked(ld.port, "BLMOVE", "{q}pending", "{q}processing", "RIGHT", "LEFT", "0")
    wait_blocked(c, 1)
    c.lpush("{q}pending", "job1")
    assert b.done().result == b"job1"
    b = Blocked(ld.port, "BLMOVE", "{q}pending", "{q}processing", "RIGHT", "LEFT", "0")
    wait_blocked(c, 1)
    target = cl.followers()[0]
    c.execute_command("RAFT.TRANSFER_LEADER", target.node_id)
    assert str(b.done().error).startswith("MOVED")
    new = cl.wait_leader(not_node=ld)
    n = new.client()
    n.lpush("{q}pending", "job2")
    assert n.execute_command("BLMOVE", "{q}pending", "{q}processing", "RIGHT", "LEFT", "0") == \
        b"job2"
    assert n.lrange("{q}processing", 0, -1) == [b"job2", b"job1"]
    assert n.exists("{q}pending") == 0
    cl.wait_converged()


@cluster_only
def test_blocked_client_of_a_leader_cut_off_gets_clusterdown(make_cluster):
    """A leader that loses its quorum and learns no new leader lets its
    blocked clients go within two election timeouts: -CLUSTERDOWN, never a
    silent hang."""
    cl = make_cluster(3)
    ld = cl.leader()
    c = ld.client()
    b = Blocked(ld.port, "BLPOP", "cut", "0")
    wait_blocked(c, 1)
    others = cl.followers()
    for f in others:
        cl.sigstop(f)
    try:
        err = str(b.done().error)
        assert err.startswith("CLUSTERDOWN"), err
    finally:
        for f in others:
            cl.sigcont(f)
    cl.wait_leader()


@cluster_only
def test_xread_block_in_a_cluster(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    c = ld.client()
    f = cl.followers()[0]
    with pytest.raises(redis.ResponseError, match="MOVED"):
        f.client().execute_command("XREAD", "BLOCK", "0", "STREAMS", "xs", "$")
    b = Blocked(ld.port, "XREAD", "BLOCK", "0", "STREAMS", "xs", "$")
    wait_blocked(c, 1)
    c.xadd("xs", {"f": "v"}, id="1-1")
    assert b.done().result == [[b"xs", [(b"1-1", {b"f": b"v"})]]]
    cl.wait_converged()
    with f.readonly_client() as rc:  # without BLOCK, XREAD is a read
        assert rc.xread({"xs": "0"}) == [[b"xs", [(b"1-1", {b"f": b"v"})]]]
    # leadership moving away answers MOVED to the new leader
    b = Blocked(ld.port, "XREAD", "BLOCK", "0", "STREAMS", "xs", "$")
    wait_blocked(c, 1)
    assert c.execute_command("RAFT.TRANSFER_LEADER", f.node_id) in (b"OK", "OK", True)
    err = str(b.done().error)
    new = cl.wait_leader(not_node=ld)
    assert err.startswith("MOVED") and err.endswith(f":{new.port}"), err



@cluster_only
def test_xreadgroup_block_in_a_cluster(make_cluster):
    """The blocked XREADGROUP is served through the log: the entry it got
    is pending for its consumer on every replica, with the same delivery
    time and count."""
    cl = make_cluster(3)
    ld = cl.leader()
    c = ld.client()
    c.xgroup_create("cg", "g", id="$", mkstream=True)
    f = cl.followers()[0]
    with pytest.raises(redis.ResponseError, match="MOVED"):
        f.client().execute_command("XREADGROUP", "GROUP", "g", "a", "STREAMS", "cg", ">")
    b = Blocked(ld.port, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "cg", ">")
    wait_blocked(c, 1)
    c.xadd("cg", {"f": "v"}, id="1-1")
    assert b.done().result == [[b"cg", [(b"1-1", {b"f": b"v"})]]]
    cl.wait_converged()
    full = {nd.node_id: nd.readonly_client().execute_command("XINFO", "STREAM", "cg", "FULL")
            for nd in cl.nodes}
    assert len({repr(v) for v in full.values()}) == 1, full
    with f.readonly_client() as rc:
        assert rc.xpending("cg", "g")["pending"] == 1
