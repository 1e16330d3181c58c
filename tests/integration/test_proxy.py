"""raft-follower-proxy: a plain (non-cluster) client connected to a follower
gets the leader's replies, in request order, instead of -MOVED.

Every wait polls with a deadline (conftest.wait_until); nothing asserts on
how long something took.
"""

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


def test_transactions_are_not_forwarded(make_cluster):
    cl = make_cluster(3, PROXY)
    fol = cl.followers()[0]
    with plain(fol) as c:
        pipe = c.pipeline(transaction=True)
        pipe.set("tx", "1")
        try:
            pipe.execute()
            raise AssertionError("EXEC on a follower succeeded")
        except redis.ResponseError as e:
            assert str(e).startswith("MOVED "), str(e)


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
