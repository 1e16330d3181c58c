"""raft-follower-proxy: a plain (non-cluster) client connected to a follower
gets the leader's replies, in request order, instead of -MOVED.

Every wait polls with a deadline (conftest.wait_until); nothing asserts on
how long something took.
"""

import threading

import redis

from conftest import wait_until

PROXY = {"raft-follower-proxy": "yes"}
RETRY = ("TIMEOUT", "CLUSTERDOWN", "TRYAGAIN")


def plain(nd, **kw):
    """A client that cannot follow MOVED."""
    kw.setdefault("socket_timeout", 30)
    return nd.client(**kw)


def test_follower_forwards_commands(make_cluster):
    cl = make_cluster(3, PROXY)
    ld = cl.leader()
    fol = cl.followers()[0]
    with plain(fol) as c, ld.client() as lc:
        assert c.set("k", "v1") is True
        assert c.get("k") == b"v1"
        assert lc.get("k") == b"v1"
        assert c.incr("n") == 1
        assert c.incrby("n", 41) == 42
        assert c.delete("k", "n", "absent") == 2
        assert c.get("k") is None
        assert c.exists("k") == 0
        # Binary-safe both ways, CR LF and NUL included.
        binary = bytes(range(256)) * 3 + b"\r\n$-1\r\n*3\r\n\x00"
        assert c.set(b"bin\r\n\x00key", binary) is True
        assert c.get(b"bin\r\n\x00key") == binary
        big = bytes((i * 7 + (i >> 10)) & 0xFF for i in range(1 << 20))
        assert c.set("big", big) is True
        assert c.get("big") == big
        assert c.strlen("big") == 1 << 20
        assert c.mget("big", "nokey", b"bin\r\n\x00key") == [big, None, binary]
        # The leader's errors are relayed exactly.
        c.set("s", "not a number")
        try:
            c.incr("s")
            raise AssertionError("INCR on a string succeeded")
        except redis.ResponseError as e:
            assert str(e) == "value is not an integer or out of range"
        # Commands that neither read nor write are answered locally.
        assert c.ping() is True
        assert c.execute_command("CLUSTER", "MYID") is not None


def test_pipeline_keeps_order(make_cluster):
    cl = make_cluster(3, PROXY)
    fol = cl.followers()[0]
    with plain(fol) as c:
        pipe = c.pipeline(transaction=False)
        expect = []
        for i in range(1000):
            kind = i % 7
            key = f"p:{i % 50}"
            if kind == 0:
                pipe.set(key, f"v{i}")
                expect.append(True)
            elif kind == 1:
                pipe.incr(f"ctr:{i % 3}")
                expect.append(("incr", i % 3))
            elif kind == 2:
                pipe.get(key)
                expect.append(("get", key))
            elif kind == 3:
                pipe.echo(f"e{i}")  # local: must not overtake the forwarded ones
                expect.append(f"e{i}".encode())
            elif kind == 4:
                pipe.append(key, "+")
                expect.append(("append", key))
            elif kind == 5:
                pipe.ping()
                expect.append(True)
            else:
                pipe.delete(key)
                expect.append(("del", key))
        replies = pipe.execute(raise_on_error=False)
    assert len(replies) == 1000
    # Replay the pipeline on a model: every reply at its own position.
    model, ctrs = {}, {0: 0, 1: 0, 2: 0}
    for i, (want, got) in enumerate(zip(expect, replies)):
        if isinstance(want, tuple):
            op, arg = want
            if op == "incr":
                ctrs[arg] += 1
                want = ctrs[arg]
            elif op == "get":
                want = model.get(arg)
            elif op == "append":
                model[arg] = (model.get(arg) or b"") + b"+"
                want = len(model[arg])
            elif op == "del":
                want = 1 if model.pop(arg, None) is not None else 0
        elif i % 7 == 0:
            model[f"p:{i % 50}"] = f"v{i}".encode()
        assert got == want, f"reply {i}: {got!r}, expected {want!r}"
    cl.wait_converged()


def test_readonly_client_reads_locally(make_cluster):
    cl = make_cluster(3, PROXY)
    fol = cl.followers()[0]
    with plain(fol) as c:
        assert c.set("ro", "1") is True
    with fol.readonly_client() as r:
        wait_until(lambda: r.get("ro") == b"1", 30, what="the follower to apply ro")
        # A READONLY client's writes are still forwarded.
        assert r.set("ro", "2") is True


def blocked_blpop(c, lc):
    """BLPOP q 0 on c in a thread, once the leader (lc) shows it blocked:
    the thread and the list its reply or error goes to."""
    out = []

    def blpop():
        try:
            out.append(c.blpop("q", timeout=0))
        except redis.ResponseError as e:
            out.append(e)
    t = threading.Thread(target=blpop)
    t.start()
    wait_until(lambda: lc.info("clients")["blocked_clients"] == 1, 30,
               what="the BLPOP blocked on the leader")
    return t, out


def test_transactions_run_on_the_leader(make_cluster):
    cl = make_cluster(3, PROXY)
    fol = cl.followers()[0]
    with plain(fol) as c, cl.leader().client() as lc:
        pipe = c.pipeline(transaction=True)
        pipe.set("tx", "1").incr("tx").get("tx").lpush("tx", "x")
        out = pipe.execute(raise_on_error=False)
        assert out[:3] == [True, 2, b"2"]
        assert isinstance(out[3], redis.ResponseError) and "WRONGTYPE" in str(out[3])
        assert lc.get("tx") == b"2"
        # SELECT inside the transaction moves the client, as on the leader
        pipe = c.pipeline(transaction=True)
        pipe.execute_command("SELECT", 5).set("in5", "v")
        assert pipe.execute() == [True, True]
        assert c.get("in5") == b"v"
        assert lc.get("in5") is None


def test_watch_sees_writes_from_any_node(make_cluster):
    cl = make_cluster(3, PROXY)
    fol, other = cl.followers()
    with plain(fol) as c, plain(other) as w:
        c.set("w", "0")
        pipe = c.pipeline()
        pipe.watch("w")
        assert pipe.get("w") == b"0"
        w.set("w", "changed")  # through the other follower
        pipe.multi()
        pipe.set("w", "mine")
        try:
            pipe.execute()
            raise AssertionError("EXEC ran though a watched key changed")
        except redis.WatchError:
            pass
        assert c.get("w") == b"changed"

        def incr(p):  # redis-py's retrying transaction
            v = int(p.get("n") or 0)
            p.multi()
            p.set("n", v + 1)
        for _ in range(5):
            c.transaction(incr, "n")
        assert c.get("n") == b"5"
        pipe = c.pipeline()
        pipe.watch("w")
        pipe.unwatch()
        w.set("w", "again")
        pipe.multi()
        pipe.set("w", "ok")
        assert pipe.execute() == [True]


def test_blocking_commands_wait_on_the_leader(make_cluster):
    cl = make_cluster(3, PROXY)
    fol, other = cl.followers()
    with plain(fol) as c, plain(other) as w, cl.leader().client() as lc:
        assert c.blpop("empty", timeout=0.2) is None  # the timeout, from the leader
        got = []
        t = threading.Thread(target=lambda: got.append(c.blpop("q", timeout=0)))
        t.start()
        wait_until(lambda: lc.info("clients")["blocked_clients"] == 1, 30,
                   what="the BLPOP blocked on the leader")
        assert w.rpush("q", "job") == 1
        t.join(30)
        assert got == [(b"q", b"job")]
        t = threading.Thread(target=lambda: got.append(c.xread({"s": "$"}, block=0)))
        t.start()
        wait_until(lambda: lc.info("clients")["blocked_clients"] == 1, 30,
                   what="the XREAD BLOCK blocked on the leader")
        w.xadd("s", {"f": "v"}, id="1-1")
        t.join(30)
        assert got[1] == [[b"s", [(b"1-1", {b"f": b"v"})]]]


def test_blocked_client_hears_of_a_dead_leader(make_cluster):
    cl = make_cluster(3, dict(PROXY, **{"raft-request-timeout-ms": 1000}))
    ld = cl.leader()
    fol = cl.followers()[0]
    with plain(fol) as c, ld.client() as lc:
        t, errors = blocked_blpop(c, lc)
        cl.kill9(ld)
        t.join(60)  # bounds a hang: socket_timeout would end it with another error
        assert len(errors) == 1 and isinstance(errors[0], redis.ResponseError), errors
        assert str(errors[0]).startswith(RETRY), errors
        nl = cl.wait_leader(timeout_s=30)
        with nl.client() as nc:
            nc.rpush("q", "after")

        def served():
            try:
                return c.blpop("q", timeout=1) == (b"q", b"after")
            except redis.ResponseError as e:
                assert str(e).startswith(RETRY), str(e)
                return False
        wait_until(served, 30, what="a BLPOP served by the new leader")


def test_leader_killed(make_cluster):
    cl = make_cluster(3, dict(PROXY, **{"raft-request-timeout-ms": 1000}))
    ld = cl.leader()
    fol = cl.followers()[0]
    with plain(fol) as c:
        assert c.set("before", "1") is True
        cl.kill9(ld)
        # The follower still names the dead leader (no election can finish
        # within an election timeout): the forward fails, it is not MOVED.
        try:
            c.set("during", "1")
            assert cl.wait_leader(timeout_s=1) is not ld
        except redis.ResponseError as e:
            assert str(e).startswith(RETRY), str(e)
        except AssertionError:
            raise AssertionError("SET acknowledged with no leader")

        def works():
            try:
                return c.set("after", "1") is True
            except redis.ResponseError as e:
                assert str(e).startswith(RETRY), str(e)
                return False
        wait_until(works, 30, what="the follower's client to work with the new leader")
        assert c.get("after") == b"1"
        assert c.get("before") == b"1"
    cl.wait_converged()


def test_pipeline_across_leader_loss(make_cluster):
    """Commands in flight when the leader dies: every one gets a reply, in
    order, each OK or a retryable error; the connection stays usable."""
    cl = make_cluster(3, dict(PROXY, **{"raft-request-timeout-ms": 1000}))
    ld = cl.leader()
    fol = cl.followers()[0]
    with plain(fol) as c:
        pipe = c.pipeline(transaction=False)
        for i in range(2000):
            pipe.set(f"x:{i}", "v" * 1000)
        conn = c.connection_pool.get_connection("SET")
        try:
            conn.send_packed_command(conn.pack_commands([a for a, _ in pipe.command_stack]))
            cl.kill9(ld)
            replies = []
            for _ in range(2000):
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as e:
                    replies.append(e)
        finally:
            c.connection_pool.release(conn)
        assert len(replies) == 2000
        for r in replies:
            assert r in (b"OK", "OK") or str(r).startswith(RETRY), r
        wait_until(lambda: _set_ok(c), 30, what="the client to work again")


def _set_ok(c):
    try:
        return c.set("again", "1") is True
    except redis.ResponseError as e:
        assert str(e).startswith(RETRY), str(e)
        return False


def test_off_replies_moved_and_config_set(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    fol = cl.followers()[0]
    with plain(fol) as c:
        try:
            c.set("k", "v")
            raise AssertionError("SET on a follower without the proxy succeeded")
        except redis.ResponseError as e:
            assert str(e) == f"MOVED 7629 {ld.addr}", str(e)
        assert c.config_get("raft-follower-proxy") == {"raft-follower-proxy": "no"}
        assert c.config_set("raft-follower-proxy", "yes") is True
        assert c.set("k", "v") is True
        assert c.get("k") == b"v"
        assert c.config_set("raft-follower-proxy", "no") is True
        try:
            c.get("k")
            raise AssertionError("GET on a follower without the proxy succeeded")
        except redis.ResponseError as e:
            assert str(e).startswith("MOVED "), str(e)


def test_proxy_authenticates(make_cluster):
    cl = make_cluster(3, dict(PROXY, requirepass="pw-proxy"))
    fol = cl.followers()[0]
    with plain(fol) as c:
        assert c.set("auth", "1") is True
        assert c.get("auth") == b"1"
    with redis.Redis(host="127.0.0.1", port=fol.port, socket_timeout=10) as anon:
        try:
            anon.set("auth", "2")
            raise AssertionError("unauthenticated SET succeeded")
        except redis.AuthenticationError:
            pass
        except redis.ResponseError as e:
            assert str(e).startswith("NOAUTH"), str(e)


def test_blocked_client_through_a_leadership_transfer_loses_nothing(make_cluster):
    cl = make_cluster(3, PROXY)
    ld = cl.leader()
    fol, other = cl.followers()
    with plain(fol) as c, ld.client() as lc:
        t, out = blocked_blpop(c, lc)
        lc.execute_command("RAFT.TRANSFER_LEADER", other.node_id)
        t.join(60)  # bounds a hang
        assert len(out) == 1 and isinstance(out[0], redis.ResponseError), out
        assert str(out[0]).startswith(RETRY), out
        with plain(other) as w:  # the new leader
            wait_until(lambda: cl.leader() is other, 30, what="the transfer")
            w.rpush("q", "item")
        # nothing was popped for the failed BLPOP: the item waits for the next
        assert c.blpop("q", timeout=10) == (b"q", b"item")
