"""Linearizable follower reads (RAFT.READONLY, src/node/node.h): a follower
serves a read once the leader confirmed its commit index and the follower
applied that far, so a read that starts after a write was acknowledged sees
it, on any node, without the leader running the read.

Waits: every wait polls a condition with a deadline (wait_until).
"""

import signal

import pytest
import redis

from raftharness import wait_until

DEADLINE_S = 30


def raft_field(c, name):
    info = c.execute_command("RAFT.INFO").decode()
    for line in info.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    raise KeyError(name)


def test_follower_reads_see_every_acknowledged_write(make_cluster):
    cl = make_cluster(3)
    leader = cl.client(cl.leader())
    followers = [cl.client(nd) for nd in cl.followers()]
    for f in followers:
        assert f.execute_command("RAFT.READONLY") == b"OK"
    leader.config_resetstat()
    for i in range(300):
        leader.set("k", i)
        f = followers[i % 2]
        assert f.get("k") == str(i).encode(), i  # started after the SET's reply
        # a pipeline of reads shares one round
    with followers[0].pipeline(transaction=False) as p:
        for _ in range(50):
            p.get("k")
        assert set(p.execute()) == {b"299"}
    # the reads ran on the followers: the leader ran none
    assert "cmdstat_get" not in leader.info("commandstats")
    rounds = sum(int(raft_field(f, "follower_read_rounds")) for f in followers)
    assert 300 <= rounds <= 301 + 50
    # writes from a RAFT.READONLY connection still go to the leader (-MOVED)
    with pytest.raises(redis.ResponseError, match="MOVED"):
        followers[0].set("k", "x")
    # READONLY makes the connection's reads stale again; READWRITE sends them on
    assert followers[0].execute_command("READONLY")
    followers[0].get("k")
    assert followers[0].execute_command("READWRITE")
    with pytest.raises(redis.ResponseError, match="MOVED"):
        followers[0].get("k")


def test_follower_read_never_stale_when_the_leader_is_gone(make_cluster):
    """The leader stops (SIGSTOP) after a write: a follower read started
    then answers the acknowledged value once a new leader confirms it, or an
    error (-TIMEOUT, -MOVED, -CLUSTERDOWN while no leader is known) -- never
    the value before the write."""
    cl = make_cluster(3)
    old = cl.leader()
    leader = cl.client(old)
    fnd = cl.followers()[0]
    f = cl.client(fnd, socket_timeout=60)
    assert f.execute_command("RAFT.READONLY") == b"OK"
    leader.set("k", "before")
    assert f.get("k") == b"before"
    leader.set("k", "after")
    cl.sigstop(old)
    try:
        try:
            got = f.get("k")
        except redis.ResponseError as e:  # a timeout, -MOVED, or no leader known yet
            got = str(e)
        assert got == b"after" or any(w in got for w in ("TIMEOUT", "MOVED", "CLUSTERDOWN")), got
        new = cl.wait_leader([nd for nd in cl.nodes if nd is not old])
        wait_until(lambda: int(raft_field(cl.client(new), "commit_index")) >= 1, DEADLINE_S,
                   what="the new leader")

        def read():
            try:
                return f.get("k")
            except redis.ResponseError:
                return None
        assert wait_until(read, DEADLINE_S, what="a follower read under the new leader") == \
            b"after"
    finally:
        cl.sigcont(old)
