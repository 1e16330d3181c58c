"""REPLICAOF: a raftcache node or cluster as the replica of a running
redis-server 7.0 (src/server/replof.h): the full sync, the stream, the
partial sync after a lost link, WAIT on the master, -READONLY, REPLICAOF NO
ONE, masterauth, and the leader's kill -9 in the middle of a stream.

Waits: every wait polls a condition with a deadline (wait_until).
"""

import threading

import pytest
import redis

from raftharness import wait_until

DEADLINE_S = 60


def repl(c):
    return c.info("replication")


def caught_up(ours, master):
    """ours has applied every byte of master's stream."""
    r = repl(ours)
    return (r.get("master_link_status") == "up" and r["master_sync_in_progress"] == 0
            and r["slave_repl_offset"] == repl(master)["master_repl_offset"])


def wait_caught_up(ours, master, what="the replica to catch up"):
    wait_until(lambda: caught_up(ours, master), DEADLINE_S, what=what)


def fill(c):
    c.set("s", "text")
    c.set("ttl", "x", px=500000)
    c.rpush("l", *range(300))
    c.sadd("set", "a", "b", 7)
    c.zadd("z", {"a": 1.5, "b": -2})
    c.hset("h", mapping={"f": "v", "g": "w"})
    for i in range(5):
        c.xadd("st", {"f": i})
    c.xgroup_create("st", "g", id="0")
    c.xreadgroup("g", "alice", {"st": ">"}, count=2)
    c.execute_command("SELECT", 3)
    c.set("db3", "three")
    c.execute_command("SELECT", 0)
    c.function_load("#!lua name=lib\nredis.register_function('f', function() return 1 end)")


def digest(c):
    """Every key of every database with its value's DEBUG DIGEST-VALUE (a
    stream as its entries and groups: raftcache's stream digest covers its
    groups beyond Redis's) and whether it has a TTL."""
    out = {}
    for db in range(16):
        c.execute_command("SELECT", db)
        for k in sorted(c.keys("*")):
            if c.type(k) == b"stream":
                v = (c.xrange(k), c.xinfo_groups(k))
            else:
                v = c.execute_command("DEBUG", "DIGEST-VALUE", k)
            out[(db, k)] = (v, c.pttl(k) > 0)
    c.execute_command("SELECT", 0)
    return out


def test_full_sync_stream_partial_sync_and_no_one(start_server, redis_reference):
    srv = start_server({"enable-debug-command": "local"})
    ours = srv.client()
    ref_srv = redis_reference("--enable-debug-command", "local", "--repl-diskless-sync-delay",
                              "0")
    master = ref_srv.client()
    fill(master)
    ours.set("mine", "goes away with the full sync")
    for port in ("x", "70000", "0"):
        with pytest.raises(redis.ResponseError, match="Invalid master port"):
            ours.execute_command("REPLICAOF", "127.0.0.1", port)
    assert ours.execute_command("REPLICAOF", "127.0.0.1", ref_srv.port) == b"OK"
    assert ours.execute_command("REPLICAOF", "127.0.0.1", ref_srv.port) == \
        b"OK Already connected to specified master"
    wait_caught_up(ours, master, "the full sync")
    assert digest(ours) == digest(master)
    assert ours.get("mine") is None
    assert ours.function_list() == master.function_list()
    assert 0 < ours.pttl("ttl") <= 500000
    r = repl(ours)
    assert r["role"] == "slave" and r["master_port"] == ref_srv.port
    assert ours.execute_command("ROLE") == [b"slave", b"127.0.0.1", ref_srv.port, b"connected",
                                            r["slave_repl_offset"]]
    assert r["master_replid"] == repl(master)["master_replid"]
    # a replica is read-only, as Redis's (BLPOP is a write); reads are served
    for cmd in (("SET", "x", 1), ("DEL", "s"), ("EVAL", "return 1", 0), ("BLPOP", "l", 1)):
        with pytest.raises(redis.ReadOnlyError):
            ours.execute_command(*cmd)
    assert ours.get("s") == b"text"
    assert ours.execute_command("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "s") == b"text"
    # the stream: transactions, scripts' effects, other databases, TTLs, deletions
    master.incr("n")
    with master.pipeline(transaction=True) as p:
        p.incr("n").rpush("l", "tail").set("t", 1, ex=100)
        p.execute()
    master.eval("redis.call('incr', 'n'); redis.call('spop', 'set')", 0)
    master.execute_command("SELECT", 5)
    master.set("db5", "five")
    master.execute_command("SELECT", 0)
    master.delete("h")
    master.expire("s", 1000)
    wait_caught_up(ours, master)
    assert digest(ours) == digest(master)
    # WAIT on the master counts the cluster once it has the write on a majority
    master.set("waited", 1)
    assert master.execute_command("WAIT", 1, 5000) == 1
    assert ours.get("waited") == b"1"
    # the link lost: a partial sync from the applied offset
    master.execute_command("CLIENT", "KILL", "TYPE", "replica")
    master.set("after-kill", 1)
    wait_until(lambda: repl(ours)["raftcache_replicaof_partial_syncs"] == 1, DEADLINE_S,
               what="a partial sync")
    wait_caught_up(ours, master)
    assert repl(ours)["raftcache_replicaof_full_syncs"] == 1
    assert digest(ours) == digest(master)
    # REPLICAOF NO ONE: the data stays, writes are accepted
    assert ours.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    assert repl(ours)["role"] == "master"
    assert ours.set("x", 1) and ours.get("after-kill") == b"1"
    master.set("later", 1)
    assert ours.get("later") is None


def test_masterauth_refused_then_accepted(start_server, redis_reference):
    ours = start_server({"masterauth": "wrong"}).client()
    ref_srv = redis_reference("--repl-diskless-sync-delay", "0", password="secret")
    master = ref_srv.client()
    master.set("k", "v")
    ours.execute_command("REPLICAOF", "127.0.0.1", ref_srv.port)
    wait_until(lambda: "AUTH" in repl(ours)["raftcache_replicaof_last_error"], DEADLINE_S,
               what="the refused AUTH in INFO")
    assert repl(ours)["master_link_status"] == "down"
    ours.config_set("masterauth", "secret")
    wait_caught_up(ours, master, "the sync once masterauth is right")
    assert ours.get("k") == b"v"


def test_leader_killed_mid_stream_keeps_every_write_once(make_cluster, redis_reference):
    """A writer INCRs a counter and sets a key per step on the master while
    the cluster replicates it; the cluster's leader is killed with -9 in
    the middle. The next leader goes on from the replicated offset: the
    counter and every key end as on the master (an entry applied twice
    would count an INCR twice)."""
    cl = make_cluster(3, directives={"raft-follower-proxy": "yes",
                                     "enable-debug-command": "local"})
    ref_srv = redis_reference("--enable-debug-command", "local", "--repl-diskless-sync-delay",
                              "0")
    master = ref_srv.client()
    master.mset({f"pre{i}": i for i in range(2000)})
    leader = cl.client(cl.leader())
    assert leader.execute_command("REPLICAOF", "127.0.0.1", ref_srv.port) == b"OK"
    wait_caught_up(leader, master, "the full sync")
    stop = threading.Event()
    acked = []

    def writer():
        c = ref_srv.client()
        i = 0
        while not stop.is_set() and i < 100000:
            c.incr("counter")
            c.set(f"w{i}", i)
            acked.append(i)
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        wait_until(lambda: len(acked) >= 300, DEADLINE_S, what="writes before the kill")
        old = cl.leader()
        old.kill9()
        new = cl.wait_leader(cl.live())
        wait_until(lambda: len(acked) >= 600 + len(acked) // 2 or len(acked) > 3000,
                   DEADLINE_S, what="writes after the kill")
    finally:
        stop.set()
        t.join(timeout=DEADLINE_S)
    newc = cl.client(new)
    wait_caught_up(newc, master, "the new leader to catch up")
    # the cut-over: the writer stopped, the offsets match, then NO ONE
    assert newc.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    assert int(newc.get("counter")) == int(master.get("counter")) == len(acked)
    assert digest(newc) == digest(master)
    assert newc.incr("counter") == len(acked) + 1
    master.set("after-cut-over", 1)
    cl.start(old)
    cl.wait_converged()
    for nd in cl.nodes:
        c = nd.readonly_client()
        assert c.info("replication")["role"] in ("master", "slave")
        assert c.get("after-cut-over") is None and int(c.get("counter")) == len(acked) + 1


class FakeMaster:
    """A master that answers the handshake and then sends what the test
    gives: a hostile or broken one. Each connection gets the next payload
    (the last one again after the list ends)."""

    def __init__(self, payloads):
        import socket
        self.payloads = payloads
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            payload = self.payloads[min(self.conns, len(self.payloads) - 1)]
            self.conns += 1
            with conn:
                conn.settimeout(5)
                buf = b""
                try:
                    while b"PSYNC" not in buf:  # AUTH? REPLCONF x2, then PSYNC
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        if buf.count(b"REPLCONF") < 2 <= (buf + chunk).count(b"REPLCONF"):
                            conn.sendall(b"+OK\r\n+OK\r\n")
                        buf += chunk
                    conn.sendall(payload)
                    conn.recv(4096)  # until the replica closes (or 5 s)
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)
        self.sock.close()


def test_hostile_master_is_refused_and_nothing_is_lost(start_server, redis_reference, tmp_path):
    """A master whose RDB is damaged, whose stream does not parse, or whose
    replies are absurd: the node logs why, keeps serving, retries, and
    applies nothing of it (a damaged RDB is refused before the flush)."""
    ref_srv = redis_reference("--dir", str(tmp_path), "--dbfilename", "m.rdb")
    ref = ref_srv.client()
    ref.set("from-master", 1)
    ref.save()
    rdb = (tmp_path / "m.rdb").read_bytes()
    rid = b"a" * 40
    full = b"+FULLRESYNC " + rid + b" 100\r\n"
    damaged = bytearray(rdb)
    damaged[len(damaged) // 2] ^= 0xFF
    cases = [
        (full + b"$%d\r\n" % len(damaged) + bytes(damaged), "did not load"),
        (full + b"+garbage instead of the RDB\r\n", "not followed by an RDB"),
        (b"-ERR go away\r\n", "refused PSYNC"),
        (b"+" + b"x" * 5000 + b"\r\n", "too long"),
        (full + b"$%d\r\n" % len(rdb) + rdb + b"*1\r\n$zz\r\n", "does not parse"),
    ]
    ours = start_server().client()
    ours.set("mine", 1)
    refuse = b"-ERR go away\r\n"
    for payload, why in cases:
        # the retry a second later is refused: nothing syncs again meanwhile
        fake = FakeMaster([payload, refuse])
        try:
            ours.execute_command("REPLICAOF", "127.0.0.1", fake.port)
            wait_until(lambda: why in repl(ours)["raftcache_replicaof_last_error"], DEADLINE_S,
                       what=f"the error {why!r}")
            wait_until(lambda: fake.conns >= 2 and repl(ours)["master_sync_in_progress"] == 0,
                       DEADLINE_S, what="the retry")
            assert ours.ping()
            if why != "does not parse":
                assert ours.get("mine") == b"1" and ours.get("from-master") is None
            else:  # the RDB loaded; the stream's garbage applied nothing
                assert ours.get("from-master") == b"1" and ours.get("mine") is None
        finally:
            ours.execute_command("REPLICAOF", "NO", "ONE")
            fake.close()
