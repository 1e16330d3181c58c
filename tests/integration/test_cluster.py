"""A replicated cluster as its users see it: one leader, every write on every
node, followers redirecting with -MOVED, cluster-mode clients, leader crash
and pause, restarts, quorum loss, and refused peer impersonation.

Every test uses real raftcache processes on loopback (the `cluster` and
`make_cluster` fixtures of conftest.py, tests/integration/raftcluster.py)
with short election timeouts; every wait polls with a generous deadline and
nothing asserts how long something took. After each passing test the
fixture checks that the live nodes converge to equal digests.
"""

import struct
import threading
import time

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot

from conftest import read_reply_line, resp_command, wait_until
from raftcluster import SECRET, AckWriter, check_acked_present
from test_commands import run_watch_increments

DEADLINE_S = 60  # bound on any one wait for progress; never the thing tested


def info_of(nd):
    info = nd.raft_info()
    assert info is not None, f"{nd} does not answer RAFT.INFO"
    return info


def term_of(nd):
    return int(info_of(nd)["current_term"])


def as_map(digest):
    """The string keys of a digest: key -> (value, has-ttl)."""
    return {k: (v, ttl) for k, typ, v, ttl in digest if typ == b"string"}


def wait_acks(writer, count, what):
    wait_until(lambda: writer.acked_count() >= count, DEADLINE_S,
               what=f"{count} acknowledged writes ({what}); retried so far: {writer.errors}")


def heartbeat_payload(sender, target, term):
    """A well-formed Raft heartbeat (raft/codec.c: version 2, type 7, flags,
    then from, to, term, index, log_term, commit, hint, hint_term, ctx,
    offset as little-endian u64). Taken from a peer, its higher term would
    make the target adopt that term."""
    return bytes([2, 7, 0]) + struct.pack("<10Q", sender, target, term, 0, 0, 0, 0, 0, 0, 0)


# --------------------------------------------------------------------- election
def test_election_one_leader_the_others_follow_it(cluster):
    ld = cluster.leader()
    infos = {nd.node_id: info_of(nd) for nd in cluster.nodes}
    terms = {info["current_term"] for info in infos.values()}
    assert len(terms) == 1, infos
    for nid, info in infos.items():
        assert info["state"] == "up", info
        assert info["leader_id"] == str(ld.node_id), info
        assert info["leader_addr"] == ld.addr, info
        assert info["num_nodes"] == "3" and info["num_voting_nodes"] == "3", info
        assert info["role"] == ("leader" if nid == ld.node_id else "follower"), info
    # The cluster view names the leader as the master of all slots, everywhere.
    for nd in cluster.nodes:
        slots = nd.client().execute_command("CLUSTER", "SLOTS")
        assert len(slots) == 1, slots
        start, end, master = slots[0][0], slots[0][1], slots[0][2]
        assert (start, end) == (0, 16383), slots
        assert int(master[1]) == ld.port, f"{nd} names {master} as master, leader is {ld}"
        assert sorted(int(r[1]) for r in slots[0][2:]) == sorted(n.port for n in cluster.nodes)


# ------------------------------------------------------------------ replication
def test_every_write_command_family_replicates(cluster):
    """Each write family run on the leader: every node ends with the same
    keyspace (digest), and it is the keyspace the replies promised."""
    ld = cluster.leader()
    r = ld.client()
    now = int(time.time())
    # SET and its options
    assert r.set("s:plain", "v1") is True
    assert r.set("s:ex", "v", ex=1000) is True
    assert r.set("s:px", "v", px=1_000_000) is True
    assert r.set("s:exat", "v", exat=now + 1000) is True
    assert r.set("s:pxat", "v", pxat=(now + 1000) * 1000) is True
    assert r.set("s:nx", "first", nx=True) is True
    assert r.set("s:nx", "second", nx=True) is None
    assert r.set("s:xx", "v", xx=True) is None
    assert r.set("s:plain", "v2", xx=True) is True
    assert r.set("s:ex", "kept", keepttl=True) is True
    assert r.set("s:plain", "v3", get=True) == b"v2"
    assert r.set("s:gone", "v", px=100) is True  # expires during the test
    # SETNX / SETEX / PSETEX
    assert r.setnx("n:nx", "a") is True
    assert r.setnx("n:nx", "b") is False
    assert r.setex("n:ex", 1000, "a") is True
    assert r.psetex("n:px", 1_000_000, "a") is True
    # MSET / MSETNX
    assert r.mset({"m:1": "1", "m:2": "2"}) is True
    assert r.msetnx({"m:3": "3", "m:4": "4"}) is True
    assert r.msetnx({"m:4": "x", "m:5": "5"}) is False
    # counters
    assert r.incr("c:i") == 1
    assert r.incrby("c:i", 41) == 42
    assert r.decr("c:d") == -1
    assert r.decrby("c:d", 9) == -10
    assert r.incrbyfloat("c:f", 1.5) == 1.5
    assert r.incrbyfloat("c:f", "0.1") == pytest.approx(1.6)
    # APPEND / SETRANGE
    assert r.append("a:1", "hello") == 5
    assert r.append("a:1", " world") == 11
    assert r.setrange("a:1", 6, "WORLD") == 11
    assert r.setrange("a:pad", 3, "x") == 4
    # GETSET / GETDEL / GETEX
    assert r.getset("g:set", "new") is None
    assert r.getset("g:set", "newer") == b"new"
    assert r.set("g:del", "x") and r.getdel("g:del") == b"x"
    assert r.set("g:ex", "x") and r.getex("g:ex", ex=1000) == b"x"
    assert r.set("g:persist", "x", ex=1000) and r.getex("g:persist", persist=True) == b"x"
    # DEL / UNLINK
    assert r.mset({"d:1": "x", "d:2": "x", "d:3": "x"})
    assert r.delete("d:1", "d:2", "d:none") == 2
    assert r.unlink("d:3") == 1
    # RENAME / RENAMENX (the TTL travels with the key)
    assert r.set("r:src", "moved", ex=1000) and r.rename("r:src", "r:dst") is True
    assert r.mset({"r:a": "a", "r:b": "b"})
    assert r.renamenx("r:a", "r:b") is False
    assert r.renamenx("r:a", "r:c") is True
    # COPY
    assert r.copy("r:dst", "cp:1") is True
    assert r.copy("r:b", "cp:1") is False
    assert r.copy("r:b", "cp:2", replace=True) is True
    # EXPIRE family
    assert r.mset({f"e:{i}": "x" for i in range(1, 8)})
    assert r.expire("e:1", 1000) is True
    assert r.pexpire("e:2", 1_000_000) is True
    assert r.expireat("e:3", now + 1000) is True
    assert r.pexpireat("e:4", (now + 1000) * 1000) is True
    assert r.expire("e:5", 1000) and r.persist("e:5") is True
    assert r.expire("e:6", 2000, gt=True) is False  # no TTL: GT never applies
    assert r.expire("e:7", -1) is True               # a past TTL deletes the key
    # MULTI / EXEC
    pipe = r.pipeline(transaction=True)
    pipe.set("t:1", "a").incr("t:n").append("t:1", "b").expire("t:1", 1000).delete("m:1")
    assert pipe.execute() == [True, 1, 2, True, 1]

    want = {
        b"s:plain": (b"v3", False), b"s:ex": (b"kept", True), b"s:px": (b"v", True),
        b"s:exat": (b"v", True), b"s:pxat": (b"v", True), b"s:nx": (b"first", False),
        b"n:nx": (b"a", False), b"n:ex": (b"a", True), b"n:px": (b"a", True),
        b"m:2": (b"2", False), b"m:3": (b"3", False), b"m:4": (b"4", False),
        b"c:i": (b"42", False), b"c:d": (b"-10", False), b"c:f": (b"1.6", False),
        b"a:1": (b"hello WORLD", False), b"a:pad": (b"\0\0\0x", False),
        b"g:set": (b"newer", False), b"g:ex": (b"x", True), b"g:persist": (b"x", False),
        b"r:dst": (b"moved", True), b"r:b": (b"b", False), b"r:c": (b"a", False),
        b"cp:1": (b"moved", True), b"cp:2": (b"b", False),
        b"e:1": (b"x", True), b"e:2": (b"x", True), b"e:3": (b"x", True), b"e:4": (b"x", True),
        b"e:5": (b"x", False), b"e:6": (b"x", False),
        b"t:1": (b"ab", True), b"t:n": (b"1", False),
    }
    wait_until(lambda: r.exists("s:gone") == 0, DEADLINE_S, what="s:gone to expire")
    digest = cluster.wait_converged(cluster.nodes)
    assert as_map(digest) == want

    # FLUSHALL empties every node; writes after it replicate as usual.
    assert r.flushall() is True
    assert r.set("after:flush", "1") is True
    digest = cluster.wait_converged(cluster.nodes)
    assert digest == [(b"after:flush", b"string", b"1", False)]


# --------------------------------------------------------------------- redirects
def test_concurrent_watch_increments_on_the_leader_lose_no_update(cluster):
    """WATCH-based increments from several connections to the leader: every
    EXEC that succeeds counts, on every node (writes ahead of an EXEC in the
    log but not applied when it is checked fail it)."""
    leader = cluster.leader()
    wins, value = run_watch_increments(leader.client, "w:cluster-counter")
    assert wins == value == 6 * 150
    cluster.wait_converged()


def test_follower_answers_moved_and_cluster_clients_follow_it(cluster):
    ld = cluster.leader()
    f = cluster.followers()[0]
    fc = f.client()
    for cmd in (("SET", "foo", "bar"), ("GET", "foo"), ("INCR", "counter")):
        with pytest.raises(redis.ResponseError) as e:
            fc.execute_command(*cmd)
        assert str(e.value) == f"MOVED {key_slot(cmd[1].encode())} {ld.addr}", cmd
    # redis-cli -c follows the redirect, for writes and reads.
    assert f.cli("-c", "set", "foo", "bar") == "OK"
    assert f.cli("-c", "get", "foo") == "bar"
    assert ld.client().get("foo") == b"bar"
    # A READONLY connection reads the follower's own copy.
    wait_until(lambda: f.readonly_client().get("foo") == b"bar", DEADLINE_S,
               what="foo to reach the follower")


def test_redis_py_cluster_client_through_a_follower(cluster):
    ld = cluster.leader()
    f = cluster.followers()[0]
    rc = RedisCluster(host="127.0.0.1", port=f.port, socket_timeout=30)
    try:
        for i in range(200):
            assert rc.set(f"rc:{i}", f"value-{i}") is True
        for i in range(200):
            assert rc.get(f"rc:{i}") == f"value-{i}".encode()
    finally:
        rc.close()
    r = ld.client()
    assert [r.get(f"rc:{i}") for i in range(200)] == [f"value-{i}".encode() for i in range(200)]


# ------------------------------------------------------------------------ faults
def test_kill9_of_the_leader_elects_another_and_keeps_acknowledged_writes(cluster):
    old = cluster.leader()
    old_term = term_of(old)
    w = AckWriter(cluster, "k9")
    w.start()
    try:
        wait_acks(w, 200, "before the kill")
        cluster.kill9(old)
        at_kill = w.acked_count()
        new = cluster.wait_leader(not_node=old)
        assert term_of(new) > old_term
        wait_acks(w, at_kill + 200, "after the kill")
    finally:
        w.stop()
    for nd in cluster.live():
        check_acked_present(nd, w.acked)
    cluster.wait_converged()
    # The old leader comes back as a follower and catches up.
    cluster.start(old)
    cluster.wait_converged(cluster.nodes)
    assert info_of(old)["role"] == "follower"
    check_acked_present(old, w.acked)


def test_sigstop_of_the_leader_elects_another_and_sigcont_makes_it_step_down(cluster):
    old = cluster.leader()
    r_old = old.client()
    assert r_old.set("sp:lin", "before") is True
    others = [nd for nd in cluster.nodes if nd is not old]
    wait_until(lambda: all(nd.readonly_client().get("sp:lin") == b"before" for nd in others),
               DEADLINE_S, what="sp:lin on the followers")

    cluster.sigstop(old)
    # Clients of the paused leader send a write and a read; the process
    # reads them only when it resumes.
    s_write, s_read = old.sock(timeout_s=DEADLINE_S), old.sock(timeout_s=DEADLINE_S)
    try:
        s_write.sendall(resp_command("SET", "sp:paused", "x"))
        s_read.sendall(resp_command("GET", "sp:lin"))

        new = cluster.wait_leader(nodes=others)
        rn = new.client()
        assert rn.set("sp:lin", "after") is True
        for i in range(100):
            assert rn.set(f"sp:{i}", i) is True

        cluster.sigcont(old)
        write_reply = read_reply_line(s_write)
        read_reply = read_reply_line(s_read)
        if read_reply.startswith(b"$"):
            read_reply += read_reply_line(s_read)
    finally:
        s_write.close()
        s_read.close()
    # The resumed leader must not serve the value the new leader overwrote,
    # nor acknowledge a write it cannot commit in its old term. b"": it
    # closed the connection of a client it served while leading, as it
    # stepped down (stepdown-close-clients), without running the command.
    assert read_reply in (b"$5\r\nafter\r\n", b"") or read_reply.startswith(
        (b"-MOVED", b"-TIMEOUT", b"-CLUSTERDOWN")), f"GET on the resumed old leader: {read_reply!r}"
    assert write_reply in (b"+OK\r\n", b"") or write_reply.startswith(
        (b"-MOVED", b"-TIMEOUT", b"-CLUSTERDOWN")), f"SET on the resumed old leader: {write_reply!r}"

    wait_until(lambda: (info_of(old)["role"] == "follower"
                        and info_of(old)["leader_id"] == str(new.node_id)), DEADLINE_S,
               what=f"{old} to step down and follow {new}")
    digest = as_map(cluster.wait_converged(cluster.nodes))
    assert digest[b"sp:lin"] == (b"after", False)
    assert all(digest[f"sp:{i}".encode()] == (str(i).encode(), False) for i in range(100))
    if write_reply == b"+OK\r\n":
        assert digest.get(b"sp:paused") == (b"x", False), "acknowledged SET is missing"


def test_read_that_times_out_is_answered_once(make_cluster):
    """A GET on a leader that has lost its followers waits for a ReadIndex
    round that cannot be confirmed and is answered -TIMEOUT (or, once the
    leader steps down, an error of that kind): once. The command is not run
    a second time behind that error, so the PING pipelined after it gets
    the next reply (a read used to be taken up again after its error, and
    the connection's replies slipped by one)."""
    cl = make_cluster(3, {"raft-request-timeout-ms": "300"})
    ld = cl.leader()
    assert ld.client().set("to:k", "v") is True
    for nd in cl.nodes:
        if nd is not ld:
            cl.sigstop(nd)
    s = ld.sock(timeout_s=DEADLINE_S)
    try:
        s.sendall(resp_command("GET", "to:k") + resp_command("PING"))
        first = read_reply_line(s)
        second = read_reply_line(s)
    finally:
        s.close()
    assert first.startswith((b"-TIMEOUT", b"-CLUSTERDOWN", b"-MOVED")), first
    assert second == b"+PONG\r\n", f"the reply after the GET's error: {second!r}"


def test_restarted_follower_catches_up(cluster):
    ld = cluster.leader()
    f = cluster.followers()[0]
    r = ld.client()
    pipe = r.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"fr:{i}", f"a{i}")
    assert all(pipe.execute())
    cluster.wait_converged(cluster.nodes)

    cluster.kill9(f)
    pipe = r.pipeline(transaction=False)
    for i in range(300, 800):
        pipe.set(f"fr:{i}", f"b{i}", ex=1000 if i % 2 else None)
    for i in range(0, 100):
        pipe.delete(f"fr:{i}")
    for i in range(100, 200):
        pipe.append(f"fr:{i}", "+")
    assert all(pipe.execute())

    cluster.start(f)
    digest = as_map(cluster.wait_converged(cluster.nodes))
    assert len(digest) == 700
    assert digest[b"fr:150"] == (b"a150+", False)
    assert digest[b"fr:301"] == (b"b301", True)
    assert b"fr:5" not in digest



def test_sigterm_on_the_leader_hands_the_leadership_over(cluster):
    """A rolling restart's SIGTERM: the leader transfers its leadership to an
    up-to-date follower, then exits 0; SHUTDOWN NOW skips that; SHUTDOWN
    ABORT answers as Redis when nothing is in progress."""
    ld = cluster.leader()
    with ld.client() as c:
        c.set("before-handover", "1")
        with pytest.raises(redis.ResponseError, match="No shutdown in progress"):
            c.execute_command("SHUTDOWN", "ABORT")
    cluster.stop(ld)
    log = ld.log_tail()
    assert "Handing the leadership over before shutting down" in log, log
    assert "Leadership handed over: shutting down" in log, log
    rest = [nd for nd in cluster.nodes if nd is not ld]
    new = cluster.wait_leader(rest)
    with new.client() as c:
        assert c.get("before-handover") == b"1"
    cluster.start(ld)
    cluster.wait_converged(cluster.nodes)
    new = cluster.leader()
    new.expect_exit = True
    with new.client() as c:
        try:
            c.execute_command("SHUTDOWN", "NOW")
        except redis.ConnectionError:
            pass  # the node closes the connection as it exits
    assert new.proc.wait(timeout=30) == 0
    assert "Handing the leadership over" not in new.log_tail()

def test_sigterm_on_a_leader_alone_exits_without_waiting_for_a_handover(make_cluster):
    """A leader whose followers are all stopped has nobody to hand over to:
    it says so and stops at once instead of waiting out its bound (two
    election timeouts, long here)."""
    cl = make_cluster(3, {"raft-election-timeout-ms": 6000})
    ld = cl.leader()
    rest = [nd for nd in cl.nodes if nd is not ld]
    for nd in rest:
        cl.stop(nd)
    for nd in rest:
        wait_until(lambda: f"Peer {nd.node_id} disconnected" in ld.log_tail(), 30,
                   what=f"the leader to see peer {nd.node_id} go")
    assert info_of(ld)["role"] == "leader"
    cl.stop(ld, timeout_s=30)
    log = ld.log_tail()
    assert ("Shutting down without handing the leadership over: "
            "no other voting node is connected") in log, log


def test_kill9_of_every_node_keeps_every_acknowledged_write(cluster):
    writers = [AckWriter(cluster, f"all{i}") for i in range(3)]
    for w in writers:
        w.start()
    try:
        for w in writers:
            wait_acks(w, 150, "before the crash")
        # The crash hits while the writers are busy.
        for nd in cluster.nodes:
            cluster.kill9(nd)
    finally:
        for w in writers:
            w.stop()
    acked = {}
    for w in writers:
        acked.update(w.acked)
    for nd in cluster.nodes:
        cluster.start(nd)
    cluster.wait_leader()
    cluster.wait_converged(cluster.nodes)
    for nd in cluster.nodes:
        check_acked_present(nd, acked)


def refused(nd, steps):
    """Sends the commands on one connection to nd; True when every reply is
    an error or the server hung up, else what answered."""
    with nd.sock(timeout_s=10) as s:
        for step in steps:
            try:
                s.sendall(resp_command(*step))
                reply = read_reply_line(s)
            except (ConnectionResetError, BrokenPipeError):
                reply = b""
            if reply and not reply.startswith(b"-"):
                return f"{step[0]} answered {reply!r}"
    return True


def test_peer_commands_without_the_secret_are_refused(cluster):
    ld = cluster.leader()
    target = cluster.followers()[0]
    impostor = next(nd for nd in cluster.nodes if nd is not target).node_id
    term = term_of(target)
    evil = heartbeat_payload(impostor, target.node_id, term + 1000)

    assert refused(target, [("RAFT.MSG", impostor, evil)]) is True
    assert refused(target, [("RAFT.AUTH", "wrong-" + SECRET, impostor),
                            ("RAFT.MSG", impostor, evil)]) is True
    assert refused(target, [("RAFT.AUTH", "", impostor), ("RAFT.MSG", impostor, evil)]) is True
    # None of that moved the target's term, and the cluster still works.
    assert term_of(target) == term
    assert cluster.leader() is ld
    assert ld.client().set("after:refused", "1") is True

    # Control: the same message from a connection holding the secret does
    # take effect (the term jumps), so the refusals above were meaningful.
    with target.sock(timeout_s=10) as s:
        s.sendall(resp_command("RAFT.AUTH", SECRET, impostor))
        s.sendall(resp_command("RAFT.MSG", impostor, evil))
        assert read_reply_line(s) == b"+OK\r\n"
        assert read_reply_line(s) == b"+OK\r\n"
    wait_until(lambda: term_of(target) >= term + 1000, DEADLINE_S,
               what="the authenticated heartbeat to raise the term")
    new = cluster.wait_leader()
    assert new.client().set("after:control", "1") is True


def test_a_peer_connection_cannot_speak_for_another_node(cluster):
    """transport.h: RAFT.MSG whose <from-node-id> differs from the id given
    to RAFT.AUTH gets an error reply and has no effect at all."""
    ld = cluster.leader()
    target = cluster.followers()[0]
    authed, other = [nd.node_id for nd in cluster.nodes if nd is not target]
    term = term_of(target)
    forged = heartbeat_payload(other, target.node_id, term + 1000)
    with target.sock(timeout_s=10) as s:
        s.sendall(resp_command("RAFT.AUTH", SECRET, authed))
        assert read_reply_line(s) == b"+OK\r\n"
        s.sendall(resp_command("RAFT.MSG", other, forged))
        reply = read_reply_line(s)
    assert reply.startswith(b"-"), f"RAFT.MSG from {other} on a connection authenticated " \
        f"as {authed} answered {reply!r}"
    assert term_of(target) == term
    assert cluster.leader() is ld
    assert ld.client().set("after:forged", "1") is True


def test_five_nodes_lose_a_majority_then_recover(make_cluster):
    cl = make_cluster(5, {"raft-request-timeout-ms": 2000})
    ld = cl.leader()
    r = ld.client(socket_timeout=30)
    assert r.set("q:before", "1") is True
    followers = [nd for nd in cl.nodes if nd is not ld]

    # Two of five down: the other three are a majority.
    for nd in followers[:2]:
        cl.kill9(nd)
    for i in range(50):
        assert r.set(f"q:two-down:{i}", i) is True
    assert cl.wait_leader() is ld

    # A third down: two of five can acknowledge nothing.
    cl.kill9(followers[2])
    survivor = followers[3]
    wait_until(lambda: survivor.readonly_client().get("q:two-down:49") == b"49", DEADLINE_S,
               what="the last write to reach the surviving follower")
    outcomes = []
    for i in range(3):
        try:
            outcomes.append(r.set(f"q:no-quorum:{i}", i))
        except redis.ResponseError as e:
            outcomes.append(str(e))
        except redis.ConnectionError:
            # The leader stepped down (CheckQuorum) and closed the
            # connection of its client (stepdown-close-clients).
            outcomes.append("CLOSED")
    assert all(isinstance(o, str) and o.startswith(("TIMEOUT", "CLUSTERDOWN", "CLOSED"))
               for o in outcomes), f"writes without a majority answered {outcomes}"
    # A linearizable read cannot be confirmed either ...
    try:
        got = r.get("q:before")
    except redis.ResponseError as e:
        got = str(e)
    assert isinstance(got, str) and got.startswith(("TIMEOUT", "CLUSTERDOWN", "MOVED")), \
        f"GET on the leader without a quorum answered {got!r}"
    # ... but READONLY reads on a follower still answer from its copy.
    ro = survivor.readonly_client()
    assert ro.get("q:before") == b"1"
    assert ro.get("q:two-down:7") == b"7"

    for nd in followers[:3]:
        cl.start(nd)
    digest = as_map(cl.wait_converged(cl.nodes))
    assert digest[b"q:before"] == (b"1", False)
    assert all(digest[f"q:two-down:{i}".encode()] == (str(i).encode(), False) for i in range(50))
    # Writes work again.
    new = cl.leader()
    assert new.client().set("q:after", "1") is True



class ClusterWriter(threading.Thread):
    """SETs one after the other through redis-py's cluster client (seeded
    with every node), as an application would: every exception the library
    lets through is an error the application sees."""

    def __init__(self, cl, prefix):
        super().__init__(daemon=True)
        self.rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", nd.port) for nd in cl.nodes],
                               socket_timeout=10)
        self.prefix, self.acked, self.errors = prefix, {}, []
        self.halt = threading.Event()

    def run(self):
        i = 0
        while not self.halt.is_set():
            key, value = f"{self.prefix}:{i}", f"v{i}".encode()
            try:
                if self.rc.set(key, value) is True:
                    self.acked[key] = value
            except Exception as e:  # noqa: BLE001 - what the application would see
                self.errors.append(repr(e))
            i += 1

    def stop(self):
        self.halt.set()
        self.join(DEADLINE_S)
        self.rc.close()


def test_rolling_restart_under_a_writer_sees_no_write_error(make_cluster):
    """Every node stopped (SIGTERM: a leader hands its leadership over
    first, and the writes it gets meanwhile wait for the outcome, then go
    -MOVED to the new leader) and started again in turn, under two writers
    that never pause: an application on redis-py's cluster client sees no
    error, and a plain client that follows MOVED gets no error reply
    (TRYAGAIN, CLUSTERDOWN, TIMEOUT), only the closed connection of a node
    that stops. Every acknowledged write is there after."""
    cl = make_cluster(3)
    app, plain = ClusterWriter(cl, "roll"), AckWriter(cl, "plain")
    app.start()
    plain.start()
    try:
        wait_until(lambda: len(app.acked) >= 50, DEADLINE_S, what="writes before the restarts")
        for nd in list(cl.nodes):
            was_leader = cl.leader() is nd
            before = len(app.acked)
            cl.stop(nd)
            if was_leader:
                assert "Leadership handed over: shutting down" in nd.log_tail()
            cl.start(nd)
            # caught up: it applied what the leader had committed once it was back
            commit = int(cl.wait_leader().raft_info()["commit_index"])
            wait_until(lambda: int((nd.raft_info() or {}).get("last_applied_index", 0)) >= commit,
                       DEADLINE_S, what=f"{nd} to catch up")
            wait_until(lambda: len(app.acked) >= before + 50, DEADLINE_S,
                       what=f"writes after restarting {nd} (errors so far: {app.errors[:3]})")
    finally:
        app.stop()
        plain.stop()
    assert app.errors == [], f"the application saw {len(app.errors)} errors: {app.errors[:5]}"
    replies = {k: n for k, n in plain.errors.items() if k not in ("MOVED", "ConnectionError")}
    assert replies == {}, f"error replies during the restarts: {replies}"
    check_acked_present(cl.leader(), app.acked)
    check_acked_present(cl.leader(), plain.acked)
