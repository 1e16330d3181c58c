"""WAIT numreplicas timeout: how many followers hold the client's last write;
WAITAOF numlocal numreplicas timeout: whether this node's log is fsynced up
to it, and how many followers (each fsyncs before it acknowledges).

Every acknowledged write is on a majority already, so WAIT for up to that
many followers answers at once; asking for more waits until they have it
or the timeout passes, and answers the count then. Follower counts come
from the leader's replication state, never a constant: a stopped follower
is not counted. Nothing asserts on how long a wait took.
"""

import contextlib

import redis

from conftest import Raw, wait_until

PROXY = {"raft-follower-proxy": "yes"}


@contextlib.contextmanager
def stopped(cl, nd):
    """Node nd SIGSTOPped for the block, SIGCONTed after it whatever happens."""
    cl.sigstop(nd)
    try:
        yield
    finally:
        cl.sigcont(nd)


def refused(c, *args, cmd="WAIT"):
    """The error text WAIT (or cmd) args gets."""
    try:
        c.execute_command(cmd, *args)
    except redis.ResponseError as e:
        return str(e)
    raise AssertionError(f"{cmd} {args} succeeded")


def test_wait_alone_and_its_errors(server):
    c = server.client()
    c.set("k", "v")
    assert c.execute_command("WAIT", 0, 0) == 0
    assert c.execute_command("WAIT", 1, 50) == 0  # no follower: the timeout answers
    assert refused(c, "x", 0) == "value is not an integer or out of range"
    assert refused(c, 1, "x") == "timeout is not an integer or out of range"
    assert refused(c, 1, -1) == "timeout is negative"
    # inside a transaction it never waits
    pipe = c.pipeline(transaction=True)
    pipe.set("k", "w").execute_command("WAIT", 5, 0).execute_command("WAITAOF", 1, 5, 0)
    assert pipe.execute() == [True, 0, [1, 0]]
    # WAITAOF: this node's log is fsynced (raft-log-fsync yes), no follower
    assert c.execute_command("WAITAOF", 1, 0, 0) == [1, 0]
    assert c.execute_command("WAITAOF", 0, 1, 50) == [1, 0]
    assert refused(c, 2, 0, 0, cmd="WAITAOF") == "value is out of range, value must between 0 and 1"
    assert refused(c, 0, -1, 0, cmd="WAITAOF") == "value is out of range, must be positive"
    assert refused(c, 0, 0, -1, cmd="WAITAOF") == "timeout is negative"


def test_waitaof_without_fsync(start_server):
    srv = start_server(directives={"raft-log-fsync": "no"})
    c = srv.client()
    c.set("k", "v")
    assert c.execute_command("WAITAOF", 0, 0, 0) == [0, 0]  # nothing is fsynced
    assert refused(c, 1, 0, 0, cmd="WAITAOF") == (
        "WAITAOF cannot be used when numlocal is set but appendonly is disabled.")


def test_wait_counts_the_followers_that_hold_the_write(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    f1, f2 = cl.followers()
    with ld.client(socket_timeout=30) as c:
        c.set("a", "1")
        assert c.execute_command("WAIT", 2, 0) == 2
        with stopped(cl, f2):
            c.set("b", "2")  # committed by the leader and f1
            assert c.execute_command("WAIT", 1, 0) >= 1
            assert c.execute_command("WAIT", 2, 100) == 1  # f2 is stopped
            # the next command waits for WAIT's reply, in order
            raw = Raw(ld.port)
            raw.send("WAIT", 2, 100)
            raw.send("PING")
            assert raw.reply() == b":1\r\n" and raw.reply() == b"+PONG\r\n"
            raw.close()
        assert c.execute_command("WAIT", 2, 0) == 2  # f2 catches up
        assert c.execute_command("WAITAOF", 1, 2, 0) == [1, 2]
    # a follower without the proxy answers as a Redis replica does
    with f1.client() as fc:
        assert refused(fc, 1, 0).startswith("WAIT cannot be used with replica instances")
        assert refused(fc, 0, 1, 0, cmd="WAITAOF").startswith(
            "WAITAOF cannot be used with replica instances")


def test_wait_through_the_proxy(make_cluster):
    cl = make_cluster(3, PROXY)
    fol, other = cl.followers()
    with fol.client(socket_timeout=30) as c:
        c.set("p", "1")
        assert c.execute_command("WAIT", 2, 0) == 2
        with stopped(cl, other):
            c.set("p", "2")
            assert c.execute_command("WAIT", 2, 100) == 1
        wait_until(lambda: c.execute_command("WAIT", 2, 100) == 2, 30,
                   what="the stopped follower to catch up")
        assert c.execute_command("WAITAOF", 1, 2, 0) == [1, 2]
