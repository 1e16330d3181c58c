"""Membership changes that must not cost a cluster its quorum, and what a
removed node says about itself.

- RAFT.NODE ADD of an address nothing answers on leaves the new node a
  learner for good: writes keep working, across a restart, and the learner
  can be removed again. (A voter that never answers would leave a one-node
  cluster without a majority forever.)
- Membership commands are refused while raft-secret is empty: no peer could
  ever connect.
- A removal that would leave the voting nodes without a responsive majority
  is refused instead of hanging the cluster.
- A removed node says so in RAFT.INFO (removed:yes, state:uninitialized) and answers reads and
  writes with -NOCLUSTER, across a restart too.

Real processes on loopback; every wait polls with a deadline.
"""

import time

import pytest
import redis

from conftest import free_port, wait_until
from raftharness import parse_info
from raftcluster import ELECTION_TIMEOUT_MS, HEARTBEAT_MS, SECRET

DEADLINE_S = 60
# How long writes must keep working after the ADD: many election timeouts,
# each heartbeat of which was a chance to promote the learner.
WATCH_S = 5 * ELECTION_TIMEOUT_MS / 1000


def raft_info(srv):
    with srv.client(socket_timeout=10) as c:
        raw = c.execute_command("RAFT.INFO")
    return parse_info(raw.decode() if isinstance(raw, bytes) else raw)


def member_line(info, node_id):
    """The nodeN:... line of RAFT.INFO describing node_id, as a dict."""
    for k, v in info.items():
        if k.startswith("node") and k != "node_id":
            fields = dict(f.split("=", 1) for f in v.split(","))
            if fields.get("id") == str(node_id):
                return fields
    return None


def single_node(start_server, secret=SECRET):
    directives = [("raft-election-timeout-ms", ELECTION_TIMEOUT_MS),
                  ("raft-heartbeat-ms", HEARTBEAT_MS),
                  ("raft-request-timeout-ms", 2000)]
    if secret:
        directives.append(("raft-secret", secret))
    return start_server(directives)


def writes_keep_working(srv, prefix, seconds):
    """SETs and GETs one after the other until `seconds` passed; every one
    must succeed. Returns how many were made."""
    n = 0
    end = time.monotonic() + seconds
    with srv.client(socket_timeout=10) as c:
        while True:
            key = f"{prefix}:{n}"
            assert c.set(key, n) is True, f"SET {key} refused"
            assert c.get(key) == str(n).encode()
            n += 1
            if time.monotonic() >= end:
                return n


def test_unreachable_learner_is_never_promoted(start_server):
    srv = single_node(start_server)
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    with srv.client(socket_timeout=10) as c:
        assert c.set("before", "1") is True
        assert c.execute_command("RAFT.NODE", "ADD", 9, dead) in (b"OK", True)
    writes_keep_working(srv, "after-add", WATCH_S)
    info = raft_info(srv)
    assert (info["num_nodes"], info["num_voting_nodes"]) == ("2", "1"), info
    assert member_line(info, 9)["voting"] == "no", info

    # The configuration is in the log: a restart finds the learner again,
    # still a learner, and the node still leads and takes writes.
    srv.stop()
    srv.start()
    with srv.client(socket_timeout=10) as c:
        assert c.get("before") == b"1"
        assert c.get("after-add:0") == b"0"
    writes_keep_working(srv, "after-restart", WATCH_S)
    info = raft_info(srv)
    assert member_line(info, 9)["voting"] == "no", info

    with srv.client(socket_timeout=10) as c:
        assert c.execute_command("RAFT.NODE", "REMOVE", 9) in (b"OK", True)
    info = raft_info(srv)
    assert (info["num_nodes"], info["num_voting_nodes"]) == ("1", "1"), info
    writes_keep_working(srv, "after-remove", 0)


def test_membership_commands_need_raft_secret(start_server):
    srv = single_node(start_server, secret=None)
    with srv.client(socket_timeout=10) as c:
        for args in (("RAFT.NODE", "ADD", 9, "127.0.0.1:1"),
                     ("RAFT.NODE", "REMOVE", 9),
                     ("RAFT.CLUSTER", "JOIN", "127.0.0.1:1")):
            with pytest.raises(redis.ResponseError, match="^membership changes need raft-secret"):
                c.execute_command(*args)
    info = raft_info(srv)
    assert (info["state"], info["num_nodes"], info["num_voting_nodes"]) == ("up", "1", "1")
    writes_keep_working(srv, "no-secret", 0)


def link_down_for_a_while(leader, node_id):
    """The leader's link to node_id has been down for at least a second
    (more than an election timeout): the leader has not heard from it."""
    line = member_line(raft_info(leader), node_id)
    return line and line["state"] == "disconnected" and int(line["last_conn_secs"]) >= 1


def test_removal_that_would_lose_the_quorum_is_refused(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    live, dead = [nd for nd in cl.nodes if nd is not ld]
    cl.kill9(dead)
    wait_until(lambda: link_down_for_a_while(ld, dead.node_id), DEADLINE_S,
               what=f"{ld} to lose {dead}")
    # Without `live` the voters would be the leader and the dead node: one
    # answering out of two, so the change could never commit.
    with ld.client(socket_timeout=10) as c:
        with pytest.raises(redis.ResponseError, match=f"cannot remove node {live.node_id} now"):
            c.execute_command("RAFT.NODE", "REMOVE", live.node_id)
        assert c.set("still", "writable") is True
        assert c.execute_command("RAFT.NODE", "REMOVE", dead.node_id) in (b"OK", True)
        assert c.set("after", "removal") is True
    info = raft_info(ld)
    assert (info["num_nodes"], info["num_voting_nodes"]) == ("2", "2"), info


def assert_removed(nd):
    info = nd.raft_info()
    assert (info["state"], info["removed"]) == ("uninitialized", "yes"), info
    assert (info["is_voting"], info["leader_id"]) == ("no", "-1"), info
    with nd.client(socket_timeout=10) as c:
        for args in (("SET", "k", "v"), ("GET", "k")):
            with pytest.raises(redis.ResponseError, match="^NOCLUSTER .*removed"):
                c.execute_command(*args)
    with nd.readonly_client(socket_timeout=10) as c:
        with pytest.raises(redis.ResponseError, match="^NOCLUSTER .*removed"):
            c.get("k")
        # No -MOVED to the leader it last heard of: it is not in that cluster.
        for args in (("RAFT.NODE", "REMOVE", 1), ("RAFT.TRANSFER_LEADER",)):
            with pytest.raises(redis.ResponseError, match="^this node was removed"):
                c.execute_command(*args)


@pytest.mark.parametrize("which", ["follower", "leader"])
def test_removed_node_says_it_is_removed(make_cluster, which):
    cl = make_cluster(3)
    ld = cl.leader()
    with ld.client() as c:
        assert c.set("k", "v") is True
    gone = ld if which == "leader" else next(nd for nd in cl.nodes if nd is not ld)
    rest = [nd for nd in cl.nodes if nd is not gone]
    with ld.client(socket_timeout=30) as c:
        assert c.execute_command("RAFT.NODE", "REMOVE", gone.node_id) in (b"OK", True)
    wait_until(lambda: (gone.raft_info() or {}).get("removed") == "yes", DEADLINE_S,
               what=f"{gone} to report removed:yes")
    assert_removed(gone)
    new_ld = cl.wait_leader(rest)
    with new_ld.client() as c:
        assert c.set("k2", "v2") is True
    # It keeps knowing it after a restart (the entry is in its log).
    cl.stop(gone)
    cl.start(gone)
    assert_removed(gone)
    cl.stop(gone)  # no longer a member: not part of the cluster's convergence
    info = raft_info(new_ld)
    assert (info["state"], info["num_nodes"], info["num_voting_nodes"]) == ("up", "2", "2")
